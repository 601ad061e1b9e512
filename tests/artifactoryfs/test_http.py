"""The Sessions of ``artifactory://``: what they take from the environment, and how often."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import requests

from fsartifacts.artifactoryfs.errors import ArtifactoryConnectionError
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.artifactoryfs.http import ENVIRONMENT_SETTINGS
from tests.fixtures.artifactory import ArtifactoryRepo


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_SETTINGS:
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_proxy_environment_is_read_once_per_host_not_per_request(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests walks the whole environment for proxies on every request; a folder of
    2,000 files paid for it 2,000 times over."""
    real = requests.utils.get_environ_proxies
    reads: list[str] = []

    def counting(url: str, no_proxy: str | None = None) -> dict[str, Any]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    for module in (requests.utils, requests.sessions):
        monkeypatch.setattr(module, "get_environ_proxies", counting)
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True)
    path = f"{artifactory_repo.name}/env/once.bin"
    fs.pipe_file(path, b"x" * 100)
    for _ in range(5):
        assert fs.cat_file(path) == b"x" * 100
    assert len(reads) == 1


def test_a_proxy_set_or_lifted_later_takes_effect_on_the_next_request(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True, attempts=1)
    path = f"{artifactory_repo.name}/env/proxied.bin"
    fs.pipe_file(path, b"y" * 10)
    assert fs.cat_file(path) == b"y" * 10

    # A proxy nobody listens on: every request now goes to it, and fails.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ArtifactoryConnectionError):
        fs.cat_file(path)
    # The local server is exempted: straight to it again.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert fs.cat_file(path) == b"y" * 10


def test_a_connection_pool_urllib3_closed_is_not_used_again(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    """A Session keeps the pool of the host it last talked to; a closed pool (urllib3 1.x
    closes the pools its PoolManager evicts) refuses every request."""
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True, attempts=1)
    path = f"{artifactory_repo.name}/env/pooled.bin"
    fs.pipe_file(path, b"z" * 10)
    assert fs.cat_file(path) == b"z" * 10
    pools = fs.client.session().get_adapter(artifactory_repo.url).poolmanager.pools
    evicted = [pools[key] for key in pools.keys()]  # noqa: SIM118 (it cannot be iterated)
    pools.clear()
    for pool in evicted:
        pool.close()
    assert fs.cat_file(path) == b"z" * 10


def test_through_an_http_proxy_the_request_line_is_the_whole_url_else_the_path(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True, attempts=1)
    path = f"{artifactory_repo.name}/env/line.bin"
    fs.pipe_file(path, b"w" * 10)
    assert fs.cat_file(path) == b"w" * 10
    reads = [r for r in artifactory_repo.server.requests if r.method == "GET"]
    assert reads[-1].path == f"/artifactory/{path}"  # the path alone, straight to the server

    lines: list[bytes] = []
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(1)
        proxy.settimeout(10)

        def answer() -> None:
            conn, _ = proxy.accept()
            with conn:
                lines.append(conn.recv(65536).split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.getsockname()[1]}")
        with pytest.raises(FileNotFoundError):
            fs.cat_file(path)
        thread.join(timeout=10)
    assert lines == [f"GET {artifactory_repo.url}/{path} HTTP/1.1".encode()]
