"""The answers of ``artifactory://`` read without the email package: the same headers
http.client's parser gives, on every connection the adapter opens."""

from __future__ import annotations

import email.parser
import http.client
import io
import threading
from typing import Any

import pytest
import requests

from fsartifacts.artifactoryfs import connections
from fsartifacts.artifactoryfs.connections import LeanResponse, read_headers
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.artifactoryfs import make_fs

BLOCKS = {
    "plain": b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
    "LF only": b"Content-Length: 3\nX-A: b\n\n",
    "duplicates kept in order": b"Set-Cookie: a=1\r\nX-Checksum: x\r\nset-cookie: b=2\r\n\r\n",
    "spaces and tabs": b"X-A:\t  padded value  \r\nX-Empty:\r\nX-B:v\r\n\r\n",
    "Latin-1 bytes": b"X-Name: caf\xe9 \xff\r\n\r\n",
    "a folded line": b"X-Long: first\r\n  second\r\nX-After: 1\r\n\r\n",
    "a line without a colon": b"X-A: 1\r\nnot a header\r\nX-B: 2\r\n\r\n",
    "a name with a space": b"X A: 1\r\nX-B: 2\r\n\r\n",
    "a bare CR in a value": b"X-A: one\rtwo\r\nX-B: 2\r\n\r\n",
    "no blank line at the end": b"X-A: 1\r\nX-B: 2",
    "no header at all": b"\r\n",
}


def stdlib(block: bytes) -> http.client.HTTPMessage:
    return http.client.parse_headers(io.BytesIO(block))


@pytest.mark.parametrize("block", BLOCKS, ids=list(BLOCKS))
def test_headers_are_those_http_client_reads(block: str) -> None:
    data = BLOCKS[block] + b"BODY"
    fp = io.BytesIO(data)
    ours = read_headers(fp)
    theirs = stdlib(data)
    assert ours.items() == theirs.items()
    assert ours.defects == theirs.defects or [type(d) for d in ours.defects] == [
        type(d) for d in theirs.defects
    ]
    assert ours.get_payload() == theirs.get_payload()
    assert fp.read() == (b"" if block == "no blank line at the end" else b"BODY")


def test_the_limits_of_http_client_hold() -> None:
    with pytest.raises(http.client.LineTooLong):
        read_headers(io.BytesIO(b"X-A: " + b"a" * 70_000 + b"\r\n\r\n"))
    many = b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        read_headers(io.BytesIO(many))


def test_the_email_parser_reads_no_answer_of_the_server(
    artifactory_repo: ArtifactoryRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request of the filesystem, its answer's headers included, goes through the lean
    connections: the email parser (a fifth of a small file's CPU) is never called."""
    parsed: list[str] = []
    original = email.parser.Parser.parsestr
    client = threading.get_ident()  # the server in this process parses its requests' headers

    def counting(self: Any, text: str, headersonly: bool = False) -> Any:
        if threading.get_ident() == client:
            parsed.append(text)
        return original(self, text, headersonly)

    monkeypatch.setattr(email.parser.Parser, "parsestr", counting)
    fs = make_fs(artifactory_repo.url)
    repo = artifactory_repo.name
    fs.pipe_file(f"{repo}/lean/a.txt", b"alpha")
    assert fs.cat_file(f"{repo}/lean/a.txt") == b"alpha"
    assert fs.info(f"{repo}/lean/a.txt")["size"] == 5
    assert fs.ls(f"{repo}/lean", detail=False) == [f"{repo}/lean/a.txt"]
    with fs.open(f"{repo}/lean/a.txt", "rb") as f:
        assert f.read() == b"alpha"
    assert parsed == []


def test_an_answer_the_lean_reader_cannot_read_is_parsed_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folded header goes to the email parser, and requests sees its value unchanged."""
    answer = (
        b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nX-Long: first\r\n second\r\nContent-Length: 2\r\n\r\nok"
    )

    class FakeSocket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(answer)

    response = LeanResponse(FakeSocket(), method="GET")  # type: ignore[arg-type]
    response.begin()
    reference = http.client.HTTPResponse(FakeSocket(), method="GET")  # type: ignore[arg-type]
    reference.begin()
    assert response.status == reference.status == 200
    assert response.msg.items() == reference.msg.items()
    assert (response.length, response.will_close, response.chunked) == (2, False, False)
    assert response.read() == reference.read() == b"ok"


@pytest.mark.parametrize(
    ("status", "method", "headers", "expect"),
    [
        (b"204 No Content", "GET", b"", (0, False, False)),
        (b"200 OK", "HEAD", b"Content-Length: 9\r\n", (0, False, False)),
        (b"200 OK", "GET", b"Transfer-Encoding: chunked\r\n", (None, False, True)),
        (b"200 OK", "GET", b"", (None, True, False)),
        (b"200 OK", "GET", b"Content-Length: -4\r\n", (None, True, False)),
        (b"200 OK", "GET", b"Content-Length: 2\r\nConnection: close\r\n", (2, True, False)),
    ],
)
def test_the_body_is_framed_as_http_client_frames_it(
    status: bytes, method: str, headers: bytes, expect: tuple[Any, ...]
) -> None:
    answer = b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n"

    class FakeSocket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(answer)

    ours = LeanResponse(FakeSocket(), method=method)  # type: ignore[arg-type]
    ours.begin()
    theirs = http.client.HTTPResponse(FakeSocket(), method=method)  # type: ignore[arg-type]
    theirs.begin()
    assert (ours.length, ours.will_close, ours.chunked) == expect
    assert (theirs.length, theirs.will_close, theirs.chunked) == expect


def test_a_proxy_managers_pools_make_lean_connections() -> None:
    adapter = requests.adapters.HTTPAdapter()
    manager = connections.use_lean_answers(adapter.proxy_manager_for("http://127.0.0.1:9"))
    assert manager.pool_classes_by_scheme["https"] is connections.LeanHTTPSConnectionPool
    assert connections.LeanHTTPSConnectionPool.ConnectionCls.response_class is LeanResponse
