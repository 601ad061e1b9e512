"""ArtifactoryFileSystem against the local Artifactory server: what fsspec's suite does not test.

Errors and their mapping, listings with and without the Pro File List API,
ranged reads, verified downloads, retries, redirects, secrets, pickling, threads,
fork and callbacks; then ArtifactoryOps and open_artifactory_store on top of it.
Whole-file writes (checksum deploys, upload retries) are test_writes.py.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import pickle
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import semver
from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConflictError,
    ArtifactoryConnectionError,
    ArtifactoryError,
    ArtifactoryIntegrityError,
    ArtifactoryNotFoundError,
    ArtifactoryPermissionError,
    ArtifactoryTimeoutError,
)
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.artifactoryfs.upload import CHECKSUM_DEPLOY_MIN
from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine.runner import Engine
from fsartifacts.errors import IntegrityError, LocalError
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import THREADED_MIN
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.stores.artifactory.auth import Credentials
from fsartifacts.stores.artifactory.ops import HASHED_AS_SENT_MIN, ArtifactoryOps
from fsartifacts.stores.artifactory.settings import ArtifactorySettings
from fsartifacts.stores.artifactory.store import open_artifactory_store
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import (
    ARTIFACTORY_API_KEY,
    ARTIFACTORY_PASSWORD,
    ARTIFACTORY_TOKEN,
    ARTIFACTORY_USER,
    ArtifactoryRepo,
)
from tests.fixtures.artifactoryfs import (
    RecordingCallback,
    digests_of,
    header,
    make_fs,
    requests_to,
)

BIG = CHECKSUM_DEPLOY_MIN  # the size from which a checksum deploy is tried first
MODEL = Artifact("model", "models/model.pkl")
V1 = semver.Version.parse("1.0.0")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- errors ------------------------------------------------------------------------


def test_missing_path_is_file_not_found(fs: ArtifactoryFileSystem, repo: str) -> None:
    with pytest.raises(ArtifactoryNotFoundError) as caught:
        fs.info(f"{repo}/nope.bin")
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.status == 404
    assert f"{repo}/nope.bin" in str(caught.value)
    assert not fs.exists(f"{repo}/nope.bin")
    assert not fs.isdir(f"{repo}/nope.bin")
    assert not fs.isfile(f"{repo}/nope.bin")
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{repo}/nope", refresh=True)
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{repo}/nope.bin")


def test_missing_credentials_are_a_permission_error(
    artifactory_secure_server: ArtifactoryServer,
) -> None:
    fs = make_fs(artifactory_secure_server.url)
    with pytest.raises(ArtifactoryPermissionError) as caught:
        fs.info("generic-local/anything")
    assert caught.value.status == 401
    assert not isinstance(caught.value, FileNotFoundError)
    assert "Authentication is required" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ({"user": ARTIFACTORY_USER, "password": "wrong-password"}, 401),
        ({"token": "wrong-token"}, 401),
        ({"api_key": "wrong-key"}, 403),
    ],
)
def test_refused_credentials_are_never_not_found(
    artifactory_secure_server: ArtifactoryServer, options: dict[str, str], status: int
) -> None:
    fs = make_fs(artifactory_secure_server.url, **options)
    secret = next(v for k, v in options.items() if k != "user")
    for call in (
        lambda: fs.info("generic-local/missing.bin"),
        lambda: fs.exists("generic-local/missing.bin"),
        lambda: fs.isdir("generic-local/missing"),
        lambda: fs.isfile("generic-local/missing.bin"),
        lambda: fs.ls("generic-local", refresh=True),
        lambda: fs.cat_file("generic-local/missing.bin"),
        lambda: fs.pipe_file("generic-local/new.bin", b"data"),
    ):
        with pytest.raises(PermissionError) as caught:
            call()
        assert not isinstance(caught.value, FileNotFoundError)
        assert isinstance(caught.value, ArtifactoryPermissionError)
        assert caught.value.status == status
        assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "expected_header", "expected_value"),
    [
        (
            {"user": ARTIFACTORY_USER, "password": ARTIFACTORY_PASSWORD},
            "Authorization",
            "Basic ",
        ),
        ({"token": ARTIFACTORY_TOKEN}, "Authorization", f"Bearer {ARTIFACTORY_TOKEN}"),
        ({"user": ARTIFACTORY_USER, "token": ARTIFACTORY_TOKEN}, "Authorization", "Basic "),
        ({"api_key": ARTIFACTORY_API_KEY}, "X-JFrog-Art-Api", ARTIFACTORY_API_KEY),
    ],
)
def test_each_kind_of_credentials_works(
    artifactory_secure_server: ArtifactoryServer,
    options: dict[str, str],
    expected_header: str,
    expected_value: str,
) -> None:
    fs = make_fs(artifactory_secure_server.url, **options)
    path = f"generic-local/creds/{'-'.join(sorted(options))}.txt"
    fs.pipe_file(path, b"authenticated")
    assert fs.cat_file(path) == b"authenticated"
    record = requests_to(artifactory_secure_server, "PUT", path.rsplit("/", 1)[1])[-1]
    assert (header(record, expected_header) or "").startswith(expected_value)


def test_overwrite_without_delete_permission_is_a_permission_error(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    fs.pipe_file(f"{repo}/kept.txt", b"first")
    server.no_overwrite = True
    with pytest.raises(ArtifactoryPermissionError) as caught:
        fs.pipe_file(f"{repo}/kept.txt", b"second")
    assert caught.value.status == 403
    assert "Not enough permissions" in str(caught.value)
    with pytest.raises(PermissionError):
        fs.rm(f"{repo}/kept.txt")
    assert fs.cat_file(f"{repo}/kept.txt") == b"first"


def test_connection_refused_raises_everywhere() -> None:
    fs = make_fs(f"http://127.0.0.1:{closed_port()}/artifactory", attempts=2, token="sekrit-tok")
    for call in (
        lambda: fs.exists("generic-local/x"),
        lambda: fs.isdir("generic-local/x"),
        lambda: fs.isfile("generic-local/x"),
        lambda: fs.ls("generic-local"),
        lambda: fs.pipe_file("generic-local/x", b"1"),
    ):
        with pytest.raises(ArtifactoryConnectionError) as caught:
            call()
        assert isinstance(caught.value, ConnectionError)
        assert "sekrit-tok" not in str(caught.value)
        assert "generic-local/x" in str(caught.value) or "list generic-local" in str(caught.value)


def test_server_error_carries_status_and_message(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    fs.pipe_file(f"{repo}/f.txt", b"data")
    server.faults.fail_next(3, status=500, message="the disk is on fire")
    with pytest.raises(ArtifactoryError) as caught:
        fs.info(f"{repo}/f.txt", refresh=True)
    assert caught.value.status == 500
    assert "the disk is on fire" in str(caught.value)
    assert not isinstance(caught.value, FileNotFoundError | PermissionError)


def test_a_slow_server_times_out(artifactory_repo: ArtifactoryRepo) -> None:
    fs = make_fs(artifactory_repo.url, timeout=0.2, attempts=1)
    artifactory_repo.server.faults.latency = 1.0
    with pytest.raises(ArtifactoryTimeoutError) as caught:
        fs.info(f"{artifactory_repo.name}/x")
    assert isinstance(caught.value, TimeoutError)


def test_construction_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="ARTIFACTORY_URL"):
        ArtifactoryFileSystem(skip_instance_cache=True)
    with pytest.raises(ValueError, match="only one"):
        make_fs("https://h/artifactory", token="a", api_key="b")
    with pytest.raises(ValueError, match="without a password"):
        make_fs("https://h/artifactory", user="u")
    monkeypatch.setenv("ARTIFACTORY_URL", "repo.example.com/artifactory/")
    assert ArtifactoryFileSystem(skip_instance_cache=True).url == (
        "https://repo.example.com/artifactory"
    )


# -- listings --------------------------------------------------------------------


def _tree(fs: ArtifactoryFileSystem, repo: str) -> dict[str, bytes]:
    files = {
        f"{repo}/top.txt": b"top",
        f"{repo}/dir/a.bin": b"a" * 100,
        f"{repo}/dir/sub/b.bin": b"b" * 200,
        f"{repo}/dir/sub/empty.bin": b"",
    }
    for path, data in files.items():
        fs.pipe_file(path, data)
    fs.makedirs(f"{repo}/dir/hollow")
    return files


def test_ls_detail_gives_sizes_checksums_and_times(fs: ArtifactoryFileSystem, repo: str) -> None:
    files = _tree(fs, repo)
    entries = {e["name"]: e for e in fs.ls(f"{repo}/dir", detail=True, refresh=True)}
    assert set(entries) == {f"{repo}/dir/a.bin", f"{repo}/dir/sub", f"{repo}/dir/hollow"}
    a = entries[f"{repo}/dir/a.bin"]
    assert a["type"] == "file" and a["size"] == 100
    assert a["sha256"] == hashlib.sha256(files[f"{repo}/dir/a.bin"]).hexdigest()
    assert a["sha1"] == hashlib.sha1(files[f"{repo}/dir/a.bin"]).hexdigest()
    assert isinstance(a["mtime"], datetime) and a["mtime"].tzinfo is not None
    assert entries[f"{repo}/dir/sub"]["type"] == "directory"
    assert fs.ls(f"{repo}/dir/", detail=False) == sorted(entries)
    assert fs.ls(f"{repo}/top.txt", detail=False) == [f"{repo}/top.txt"]
    assert fs.ls(f"{repo}/top.txt")[0]["size"] == 3
    assert repo in fs.ls("", detail=False)


def test_ls_falls_back_without_the_pro_file_list(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    _tree(fs, repo)
    pro = {e["name"]: e for e in fs.ls(f"{repo}/dir", detail=True, refresh=True)}
    server.pro = False
    oss_fs = make_fs(server.url)
    server.clear_requests()
    oss = {e["name"]: e for e in oss_fs.ls(f"{repo}/dir", detail=True)}
    assert set(oss) == set(pro)
    for name, entry in pro.items():
        for key in ("type", "size", "sha1", "sha256"):
            assert oss[name].get(key) == entry.get(key), (name, key)
    assert oss_fs.ls(f"{repo}/dir/sub", detail=False, refresh=True) == [
        f"{repo}/dir/sub/b.bin",
        f"{repo}/dir/sub/empty.bin",
    ]
    assert oss_fs.find(repo) == sorted(
        [
            f"{repo}/top.txt",
            f"{repo}/dir/a.bin",
            f"{repo}/dir/sub/b.bin",
            f"{repo}/dir/sub/empty.bin",
        ]
    )
    # The server said "Pro only" once; the instance does not ask again.
    assert len([r for r in server.requests if "?list" in r.path]) == 1


def test_find_is_one_request_with_the_file_list(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    files = _tree(fs, repo)
    server.clear_requests()
    found = fs.find(repo, detail=True)
    assert len(server.requests) == 1
    assert sorted(found) == sorted(files)
    assert found[f"{repo}/dir/sub/b.bin"]["size"] == 200
    assert f"{repo}/dir/hollow" in fs.find(repo, withdirs=True)
    # Every folder's listing came with it: walking needs no more requests.
    server.clear_requests()
    assert fs.ls(f"{repo}/dir/sub", detail=False) == [
        f"{repo}/dir/sub/b.bin",
        f"{repo}/dir/sub/empty.bin",
    ]
    assert fs.info(f"{repo}/dir/a.bin")["size"] == 100
    assert server.requests == []
    assert fs.find(f"{repo}/top.txt") == [f"{repo}/top.txt"]
    assert fs.find(f"{repo}/missing") == []


def test_listing_cache_refresh_and_invalidation(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    fs.pipe_file(f"{repo}/c/one", b"1")
    assert fs.ls(f"{repo}/c", detail=False) == [f"{repo}/c/one"]
    other = make_fs(server.url)
    other.pipe_file(f"{repo}/c/two", b"2")
    assert fs.ls(f"{repo}/c", detail=False) == [f"{repo}/c/one"]  # cached
    assert fs.ls(f"{repo}/c", detail=False, refresh=True) == [f"{repo}/c/one", f"{repo}/c/two"]
    fs.pipe_file(f"{repo}/c/deep/three", b"3")  # invalidates every ancestor
    assert f"{repo}/c/deep" in fs.ls(f"{repo}/c", detail=False)
    fs.rm_file(f"{repo}/c/one")
    assert f"{repo}/c/one" not in fs.ls(f"{repo}/c", detail=False)


def test_names_that_need_encoding(fs: ArtifactoryFileSystem, repo: str, tmp_path: Path) -> None:
    folder = f"{repo}/odd names/a+b#c;d%e é"
    path = f"{folder}/model v1+2 #3;x=y %41.bin"
    fs.pipe_file(path, b"odd")
    assert fs.cat_file(path) == b"odd"
    assert fs.ls(folder, detail=False) == [path]
    assert fs.find(f"{repo}/odd names") == [path]
    assert fs.info(path)["size"] == 3
    fs.get_file(path, str(tmp_path / "odd.bin"))
    assert (tmp_path / "odd.bin").read_bytes() == b"odd"
    fs.cp_file(path, f"{folder}/copy;1.bin")
    assert fs.cat_file(f"{folder}/copy;1.bin") == b"odd"
    fs.rm(f"{repo}/odd names", recursive=True)
    assert not fs.exists(path)


# -- reads -----------------------------------------------------------------------


def test_ranged_reads_from_a_server_that_ignores_ranges_return_the_bytes_asked(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    data = os.urandom(2 * 1024 * 1024 + 10)
    fs.pipe_file(f"{repo}/whole.bin", data)
    server.faults.ignore_ranges(path_contains="whole.bin")
    try:
        assert fs.cat_file(f"{repo}/whole.bin", 10, 20) == data[10:20]
        assert fs.cat_file(f"{repo}/whole.bin", 1024 * 1024 + 5) == data[1024 * 1024 + 5 :]
        assert fs.cat_file(f"{repo}/whole.bin", 5, 1024 * 1024 + 7) == data[5 : 1024 * 1024 + 7]
    finally:
        server.faults.reset()


def test_ranged_reads(fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer) -> None:
    data = bytes(range(256)) * 4
    fs.pipe_file(f"{repo}/r.bin", data)
    fs.pipe_file(f"{repo}/empty.bin", b"")
    server.clear_requests()
    path = f"{repo}/r.bin"
    assert fs.cat_file(path, 10, 20) == data[10:20]
    assert fs.cat_file(path, 1000) == data[1000:]
    assert fs.cat_file(path, -24) == data[-24:]
    assert fs.cat_file(path, 5, -5) == data[5:-5]
    assert fs.cat_file(path, 1000, 5000) == data[1000:]
    assert fs.cat_file(path, 2000) == b""
    assert fs.cat_file(path, 20, 10) == b""
    assert fs.cat_file(f"{repo}/empty.bin") == b""
    assert fs.cat_file(f"{repo}/empty.bin", 0, 10) == b""
    ranges = [header(r, "Range") for r in requests_to(server, "GET", "r.bin")]
    assert "bytes=10-19" in ranges
    assert not any(r and r.startswith("bytes=-") for r in ranges)  # never a suffix range
    with fs.open(path, "rb", block_size=100) as f:
        f.seek(300)
        assert f.read(50) == data[300:350]
        f.seek(-10, 2)
        assert f.read() == data[-10:]
    with pytest.raises(IsADirectoryError):
        fs.cat_file(repo)


# Small: hashed inline; large: hashed in a thread beside the receive, corrupted near its end.
@pytest.mark.parametrize(("size", "offset"), [(50_000, 1234), (THREADED_MIN + 50_000, -10)])
def test_get_file_verifies_the_checksum_and_leaves_the_target_alone(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path,
    size: int, offset: int,
) -> None:  # fmt: skip
    fs.pipe_file(f"{repo}/model.bin", os.urandom(size))
    target = tmp_path / "model.bin"
    target.write_bytes(b"the previous version")
    server.faults.corrupt_next(offset=offset % size)
    with pytest.raises(ArtifactoryIntegrityError, match="sha256"):
        fs.get_file(f"{repo}/model.bin", str(target))
    assert target.read_bytes() == b"the previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # no temp file left
    fs.get_file(f"{repo}/model.bin", str(target))
    assert target.read_bytes() == fs.cat_file(f"{repo}/model.bin")


def test_get_file_restarts_a_broken_download(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    data = os.urandom(200_000)
    fs.pipe_file(f"{repo}/big.bin", data)
    server.faults.truncate_next(70_000)
    callback = RecordingCallback()
    fs.get_file(f"{repo}/big.bin", str(tmp_path / "big.bin"), callback=callback)
    assert (tmp_path / "big.bin").read_bytes() == data
    assert len(requests_to(server, "GET", "/big.bin")) == 2
    assert sum(callback.updates) == len(data)  # the retry is not counted twice

    one_try = make_fs(server.url, attempts=1)
    server.faults.drop_after(1000)
    with pytest.raises(ArtifactoryConnectionError):
        one_try.get_file(f"{repo}/big.bin", str(tmp_path / "other.bin"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


def test_a_503_is_retried(fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer) -> None:
    fs.pipe_file(f"{repo}/f.txt", b"content")
    server.clear_requests()
    server.faults.fail_next(1, status=503, retry_after=0.01, methods=["GET"])
    assert fs.cat_file(f"{repo}/f.txt") == b"content"
    assert [r.status for r in requests_to(server, "GET", "f.txt")] == [503, 200]


def test_a_read_cut_short_is_read_again(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    data = os.urandom(100_000)
    fs.pipe_file(f"{repo}/cut.bin", data)
    server.clear_requests()
    server.faults.truncate_next(10_000)
    assert fs.cat_file(f"{repo}/cut.bin", 5, 90_000) == data[5:90_000]
    assert len(requests_to(server, "GET", "cut.bin")) == 2
    server.faults.truncate_next(10_000, count=3)
    with pytest.raises(ArtifactoryConnectionError):
        make_fs(server.url, attempts=3).cat_file(f"{repo}/cut.bin")


def test_an_unreachable_server_is_tried_attempts_times_not_more(tmp_path: Path) -> None:
    """urllib3 retries a refused connection; the upload loop must not multiply that."""
    import urllib3.connectionpool

    tries: list[str] = []
    original = urllib3.connectionpool.HTTPConnectionPool._new_conn

    def counting_new_conn(pool: Any) -> Any:
        tries.append(pool.host)
        return original(pool)

    local = tmp_path / "f.bin"
    local.write_bytes(b"x" * 100)
    fs = make_fs(f"http://127.0.0.1:{closed_port()}/artifactory", attempts=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_new_conn", counting_new_conn)
        with pytest.raises(ArtifactoryConnectionError):
            fs.put_file(local, "generic-local/f.bin")
    assert len(tries) == 3


# -- writes (whole files: test_writes.py) -------------------------------------


def test_a_written_file_is_one_put_and_an_exception_discards_it(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    with fs.open(f"{repo}/w.bin", "wb", block_size=1000) as f:
        for _ in range(5):
            f.write(b"z" * 999)
    assert fs.cat_file(f"{repo}/w.bin") == b"z" * 4995
    assert len([r for r in requests_to(server, "PUT", "w.bin") if r.bytes_in]) == 1

    with pytest.raises(RuntimeError), fs.open(f"{repo}/half.bin", "wb") as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert not fs.exists(f"{repo}/half.bin")
    assert requests_to(server, "PUT", "half.bin") == []

    with fs.open(f"{repo}/w.bin", "ab") as f:
        f.write(b"+tail")
    assert fs.cat_file(f"{repo}/w.bin") == b"z" * 4995 + b"+tail"

    with fs.open(f"{repo}/w.txt.gz", "wt", compression="gzip") as f:
        f.write("compressed text")
    with fs.open(f"{repo}/w.txt.gz", "rt", compression="gzip") as f:
        assert f.read() == "compressed text"


def test_folders(fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer) -> None:
    fs.makedirs(f"{repo}/a/b")
    assert fs.isdir(f"{repo}/a/b") and fs.isdir(f"{repo}/a")
    with pytest.raises(FileExistsError):
        fs.makedirs(f"{repo}/a/b")
    fs.makedirs(f"{repo}/a/b", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{repo}/a")
    fs.pipe_file(f"{repo}/a/b/f.txt", b"f")
    with pytest.raises(OSError, match="not empty"):
        fs.rmdir(f"{repo}/a/b")
    with pytest.raises(FileExistsError):
        fs.makedirs(f"{repo}/a/b/f.txt", exist_ok=True)
    server.clear_requests()
    fs.rm(f"{repo}/a", recursive=True)
    assert [r.method for r in server.requests] == ["DELETE"]  # the server recurses
    assert not fs.exists(f"{repo}/a")
    fs.mkdir(f"{repo}/empty")
    fs.rmdir(f"{repo}/empty")
    assert not fs.exists(f"{repo}/empty")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{repo}/gone", recursive=True)
    fs.pipe_file(f"{repo}/survivor.txt", b"still here")
    with pytest.raises(PermissionError, match="refusing to delete repository"):
        fs.rm(repo, recursive=True)
    with pytest.raises(PermissionError, match="refusing to delete repository"):
        fs.rm([f"{repo}/survivor.txt", repo])
    assert fs.ls(repo, detail=False, refresh=True) == [f"{repo}/survivor.txt"]


def test_a_file_and_a_folder_of_one_name_clash_with_a_409(
    fs: ArtifactoryFileSystem, repo: str
) -> None:
    fs.pipe_file(f"{repo}/clash/f.txt", b"f")
    with pytest.raises(ArtifactoryConflictError, match="found a folder") as caught:
        fs.pipe_file(f"{repo}/clash", b"a file where a folder is")
    assert caught.value.status == 409
    with pytest.raises(ArtifactoryConflictError, match="found a file"):
        fs.pipe_file(f"{repo}/clash/f.txt/below", b"a file below a file")
    with pytest.raises(ArtifactoryConflictError, match="found a file"):
        fs.makedirs(f"{repo}/clash/f.txt/sub")
    assert fs.cat_file(f"{repo}/clash/f.txt") == b"f"
    assert fs.isdir(f"{repo}/clash")


def test_repositories_are_not_made_through_the_filesystem_and_empty_by_a_glob(
    fs: ArtifactoryFileSystem, repo: str
) -> None:
    with pytest.raises(FileExistsError):
        fs.mkdir(repo)
    with pytest.raises(FileNotFoundError, match="created by an Artifactory administrator"):
        fs.makedirs(f"{repo}-never-made")
    fs.pipe_file(f"{repo}/deep/a.txt", b"a")
    fs.pipe_file(f"{repo}/top.txt", b"t")
    fs.rm(f"{repo}/*", recursive=True)
    assert fs.ls(repo, refresh=True) == [] and fs.isdir(repo)


def test_a_transaction_deploys_on_success_only(fs: ArtifactoryFileSystem, repo: str) -> None:
    with fs.transaction:
        with fs.open(f"{repo}/tx/kept.txt", "wb") as f:
            f.write(b"kept")
        assert not fs.exists(f"{repo}/tx/kept.txt")  # deferred to the end
    assert fs.cat_file(f"{repo}/tx/kept.txt") == b"kept"
    with pytest.raises(RuntimeError), fs.transaction:
        with fs.open(f"{repo}/tx/dropped.txt", "wb") as f:
            f.write(b"dropped")
        raise RuntimeError("abort")
    assert not fs.exists(f"{repo}/tx/dropped.txt")


@pytest.mark.parametrize("pro", [True, False])
def test_copy_and_move(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, pro: bool
) -> None:
    data = os.urandom(2 * BIG)
    fs.pipe_file(f"{repo}/src/m.bin", data)
    server.pro = pro
    server.clear_requests()
    fs.cp_file(f"{repo}/src/m.bin", f"{repo}/copy/m.bin")
    # Server side, or by checksum: never the content through this machine.
    assert not [r for r in server.requests if r.method == "GET" and "/api/" not in r.path]
    assert sum(r.bytes_in for r in server.requests) == 0
    fs.mv(f"{repo}/copy/m.bin", f"{repo}/moved/m2.bin")
    assert not fs.exists(f"{repo}/copy/m.bin")
    assert fs.cat_file(f"{repo}/moved/m2.bin") == data
    assert fs.cat_file(f"{repo}/src/m.bin") == data


def test_times_checksum_and_ukey(fs: ArtifactoryFileSystem, repo: str) -> None:
    fs.pipe_file(f"{repo}/t.txt", b"timed")
    fs.ls(repo)  # listing entries lack "created": the storage API is asked
    assert isinstance(fs.created(f"{repo}/t.txt"), datetime)
    assert fs.modified(f"{repo}/t.txt") >= fs.created(f"{repo}/t.txt")
    digest = hashlib.sha256(b"timed").hexdigest()
    assert fs.ukey(f"{repo}/t.txt") == digest
    assert fs.checksum(f"{repo}/t.txt") == int(digest, 16)


# -- redirects -------------------------------------------------------------------

PAYLOAD = b"payload behind a redirect"


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Records each request's headers; serves PAYLOAD (the CDN / presigned-URL side)."""

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        route = self.server.route  # type: ignore[attr-defined]
        status, headers, body = route(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _TinyServer:
    def __init__(self, route: Callable[[str], tuple[int, dict[str, str], bytes]]) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.httpd.route = route  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def seen(self) -> list[tuple[str, dict[str, str]]]:
        return self.httpd.seen  # type: ignore[attr-defined,no-any-return]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def redirecting_servers() -> Iterator[tuple[_TinyServer, _TinyServer]]:
    """An "Artifactory" that redirects downloads to another host (port), which records."""
    other = _TinyServer(lambda path: (200, {}, PAYLOAD))

    def artifactory(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/artifactory/api/storage/"):
            info = {"size": str(len(PAYLOAD)), "checksums": {
                "sha1": hashlib.sha1(PAYLOAD).hexdigest(),
                "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
            }}  # fmt: skip
            return 200, {"Content-Type": "application/json"}, json.dumps(info).encode()
        if path == "/artifactory/generic-local/away.bin":
            location = f"{other.base}/blob?X-Amz-Signature=presigned-secret"
            return 302, {"Location": location}, b""
        if path == "/artifactory/generic-local/here.bin":
            return 302, {"Location": "/artifactory/generic-local/final.bin"}, b""
        if path == "/artifactory/generic-local/cookie.bin":
            cookie = "SESSION=cookie-secret; Path=/"
            return (
                302,
                {"Location": "/artifactory/generic-local/final.bin", "Set-Cookie": cookie},
                b"",
            )
        if path == "/artifactory/generic-local/final.bin":
            sha256 = hashlib.sha256(PAYLOAD).hexdigest()
            return 200, {"X-Checksum-Sha256": sha256}, PAYLOAD
        return 404, {}, b'{"errors":[{"status":404,"message":"File not found."}]}'

    origin = _TinyServer(artifactory)
    yield origin, other
    origin.stop()
    other.stop()


CREDENTIAL_OPTIONS = [
    {"token": "bearer-secret"},
    {"user": "me", "password": "basic-secret"},
    {"api_key": "apikey-secret"},
]


@pytest.mark.parametrize("options", CREDENTIAL_OPTIONS)
def test_no_credentials_follow_a_redirect_to_another_host(
    redirecting_servers: tuple[_TinyServer, _TinyServer],
    options: dict[str, str],
    tmp_path: Path,
) -> None:
    origin, other = redirecting_servers
    origin.seen.clear()
    other.seen.clear()
    fs = make_fs(origin.base + "/artifactory", **options)
    assert fs.cat_file("generic-local/away.bin") == PAYLOAD
    fs.get_file("generic-local/away.bin", str(tmp_path / "away.bin"))  # verified via storage API
    assert (tmp_path / "away.bin").read_bytes() == PAYLOAD
    credential_headers = {"authorization", "x-jfrog-art-api", "x-api-key", "cookie"}
    assert len(other.seen) == 2
    for _, headers in other.seen:
        assert credential_headers.isdisjoint(h.lower() for h in headers)
    # The origin did get them (so the test can fail), and keeps them on its own redirects.
    assert fs.cat_file("generic-local/here.bin") == PAYLOAD
    for _, headers in origin.seen:
        assert not credential_headers.isdisjoint(h.lower() for h in headers)


def test_no_cookie_is_kept_across_redirects_or_requests(
    redirecting_servers: tuple[_TinyServer, _TinyServer],
) -> None:
    origin, _ = redirecting_servers
    origin.seen.clear()
    fs = make_fs(origin.base + "/artifactory", token="bearer-secret")
    for _ in range(2):
        assert fs.cat_file("generic-local/cookie.bin") == PAYLOAD
    assert fs.cat_file("generic-local/here.bin") == PAYLOAD
    assert len(origin.seen) == 6
    for _, headers in origin.seen:
        assert "cookie" not in {h.lower() for h in headers}


# -- secrets, pickling, threads, fork --------------------------------------------


def test_secrets_never_show(artifactory_secure_server: ArtifactoryServer) -> None:
    secret = "Very-Secret-Password-42"
    fs = make_fs(artifactory_secure_server.url, user=ARTIFACTORY_USER, password=secret)
    texts = [repr(fs), str(fs), fs.to_json(), json.dumps(fs.to_dict()), fs.fsid]
    texts.append(fs.to_json(include_password=True))
    texts.append(json.dumps(fs.to_dict(include_password=True)))
    with pytest.raises(PermissionError) as refused:
        fs.info("generic-local/x")
    texts.append(str(refused.value))
    texts.append(repr(refused.value))
    for text in texts:
        assert secret not in text
    assert "Bad credentials" in str(refused.value)
    with_url_secret = make_fs(f"http://me:{secret}@127.0.0.1:{closed_port()}/a", attempts=1)
    for text in (repr(with_url_secret), with_url_secret.to_json()):
        assert secret not in text
    with pytest.raises(ArtifactoryConnectionError) as unreachable:
        with_url_secret.info("generic-local/x")
    assert secret not in str(unreachable.value)


def test_explicit_credentials_travel_in_pickles(
    artifactory_secure_server: ArtifactoryServer,
) -> None:
    fs = make_fs(artifactory_secure_server.url, token=ARTIFACTORY_TOKEN)
    fs.pipe_file("generic-local/pickled/explicit.txt", b"explicit")
    blob = pickle.dumps(fs)
    assert ARTIFACTORY_TOKEN.encode() in blob
    try:
        clone = pickle.loads(blob)
        assert clone.cat_file("generic-local/pickled/explicit.txt") == b"explicit"
    finally:
        ArtifactoryFileSystem.clear_instance_cache()


def test_credentials_from_the_environment_stay_out_of_pickles(
    artifactory_secure_server: ArtifactoryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTORY_URL", artifactory_secure_server.url)
    monkeypatch.setenv("ARTIFACTORY_USER", ARTIFACTORY_USER)
    monkeypatch.setenv("ARTIFACTORY_TOKEN", ARTIFACTORY_TOKEN)
    fs = ArtifactoryFileSystem(skip_instance_cache=True)
    assert fs.auth_description.startswith(f"user '{ARTIFACTORY_USER}'")
    fs.pipe_file("generic-local/pickled/env.txt", b"from env")
    blob = pickle.dumps(fs)
    assert ARTIFACTORY_TOKEN.encode() not in blob
    assert ARTIFACTORY_TOKEN not in fs.to_json()
    try:
        clone = pickle.loads(blob)  # same environment: it reads it again
        assert clone.cat_file("generic-local/pickled/env.txt") == b"from env"
    finally:
        ArtifactoryFileSystem.clear_instance_cache()
    monkeypatch.setenv("ARTIFACTORY_TOKEN", "not-the-token")
    monkeypatch.delenv("ARTIFACTORY_USER")
    assert make_fs(artifactory_secure_server.url).auth_description.startswith("bearer")
    assert make_fs(artifactory_secure_server.url, anon=True).anonymous


def test_one_instance_shared_by_four_threads(
    fs: ArtifactoryFileSystem, repo: str, tmp_path: Path
) -> None:
    def work(worker: int) -> tuple[int, list[bool]]:
        checks = []
        for i in range(6):
            path = f"{repo}/threads/{worker}/{i}.bin"
            data = f"{worker}-{i}".encode() * (500 * i + 1)
            fs.pipe_file(path, data)
            checks.append(fs.cat_file(path) == data)
            checks.append(fs.info(path)["size"] == len(data))
            local = tmp_path / f"{worker}-{i}.bin"
            fs.get_file(path, str(local))
            checks.append(local.read_bytes() == data)
        checks.append(len(fs.ls(f"{repo}/threads/{worker}", refresh=True)) == 6)
        return id(fs.client.session()), checks

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert all(all(checks) for _, checks in results)
    assert len({session for session, _ in results}) == 4  # one Session per thread
    assert len(fs.find(f"{repo}/threads")) == 24


def test_a_forked_child_uses_its_own_connections(fs: ArtifactoryFileSystem, repo: str) -> None:
    fs.pipe_file(f"{repo}/fork.txt", b"before fork")
    parent_session = fs.client.session()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        ok = fs.client.session() is not parent_session and fs.cat_file(f"{repo}/fork.txt") == (
            b"before fork"
        )
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fs.client.session() is parent_session


def test_put_and_get_report_progress(fs: ArtifactoryFileSystem, repo: str, tmp_path: Path) -> None:
    data = os.urandom(123_456)
    (tmp_path / "up.bin").write_bytes(data)
    up = RecordingCallback()
    fs.put_file(str(tmp_path / "up.bin"), f"{repo}/cb.bin", callback=up)
    assert up.sizes == [len(data)] and sum(up.updates) == len(data)
    down = RecordingCallback()
    fs.get_file(f"{repo}/cb.bin", str(tmp_path / "down.bin"), callback=down)
    assert down.sizes == [len(data)] and sum(down.updates) == len(data)
    assert down.value == len(data)


# -- ArtifactoryOps and the store ------------------------------------------------


def _ops(fs: ArtifactoryFileSystem) -> ArtifactoryOps:
    return ArtifactoryOps(fs, TransferSettings(attempts=2, timeout=10))


def test_ops_flags_and_upload(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    ops = _ops(fs)
    assert (ops.atomic_writes, ops.records_sha256, ops.atomic_create) == (True, True, False)
    local = tmp_path / "model_v1.0.0.pkl"
    local.write_bytes(os.urandom(2 * BIG))
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    ops.upload(str(local), f"{repo}/m/model_v1.0.0.pkl", sha256=digest, exclusive=True)
    with pytest.raises(FileExistsError):
        ops.upload(str(local), f"{repo}/m/model_v1.0.0.pkl", sha256=digest, exclusive=True)
    assert not fs.exists(f"{repo}/m/model_v1.0.0.pkl.sha256")  # no sidecar: the server keeps it
    (entry,) = ops.listing(f"{repo}/m")
    assert ops.recorded_sha256(entry["name"], entry) == digest
    assert ops.recorded_sha256(entry["name"]) == digest
    assert ops.recorded_sha256(f"{repo}/m/missing") is None
    assert ops.native_checksum(entry) == ("sha1", hashlib.sha1(local.read_bytes()).hexdigest())

    local.write_bytes(os.urandom(2 * BIG))  # content the server has not seen: a full PUT
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    server.faults.corrupt_next(methods=["PUT"])
    with pytest.raises(IntegrityError, match="Nothing was stored"):
        ops.upload(str(local), f"{repo}/m/other.pkl", sha256=digest, exclusive=False)
    assert not fs.exists(f"{repo}/m/other.pkl")


def test_ops_download_is_one_streamed_get_checked_for_size_only(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    data = os.urandom(3_000_000)
    fs.pipe_file(f"{repo}/d.bin", data)
    server.clear_requests()
    out = io.BytesIO()
    callback = RecordingCallback()
    _ops(fs).download(f"{repo}/d.bin", out, callback=callback)
    assert out.getvalue() == data
    (get,) = server.requests
    assert get.method == "GET" and header(get, "Range") is None
    assert sum(callback.updates) == len(data)
    # The checksum is the engine's to check (it hashes every byte it receives):
    # the ops hand corrupted bytes on, the filesystem's own download refuses them.
    server.faults.corrupt_next(offset=1234)
    corrupted = io.BytesIO()
    _ops(fs).download(f"{repo}/d.bin", corrupted)
    assert len(corrupted.getvalue()) == len(data) and corrupted.getvalue() != data
    server.faults.corrupt_next(offset=1234)
    with pytest.raises(ArtifactoryIntegrityError, match="sha256"):
        fs.download(f"{repo}/d.bin", io.BytesIO())
    server.faults.truncate_next(10_000, count=2)  # a short body is still refused
    with pytest.raises(ArtifactoryConnectionError):
        _ops(fs).download(f"{repo}/d.bin", io.BytesIO())


def artifactory_engine(
    artifactory_repo: ArtifactoryRepo, root: Path, progress: ProgressFactory = no_progress
) -> tuple[Engine, HashCache]:
    """An engine on a folder of the test's repository, with a hash cache to look into."""
    transfer = TransferSettings(attempts=1, timeout=10)
    cfg = ArtifactorySettings(artifactory_repo.url, artifactory_repo.name, path="team")
    store = open_artifactory_store(cfg, None, transfer)
    cache = HashCache()
    engine = Engine(
        store, root, jobs=1, transfer=transfer, hash_cache=cache, progress=progress
    )  # fmt: skip
    return engine, cache


def test_a_pull_is_verified_by_the_engine(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    engine, _ = artifactory_engine(artifactory_repo, tmp_path)
    data = os.urandom(200_000)
    engine.store.fs.pipe_file(engine.store.path("model_v1.0.0.pkl"), data)
    server.faults.corrupt_next(offset=1234, path_contains="model_v1.0.0.pkl")
    with pytest.raises(IntegrityError, match="sha256 of the received bytes"):
        engine.pull(MODEL, "1.0.0", V1)
    assert list(tmp_path.iterdir()) == []  # nothing installed, no temporary left
    assert engine.pull(MODEL, "1.0.0", V1).action == "pulled"
    assert (tmp_path / "model_v1.0.0.pkl").read_bytes() == data


def write_model(root: Path, data: bytes) -> Path:
    local = root / MODEL.file
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    return local


def test_a_push_reads_the_file_once_for_both_digests(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    data = os.urandom(3 * BIG)
    local = write_model(tmp_path, data)
    engine, cache = artifactory_engine(artifactory_repo, tmp_path)
    result = engine.push(MODEL, V1)
    assert result.action == "pushed" and result.sha256 == hashlib.sha256(data).hexdigest()
    assert (cache.misses, cache.hits) == (1, 0)  # one read, for the sha256 and the sha1
    (put,) = [r for r in requests_to(server, "PUT", "model_v1.0.0.pkl") if r.bytes_in]
    assert header(put, "X-Checksum-Sha1") == hashlib.sha1(data).hexdigest()
    assert header(put, "X-Checksum-Sha256") == result.sha256
    assert cache.digests(local, ["sha1"]) == digests_of(data)  # both kept, no second read
    assert (cache.misses, cache.hits) == (1, 1)


def test_a_large_push_hashes_the_file_as_it_sends_it_and_keeps_both_digests(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    data = os.urandom(HASHED_AS_SENT_MIN)
    local = write_model(tmp_path, data)
    engine, cache = artifactory_engine(artifactory_repo, tmp_path)
    result = engine.push(MODEL, V1)
    assert result.action == "pushed" and result.sha256 == hashlib.sha256(data).hexdigest()
    assert (cache.misses, cache.hits) == (0, 0)  # not read before the upload
    put, published = requests_to(server, "PUT", "model_v1.0.0.pkl")  # to a hidden name, then
    assert (put.status, put.bytes_in, header(put, "X-Checksum-Sha256")) == (201, len(data), None)
    assert (published.bytes_in, header(published, "X-Checksum-Deploy")) == (0, "true")
    assert cache.digests(local, ["sha1"]) == digests_of(data)  # the server's sha1, kept
    assert (cache.misses, cache.hits) == (0, 1)


def test_a_folder_push_reads_each_file_once_for_both_digests(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    files = {"a.bin": os.urandom(2 * BIG), "sub/b.bin": os.urandom(BIG)}
    for rel, data in files.items():
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_bytes(data)
    engine, cache = artifactory_engine(artifactory_repo, tmp_path)
    assert engine.push(Artifact("data", "data"), V1).action == "pushed"
    assert (cache.misses, cache.hits) == (2, 0)  # one read per file, for sha256 and sha1
    for rel, data in files.items():
        (put,) = [r for r in requests_to(server, "PUT", f"data_v1.0.0/{rel}") if r.bytes_in]
        assert header(put, "X-Checksum-Sha1") == hashlib.sha1(data).hexdigest()
        assert cache.digests(tmp_path / "data" / rel, ["sha1"]) == digests_of(data)
    assert (cache.misses, cache.hits) == (2, 2)


def test_a_rewrite_that_keeps_size_mtime_and_inode_is_caught_by_its_ctime(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """The file is not read again before sending, so a rewrite that keeps its size,
    mtime and inode would go out with the old digests; its ctime, which no one can
    set back, stops it before any byte is sent."""
    data = os.urandom(3 * BIG)
    local = write_model(tmp_path, data)

    def rewrite_keeping_the_stat(label: str, size: int | None) -> Callback:
        hashed = local.stat()  # the engine asks for a progress bar after hashing
        with open(local, "r+b") as f:
            f.write(os.urandom(len(data)))
        os.utime(local, ns=(hashed.st_atime_ns, hashed.st_mtime_ns))
        return NoOpCallback()

    engine, _ = artifactory_engine(artifactory_repo, tmp_path, rewrite_keeping_the_stat)
    with pytest.raises(LocalError, match=r"changed while it was being pushed.*nothing was"):
        engine.push(MODEL, V1)
    assert [r for r in requests_to(server, "PUT", "model_v1.0.0.pkl") if r.bytes_in] == []
    assert not engine.store.fs.exists(engine.store.path("model_v1.0.0.pkl"))


def test_a_file_changed_between_hashing_and_upload_is_not_pushed(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = write_model(tmp_path, os.urandom(3 * BIG))

    def append(label: str, size: int | None) -> Callback:
        with open(local, "ab") as f:  # after hashing, before the upload
            f.write(b"more")
        return NoOpCallback()

    engine, _ = artifactory_engine(artifactory_repo, tmp_path, append)
    with pytest.raises(LocalError, match=r"changed while it was being pushed.*nothing was"):
        engine.push(MODEL, V1)
    assert requests_to(server, "PUT", "model_v1.0.0.pkl") == []
    assert not engine.store.fs.exists(engine.store.path("model_v1.0.0.pkl"))


def test_ops_write_bytes_exclusive(fs: ArtifactoryFileSystem, repo: str) -> None:
    ops = _ops(fs)
    ops.write_bytes(f"{repo}/manifest.json", b"{}", exclusive=True)
    with pytest.raises(FileExistsError):
        ops.write_bytes(f"{repo}/manifest.json", b"{ }", exclusive=True)
    ops.write_bytes(f"{repo}/manifest.json", b"{ }", exclusive=False)
    assert ops.read_bytes(f"{repo}/manifest.json") == b"{ }"


def test_open_artifactory_store(artifactory_secure_server: ArtifactoryServer) -> None:
    transfer = TransferSettings(attempts=2, timeout=7.5)
    base = artifactory_secure_server.url
    cfg = ArtifactorySettings(base + "/", "generic-local", path="/team//models/")
    creds = Credentials("user_pass", ARTIFACTORY_USER, ARTIFACTORY_PASSWORD, source="test")
    store = open_artifactory_store(cfg, creds, transfer)
    assert store.root == "generic-local/team/models"
    assert store.display == f"{base}/generic-local/team/models"
    assert ARTIFACTORY_PASSWORD not in store.display + repr(store.fs)
    assert isinstance(store.ops, ArtifactoryOps)
    assert (store.fs.timeout, store.fs.attempts) == (7.5, 2)
    store.fs.pipe_file(store.path("a.txt"), b"in the store")
    assert store.fs.cat_file(store.path("a.txt")) == b"in the store"

    for credentials in (
        Credentials("token", "someone", ARTIFACTORY_TOKEN, source="$ARTIFACTORY_TOKEN"),
        Credentials("api_key", None, ARTIFACTORY_API_KEY, source="--token"),
    ):
        other = open_artifactory_store(cfg, credentials, transfer)
        assert other.fs.cat_file(other.path("a.txt")) == b"in the store"
        assert other.fs is not store.fs  # never a cached instance
    anonymous = open_artifactory_store(cfg, None, transfer)
    with pytest.raises(PermissionError):
        anonymous.fs.ls(anonymous.root)
    bare = open_artifactory_store(
        ArtifactorySettings("repo.example.com/artifactory", "r"), None, transfer
    )
    assert bare.display == "https://repo.example.com/artifactory/r" and bare.root == "r"
