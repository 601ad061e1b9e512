"""How requests of ``artifactory://`` go out: prepared as requests would, sent without
``Session.request``'s per-request merging."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fsspec.callbacks import DEFAULT_CALLBACK

from fsartifacts.artifactoryfs import wire
from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.errors import ArtifactoryError
from fsartifacts.artifactoryfs.http import HeaderAuth, new_session
from fsartifacts.artifactoryfs.upload import UploadBody
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.artifactoryfs import make_fs

BASE = "http://127.0.0.1:8081/artifactory"


def chunks() -> Iterator[bytes]:
    yield b"streamed"


def upload_body() -> UploadBody:
    return UploadBody(io.BytesIO(b"0123456789"), 10, ProgressOnce(DEFAULT_CALLBACK))


SHAPES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "get": ("GET", f"{BASE}/generic-local/a.bin", {}),
    "get with headers": ("GET", f"{BASE}/a.bin", {"headers": {"Range": "bytes=0-9"}}),
    "head": ("HEAD", f"{BASE}/a.bin", {}),
    "delete, no body": ("DELETE", f"{BASE}/a.bin", {}),
    "put, no body": ("PUT", f"{BASE}/a.bin", {"headers": {"X-Checksum-Deploy": "true"}}),
    "put bytes": ("PUT", f"{BASE}/a.bin", {"data": b"abc"}),
    "put a file body": ("PUT", f"{BASE}/a.bin", {"data": upload_body}),
    "put a stream": ("PUT", f"{BASE}/a.bin", {"data": chunks}),
    "patch json": ("PATCH", f"{BASE}/api/metadata/r/a?x=1", {"json": {"props": {"k": "v"}}}),
    "a header removed": ("GET", f"{BASE}/a.bin", {"headers": {"Accept-Encoding": None}}),
    "a url to quote": ("GET", "http://127.0.0.1:8081/art ifactory/ä.bin?q=a b", {}),
    "a url of another case": ("GET", "HTTP://Example.COM/a.bin", {}),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_request_is_prepared_as_requests_prepares_it(shape: str) -> None:
    method, url, options = SHAPES[shape]
    session = new_session(HeaderAuth({"X-JFrog-Art-Api": "key"}, "API key"), attempts=1)
    data = options.get("data")

    def body() -> Any:
        return data() if callable(data) else data

    ours = wire.prepare(session, method, url, options.get("headers"), body(), options.get("json"))
    theirs = session.prepare_request(
        requests.Request(method, url, headers=options.get("headers"), data=body(),
                         json=options.get("json"))
    )  # fmt: skip
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    assert dict(ours.headers.lower_items()) == dict(theirs.headers.lower_items())
    if isinstance(theirs.body, bytes | str | None):
        assert ours.body == theirs.body
    else:
        assert type(ours.body) is type(theirs.body)


@pytest.mark.parametrize("value", ["Bearer s3cr3t\r\nX-Evil: 1", "Bearer s3cr3t\u2019", " s3cr3t"])
def test_a_header_that_could_split_the_request_or_not_be_sent_is_refused_unquoted(
    value: str,
) -> None:
    """A line break could split the request; a character beyond Latin-1 cannot be written
    by http.client at all. Either is refused here, naming the header, never its value (a
    credential's)."""
    session = new_session(HeaderAuth({"Authorization": value}, "token"), 1)
    with pytest.raises(requests.exceptions.InvalidHeader) as caught:
        wire.prepare(session, "GET", f"{BASE}/a.bin")
    assert "Authorization" in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_a_credential_no_header_can_carry_fails_the_request_unquoted(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    fs = make_fs(artifactory_repo.url, token="s3cr3t\u2019")
    with pytest.raises(ArtifactoryError) as caught:
        fs.cat_file(f"{artifactory_repo.name}/a.bin")
    assert "Authorization" in str(caught.value) and "s3cr3t" not in str(caught.value)
    assert "connection failed" not in str(caught.value)


def test_no_request_goes_through_the_per_request_merging_of_session_request(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Session.request merges the Session's settings into each request one by one: about a
    millisecond of CPU a request, most of the client's time for a folder of small files."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request went through Session.request or prepare_request")

    monkeypatch.setattr(requests.Session, "request", refused)
    monkeypatch.setattr(requests.Session, "prepare_request", refused)
    fs = make_fs(artifactory_repo.url)
    repo = artifactory_repo.name
    fs.pipe_file(f"{repo}/wire/a.txt", b"alpha")
    source = tmp_path / "b.txt"
    source.write_bytes(b"beta")
    fs.put_file(str(source), f"{repo}/wire/sub/b.txt")
    assert fs.cat_file(f"{repo}/wire/a.txt") == b"alpha"
    assert fs.cat_file(f"{repo}/wire/a.txt", start=1, end=3) == b"lp"
    assert sorted(fs.ls(f"{repo}/wire", detail=False)) == [f"{repo}/wire/a.txt",
                                                          f"{repo}/wire/sub"]  # fmt: skip
    fs.get_file(f"{repo}/wire/sub/b.txt", str(tmp_path / "got.txt"))
    assert (tmp_path / "got.txt").read_bytes() == b"beta"
    fs.setxattrs(f"{repo}/wire/a.txt", kind="test")
    assert fs.getxattr(f"{repo}/wire/a.txt", "kind") == "test"
    fs.rm(f"{repo}/wire", recursive=True)
    assert not fs.exists(f"{repo}/wire/a.txt")
