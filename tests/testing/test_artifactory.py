"""The local Artifactory server, over real HTTP: statuses, headers, shapes, auth, faults."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from fsartifacts.testing.artifactory import ArtifactoryServer
from fsartifacts.testing.requestlog import peak_overlap
from tests.fixtures.artifactory import (
    ARTIFACTORY_API_KEY,
    ARTIFACTORY_PASSWORD,
    ARTIFACTORY_TOKEN,
    ARTIFACTORY_USER,
    ArtifactoryRepo,
)

SRC = Path(__file__).resolve().parents[2]
VENDOR = "application/vnd.org.jfrog.artifactory.storage"


def sums(data: bytes) -> dict[str, str]:
    return {
        "sha1": hashlib.sha1(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def checksum_headers(data: bytes) -> dict[str, str]:
    s = sums(data)
    return {
        "X-Checksum-Sha1": s["sha1"],
        "X-Checksum-Md5": s["md5"],
        "X-Checksum-Sha256": s["sha256"],
    }


def error_message(response: requests.Response) -> str:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["errors"][0]["status"] == response.status_code
    return str(body["errors"][0]["message"])


def raw_request(server: ArtifactoryServer, method: str, target: str) -> tuple[int, bytes]:
    """Send a request target exactly as written (requests would normalise it)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def repo(artifactory_repo: ArtifactoryRepo) -> ArtifactoryRepo:
    return artifactory_repo


def put(s: requests.Session, repo: ArtifactoryRepo, path: str, data: bytes, **kw: Any) -> Any:
    return s.put(f"{repo.repo_url}/{path}", data=data, **kw)


# -- ping, deploy ----------------------------------------------------------------------


def test_ping_answers_ok_as_plain_text(repo: ArtifactoryRepo, session: requests.Session) -> None:
    response = session.get(f"{repo.url}/api/system/ping")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["Content-Type"].startswith("text/plain")


def test_deploy_answers_201_with_the_item_created_body(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"hello artifactory"
    s = sums(data)
    response = put(session, repo, "dir/sub/model.bin", data, headers={"X-Checksum-Sha1": s["sha1"]})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == f"{VENDOR}.ItemCreated+json"
    body = response.json()
    expected_uri = f"{repo.repo_url}/dir/sub/model.bin"
    assert body["uri"] == body["downloadUri"] == response.headers["Location"] == expected_uri
    assert body["repo"] == repo.name
    assert body["path"] == "/dir/sub/model.bin"
    assert body["size"] == str(len(data))
    assert body["checksums"] == s
    assert body["originalChecksums"] == {"sha1": s["sha1"]}  # only what the client sent
    assert body["mimeType"] == "application/octet-stream"
    assert body["createdBy"] == "anonymous"
    assert "lastModified" not in body and "lastUpdated" not in body
    assert body["created"].endswith("Z") and len(body["created"]) == len("2024-01-01T10:00:00.123Z")
    assert session.get(expected_uri).content == data  # parents were created


def test_generic_x_checksum_is_typed_by_length(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"generic"
    s = sums(data)
    for algorithm in ("md5", "sha1", "sha256"):
        response = put(session, repo, f"g-{algorithm}", data, headers={"X-Checksum": s[algorithm]})
        assert response.status_code == 201
        assert response.json()["originalChecksums"] == {algorithm: s[algorithm]}
    response = put(session, repo, "g-bad", data, headers={"X-Checksum": "0" * 64})
    assert response.status_code == 409


def test_build_client_user_agent_gets_no_sha256(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    response = put(session, repo, "f", b"x", headers={"User-Agent": "ArtifactoryBuildClient/2.1"})
    assert set(response.json()["checksums"]) == {"sha1", "md5"}


@pytest.mark.parametrize("header", ["X-Checksum-Sha1", "X-Checksum-Sha256", "X-Checksum-Md5"])
def test_checksum_mismatch_gives_409_and_stores_nothing(
    repo: ArtifactoryRepo, session: requests.Session, header: str
) -> None:
    headers = checksum_headers(b"what the client meant")
    response = put(
        session, repo, "dir/file.bin", b"what arrived", headers={header: headers[header]}
    )
    assert response.status_code == 409
    message = error_message(response)
    assert message.startswith(
        f"Checksum policy 'LocalRepoChecksumPolicy: CLIENT' rejected the artifact "
        f"'{repo.name}:dir/file.bin'. Checksums info: ChecksumsInfo{{checksums={{"
    )
    assert f"actual='{sums(b'what arrived')['sha1']}'" in message
    assert session.get(f"{repo.repo_url}/dir/file.bin").status_code == 404
    assert session.get(f"{repo.url}/api/storage/{repo.name}/dir").status_code == 404
    assert list((repo.server.root / ".fsartifacts-artifactory" / "tmp").iterdir()) == []


def test_checksum_mismatch_on_overwrite_keeps_the_old_content(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    assert put(session, repo, "f.txt", b"old").status_code == 201
    bad = {"X-Checksum-Sha256": "f" * 64}
    assert put(session, repo, "f.txt", b"new", headers=bad).status_code == 409
    assert session.get(f"{repo.repo_url}/f.txt").content == b"old"


def test_checksum_headers_are_case_insensitive(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    headers = {k: v.upper() for k, v in checksum_headers(b"abc").items()}
    response = put(session, repo, "f", b"abc", headers=headers)
    assert response.status_code == 201
    assert response.json()["originalChecksums"] == sums(b"abc")


def test_checksum_deploy_misses_with_404_then_hits_with_201(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = os.urandom(2048)
    s = sums(data)
    deploy = {"X-Checksum-Deploy": "true", "X-Checksum-Sha256": s["sha256"]}
    miss = put(session, repo, "copy.bin", b"", headers=deploy)
    assert miss.status_code == 404
    assert (
        error_message(miss)
        == f"Checksum deploy failed. No existing file with sha256: {s['sha256']}"
    )
    assert put(session, repo, "original.bin", data).status_code == 201
    repo.server.clear_requests()
    hit = put(session, repo, "other/copy.bin", b"", headers=deploy)
    assert hit.status_code == 201
    body = hit.json()
    assert body["checksums"] == s
    assert body["originalChecksums"] == s  # trusted checksums
    assert repo.server.requests[-1].bytes_in == 0
    assert session.get(f"{repo.repo_url}/other/copy.bin").content == data
    by_sha1 = {"X-Checksum-Deploy": "true", "X-Checksum-Sha1": s["sha1"]}
    assert put(session, repo, "by-sha1.bin", b"", headers=by_sha1).status_code == 201


def test_checksum_deploy_links_the_stored_file_and_copies_no_byte(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    """The new path shares the stored file's bytes (a hard link): a checksum deploy of
    1 GiB costs what a small one does. Neither name is hashed again for it, and each
    keeps its content when the other is replaced or deleted."""
    data, other = os.urandom(4096), os.urandom(4096)
    storage = repo.server.storage
    assert put(session, repo, "original.bin", data).status_code == 201
    deploy = {"X-Checksum-Deploy": "true", "X-Checksum-Sha256": sums(data)["sha256"]}
    assert put(session, repo, "copy.bin", b"", headers=deploy).status_code == 201
    assert put(session, repo, "copy.bin", b"", headers=deploy).status_code == 201  # the same
    original, copy = (storage.data_path(repo.name, n) for n in ("original.bin", "copy.bin"))
    assert os.stat(original).st_ino == os.stat(copy).st_ino
    for name, path in (("original.bin", original), ("copy.bin", copy)):
        row = storage.index.row(repo.name, name)  # still what the disk holds: not rehashed
        assert row is not None and row.disk_mtime_ns == os.stat(path).st_mtime_ns
    assert not list(storage.tmp_dir.iterdir())
    assert put(session, repo, "original.bin", other).status_code == 201
    assert session.get(f"{repo.repo_url}/copy.bin").content == data
    assert session.get(f"{repo.repo_url}/original.bin").content == other
    assert session.delete(f"{repo.repo_url}/original.bin").status_code == 204
    assert session.get(f"{repo.repo_url}/copy.bin").content == data


def test_checksum_deploy_without_usable_checksum_gives_404(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    none = put(session, repo, "f", b"", headers={"X-Checksum-Deploy": "true"})
    assert none.status_code == 404
    assert error_message(none) == (
        "Checksum deploy failed. no checksum header 'X-Checksum-Sha1/X-Checksum-Sha256' was found."
    )
    bad = {"X-Checksum-Deploy": "true", "X-Checksum-Sha1": "xyz"}
    response = put(session, repo, "f", b"", headers=bad)
    assert error_message(response) == "Checksum deploy failed. Invalid sha1: xyz"
    plain = {"X-Checksum-Deploy": "false"}
    assert put(session, repo, "f", b"content", headers=plain).status_code == 201


def test_deploy_to_an_unknown_repo_gives_404(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    response = session.put(f"{repo.url}/no-such-repo/f.txt", data=b"x")
    assert response.status_code == 404
    assert (
        error_message(response)
        == "Could not find a local repository named no-such-repo to deploy to."
    )


def test_file_and_folder_clashes_are_refused(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    assert put(session, repo, "a/b.txt", b"x").status_code == 201
    onto_folder = put(session, repo, "a", b"x")
    assert onto_folder.status_code == 409
    assert error_message(onto_folder) == f"Expected a file but found a folder, at: {repo.name}:a"
    under_file = put(session, repo, "a/b.txt/c", b"x")
    assert under_file.status_code == 409
    assert (
        error_message(under_file) == f"Expected a folder but found a file, at: {repo.name}:a/b.txt"
    )
    assert put(session, repo, "a/b.txt/", b"").status_code == 409


def test_deploy_honours_last_modified_and_matrix_properties(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    headers = {"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert (
        put(session, repo, "f.txt;build=42;tag=a%20b;tag=c", b"x", headers=headers).status_code
        == 201
    )
    info = session.get(f"{repo.url}/api/storage/{repo.name}/f.txt").json()
    assert info["lastModified"] == "2015-10-21T07:28:00.000Z"
    assert (
        session.get(f"{repo.repo_url}/f.txt").headers["Last-Modified"] == headers["Last-Modified"]
    )
    props = session.get(f"{repo.url}/api/storage/{repo.name}/f.txt?properties").json()
    assert props["properties"] == {"build": ["42"], "tag": ["a b", "c"]}


def test_mkdir_is_recursive_and_idempotent(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    for _ in range(2):
        response = session.put(f"{repo.repo_url}/x/y/z/")
        assert response.status_code == 201
        assert response.json()["path"] == "/x/y/z/"
        assert response.headers["Location"] == f"{repo.repo_url}/x/y/z/"
    info = session.get(f"{repo.url}/api/storage/{repo.name}/x/y").json()
    assert info["children"] == [{"uri": "/z", "folder": True}]


# -- download ----------------------------------------------------------------------------


def test_get_and_head_send_artifactory_headers(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"some text\n"
    s = sums(data)
    put(session, repo, "docs/read me.txt", data)
    url = f"{repo.repo_url}/docs/read%20me.txt"
    for method in ("GET", "HEAD"):
        response = session.request(method, url)
        assert response.status_code == 200
        headers = response.headers
        assert headers["Content-Length"] == str(len(data))
        assert headers["Content-Type"] == "text/plain"
        assert headers["ETag"] == s["sha1"]  # unquoted
        assert headers["X-Checksum-Sha1"] == s["sha1"]
        assert headers["X-Checksum-Sha256"] == s["sha256"]
        assert headers["X-Checksum-Md5"] == s["md5"]
        assert headers["Accept-Ranges"] == "bytes"
        assert headers["X-Artifactory-Filename"] == "read%20me.txt"
        assert headers["Content-Disposition"].startswith('attachment; filename="read me.txt"')
        assert "GMT" in headers["Last-Modified"]
        assert response.content == (data if method == "GET" else b"")
    assert session.get(url, headers={"If-None-Match": s["sha1"]}).status_code == 304


def test_conditional_requests(repo: ArtifactoryRepo, session: requests.Session) -> None:
    put(session, repo, "f.txt", b"0123456789")
    url = f"{repo.repo_url}/f.txt"
    headers = session.head(url).headers
    since = {"If-Modified-Since": headers["Last-Modified"]}
    assert session.get(url, headers=since).status_code == 304
    assert session.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    same = {"Range": "bytes=0-1", "If-Range": headers["ETag"]}
    assert session.get(url, headers=same).content == b"01"
    stale = {"Range": "bytes=0-1", "If-Range": "0" * 40}
    assert session.get(url, headers=stale).content == b"0123456789"  # changed: whole file


def test_head_errors_have_no_body_and_other_misses(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "f.txt", b"x")
    head = session.head(f"{repo.repo_url}/nope")
    assert (head.status_code, head.content) == (404, b"")
    assert session.get(f"{repo.repo_url}/f.txt/").status_code == 404  # a file is not a folder
    assert session.get(f"{repo.url}/api/nothing-here").status_code == 404
    not_allowed = session.post(f"{repo.repo_url}/f.txt")
    assert not_allowed.status_code == 405
    assert not_allowed.headers["Allow"] == "GET, HEAD, PUT, DELETE"


def test_missing_file_gives_404_file_not_found(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    response = session.get(f"{repo.repo_url}/nope.bin")
    assert response.status_code == 404
    assert error_message(response) == "File not found."


def test_folder_without_slash_redirects_to_an_html_listing(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "dir/file one.txt", b"1")
    response = session.get(f"{repo.repo_url}/dir", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{repo.repo_url}/dir/"
    listing = session.get(f"{repo.repo_url}/dir")
    assert listing.status_code == 200
    assert listing.headers["Content-Type"].startswith("text/html")
    assert '<a href="file%20one.txt">file one.txt</a>' in listing.text


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "body"),
    [
        ("bytes=2-5", 206, "bytes 2-5/10", b"2345"),
        ("bytes=7-", 206, "bytes 7-9/10", b"789"),
        ("bytes=8-100", 206, "bytes 8-9/10", b"89"),
        ("bytes=-3", 206, "bytes 0-3/10", b"0123"),  # Artifactory's suffix-range quirk
        ("bytes=10-", 416, "bytes */10", b""),
        ("bytes=5-2", 200, None, b"0123456789"),  # invalid: ignored
    ],
)
def test_ranges(
    repo: ArtifactoryRepo,
    session: requests.Session,
    range_header: str,
    status: int,
    content_range: str | None,
    body: bytes,
) -> None:
    put(session, repo, "digits", b"0123456789")
    response = session.get(f"{repo.repo_url}/digits", headers={"Range": range_header})
    assert response.status_code == status
    assert response.headers.get("Content-Range") == content_range
    assert response.content == body
    assert response.headers["Content-Length"] == str(len(body))


def test_any_range_on_an_empty_file_gives_416(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "empty", b"")
    assert session.get(f"{repo.repo_url}/empty").content == b""
    response = session.get(f"{repo.repo_url}/empty", headers={"Range": "bytes=0-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */0"


def test_multiple_ranges_give_multipart_byteranges(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "digits", b"0123456789")
    response = session.get(f"{repo.repo_url}/digits", headers={"Range": "bytes=0-1,8-"})
    assert response.status_code == 206
    assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/10\r\n\r\n01\r\n" in response.content
    assert b"Content-Range: bytes 8-9/10\r\n\r\n89\r\n" in response.content


# -- storage API -------------------------------------------------------------------------


def test_storage_info_of_file_folder_and_root(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"payload"
    put(session, repo, "dir/f.json", data, headers={"X-Checksum-Md5": sums(data)["md5"]})
    put(session, repo, "dir/sub/", b"")
    api = f"{repo.url}/api/storage/{repo.name}"
    file_info = session.get(f"{api}/dir/f.json")
    assert file_info.headers["Content-Type"] == f"{VENDOR}.FileInfo+json"
    info = file_info.json()
    assert info["size"] == str(len(data))
    assert info["checksums"] == sums(data)
    assert info["originalChecksums"] == {"md5": sums(data)["md5"], "sha256": sums(data)["sha256"]}
    assert info["uri"] == f"{api}/dir/f.json"
    assert info["downloadUri"] == f"{repo.repo_url}/dir/f.json"
    assert info["mimeType"] == "application/json"
    for key in ("created", "createdBy", "lastModified", "modifiedBy", "lastUpdated"):
        assert key in info
    folder = session.get(f"{api}/dir")
    assert folder.headers["Content-Type"] == f"{VENDOR}.FolderInfo+json"
    assert "size" not in folder.json()
    assert folder.json()["children"] == [
        {"uri": "/f.json", "folder": False},
        {"uri": "/sub", "folder": True},
    ]
    root = session.get(api).json()
    assert (root["path"], root["uri"]) == ("/", api)
    assert root["children"] == [{"uri": "/dir", "folder": True}]
    assert {"created", "lastModified", "lastUpdated"} <= set(root) and "size" not in root
    missing = session.get(f"{api}/nothing")
    assert (missing.status_code, error_message(missing)) == (404, "Unable to find item")
    other = session.get(f"{repo.url}/api/storage/no-such-repo")
    assert (other.status_code, error_message(other)) == (404, "Unable to find item")


def test_file_list(repo: ArtifactoryRepo, session: requests.Session) -> None:
    for path in ("a.txt", "d/b.txt", "d/e/c.txt"):
        put(session, repo, path, path.encode())
    api = f"{repo.url}/api/storage/{repo.name}"

    def listing(query: str) -> list[tuple[str, int, bool]]:
        response = session.get(f"{api}?list{query}")
        assert response.headers["Content-Type"] == f"{VENDOR}.FileList+json"
        return [(f["uri"], f["size"], f["folder"]) for f in response.json()["files"]]

    assert listing("") == [("/a.txt", 5, False)]
    assert listing("&deep=0&listFolders=1") == [("/a.txt", 5, False), ("/d", -1, True)]
    assert listing("&deep=1") == [
        ("/a.txt", 5, False),
        ("/d/b.txt", 7, False),
        ("/d/e/c.txt", 9, False),
    ]
    assert listing("&deep=1&depth=2&listFolders=1&includeRootPath=1") == [
        ("/", -1, True),
        ("/a.txt", 5, False),
        ("/d", -1, True),
        ("/d/b.txt", 7, False),
        ("/d/e", -1, True),
    ]
    entry = session.get(f"{api}/d?list&deep=1").json()["files"][1]
    assert entry["uri"] == "/e/c.txt"
    assert entry["sha1"] == sums(b"d/e/c.txt")["sha1"]
    assert entry["sha2"] == sums(b"d/e/c.txt")["sha256"]
    assert isinstance(entry["lastModified"], str)
    on_file = session.get(f"{api}/a.txt?list")
    assert on_file.status_code == 400
    assert error_message(on_file) == f"Expected a folder but found a file, at: {repo.name}:a.txt"


def test_last_modified_finds_the_newest_item(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(
        session, repo, "d/old.txt", b"1", headers={"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    put(session, repo, "d/e/new.txt", b"2")
    response = session.get(f"{repo.url}/api/storage/{repo.name}/d?lastModified")
    assert response.headers["Content-Type"] == f"{VENDOR}.ItemLastModified+json"
    assert response.json()["uri"] == f"{repo.url}/api/storage/{repo.name}/d/e/new.txt"


def test_oss_mode_answers_pro_endpoints_with_400_text(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "f", b"x")
    repo.server.pro = False
    api = f"{repo.url}/api"
    for response in (
        session.get(f"{api}/storage/{repo.name}?list"),
        session.post(f"{api}/copy/{repo.name}/f?to=/{repo.name}/g"),
        session.post(f"{api}/move/{repo.name}/f?to=/{repo.name}/g"),
        session.put(f"{api}/storage/{repo.name}/f?properties=a=1"),
    ):
        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text.startswith("This REST API is available only in Artifactory Pro")
    assert session.get(f"{api}/storage/{repo.name}").json()["children"] == [
        {"uri": "/f", "folder": False}
    ]


def test_item_properties(repo: ArtifactoryRepo, session: requests.Session) -> None:
    put(session, repo, "d/f.txt", b"x")
    api = f"{repo.url}/api/storage/{repo.name}"
    none = session.get(f"{api}/d/f.txt?properties")
    assert (none.status_code, error_message(none)) == (404, "No properties could be found.")
    assert session.put(f"{api}/d?properties=k=v1,v2;other=x%5C,y").status_code == 204
    got = session.get(f"{api}/d/f.txt?properties")
    assert got.headers["Content-Type"] == f"{VENDOR}.ItemProperties+json"
    assert got.json() == {
        "properties": {"k": ["v1", "v2"], "other": ["x,y"]},
        "uri": f"{api}/d/f.txt",
    }
    assert session.get(f"{api}/d/f.txt?properties=k").json()["properties"] == {"k": ["v1", "v2"]}
    assert session.delete(f"{api}/d/f.txt?properties=other").status_code == 204
    patch = {"props": {"k": None, "new": "n", "multi": ["1", "2"]}}
    response = session.patch(f"{repo.url}/api/metadata/{repo.name}/d/f.txt", json=patch)
    assert response.status_code == 204
    assert session.get(f"{repo.repo_url}/d/f.txt?properties").json()["properties"] == {
        "new": ["n"],
        "multi": ["1", "2"],
    }
    missing = session.patch(f"{repo.url}/api/metadata/{repo.name}/nope", json=patch)
    assert missing.status_code == 404
    bad_key = session.patch(
        f"{repo.url}/api/metadata/{repo.name}/d/f.txt", json={"props": {"a b": "v"}}
    )
    assert (bad_key.status_code, error_message(bad_key)) == (400, "Invalid property key 'a b'.")


# -- delete (copy and move: test_copying.py) -------------------------------------------


def test_delete_is_recursive(repo: ArtifactoryRepo, session: requests.Session) -> None:
    put(session, repo, "d/e/f.txt", b"x")
    put(session, repo, "keep.txt", b"x")
    assert session.delete(f"{repo.repo_url}/d").status_code == 204
    assert session.get(f"{repo.url}/api/storage/{repo.name}/d/e/f.txt").status_code == 404
    again = session.delete(f"{repo.repo_url}/d/")
    assert again.status_code == 404
    assert error_message(again) == f"Could not locate artifact '{repo.name}:d' (Nothing to delete)."
    put(session, repo, "more/g.txt", b"x")
    assert session.delete(f"{repo.repo_url}/").status_code == 204  # the root: all content
    root = session.get(f"{repo.url}/api/storage/{repo.name}")
    assert (root.status_code, root.json()["children"]) == (200, [])


# -- overwrite protection ----------------------------------------------------------------


def test_no_overwrite_refuses_overwrite_delete_and_move(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"v1"
    put(session, repo, "f.bin", data)
    repo.server.no_overwrite = True
    expected = (
        f"Not enough permissions to delete/overwrite artifact '{repo.name}:f.bin' "
        "(user: 'anonymous' needs DELETE permission)."
    )
    overwrite = put(session, repo, "f.bin", b"v2")
    assert (overwrite.status_code, error_message(overwrite)) == (403, expected)
    delete = session.delete(f"{repo.repo_url}/f.bin")
    assert (delete.status_code, error_message(delete)) == (403, expected)
    # The permission is asked before the path is looked up: a path nothing holds too.
    missing = session.delete(f"{repo.repo_url}/none.bin")
    assert (missing.status_code, error_message(missing)) == (
        403,
        expected.replace("f.bin", "none.bin"),
    )
    move = session.post(f"{repo.url}/api/move/{repo.name}/f.bin?to=/{repo.name}/g.bin")
    assert move.status_code == 403
    # Declaring the existing checksum is not an overwrite, nor is a checksum deploy of it.
    same = put(session, repo, "f.bin", data, headers=checksum_headers(data))
    assert same.status_code == 201
    by_checksum = {"X-Checksum-Deploy": "true", "X-Checksum-Sha1": sums(data)["sha1"]}
    assert put(session, repo, "f.bin", b"", headers=by_checksum).status_code == 201
    assert put(session, repo, "new.bin", b"new").status_code == 201
    assert session.get(f"{repo.repo_url}/f.bin").content == data
    repo.server.no_overwrite = False
    assert put(session, repo, "f.bin", b"v2").status_code == 201


# -- auth --------------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Authentication is required"),
        ({"Authorization": _basic(ARTIFACTORY_USER, "wrong")}, 401, "Bad credentials"),
        ({"Authorization": _basic("someone", ARTIFACTORY_PASSWORD)}, 401, "Bad credentials"),
        ({"Authorization": "Bearer wrong"}, 401, "Bad credentials"),
        ({"X-JFrog-Art-Api": "wrong"}, 403, "Bad credentials"),
        ({"Authorization": _basic(ARTIFACTORY_USER, ARTIFACTORY_PASSWORD)}, 200, None),
        ({"Authorization": _basic(ARTIFACTORY_USER, ARTIFACTORY_TOKEN)}, 200, None),
        ({"Authorization": _basic(ARTIFACTORY_USER, ARTIFACTORY_API_KEY)}, 200, None),
        ({"Authorization": f"Bearer {ARTIFACTORY_TOKEN}"}, 200, None),
        ({"X-JFrog-Art-Api": ARTIFACTORY_API_KEY}, 200, None),
        ({"X-Api-Key": ARTIFACTORY_API_KEY}, 200, None),
    ],
)
def test_auth_matrix(
    artifactory_secure_server: ArtifactoryServer,
    headers: dict[str, str],
    status: int,
    message: str | None,
) -> None:
    url = f"{artifactory_secure_server.url}/api/storage/generic-local"
    response = requests.get(url, headers=headers)
    assert response.status_code == status
    if message is not None:
        assert error_message(response) == message
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Artifactory Realm"'


def test_auth_records_the_user_and_leaves_ping_open(
    artifactory_secure_server: ArtifactoryServer,
) -> None:
    url = artifactory_secure_server.url
    assert requests.get(f"{url}/api/system/ping").text == "OK"
    refused = requests.put(f"{url}/generic-local/auth/f.txt", data=b"x" * 100_000)
    assert refused.status_code == 401
    auth = (ARTIFACTORY_USER, ARTIFACTORY_PASSWORD)
    response = requests.put(f"{url}/generic-local/auth/f.txt", data=b"x", auth=auth)
    assert response.json()["createdBy"] == ARTIFACTORY_USER


def test_anonymous_server_accepts_any_credentials(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    response = put(session, repo, "f", b"x", auth=("whoever", "whatever"))
    assert response.status_code == 201
    assert response.json()["createdBy"] == "whoever"
    assert session.get(f"{repo.repo_url}/f", headers={"Authorization": "Bearer junk"}).ok


def test_credentials_need_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="password"):
        ArtifactoryServer(tmp_path, password="p")
    with pytest.raises(ValueError, match="user needs"):
        ArtifactoryServer(tmp_path, user="u")
    with pytest.raises(ValueError, match="repository key"):
        ArtifactoryServer(tmp_path, repos=("api",)).start()


# -- paths -------------------------------------------------------------------------------


def test_paths_keep_plus_and_encoded_semicolons(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    assert put(session, repo, "v1+build%3Bx.txt;p=1", b"x").status_code == 201
    children = session.get(f"{repo.url}/api/storage/{repo.name}").json()["children"]
    assert children == [{"uri": "/v1+build;x.txt", "folder": False}]
    assert session.get(f"{repo.repo_url}/v1%2Bbuild%3Bx.txt").content == b"x"
    assert (repo.server.root / repo.name / "v1+build;x.txt").read_bytes() == b"x"


def test_unicode_names_round_trip(repo: ArtifactoryRepo, session: requests.Session) -> None:
    name = 'dossier é/mödel "v1" 名前.bin'
    response = put(session, repo, quote(name), b"u")
    assert response.json()["downloadUri"] == f"{repo.repo_url}/{name}"  # not re-encoded
    assert response.headers["Location"] == f"{repo.repo_url}/{quote(name)}"  # a valid URL
    download = session.get(response.headers["Location"])
    assert download.content == b"u"
    assert download.headers["X-Artifactory-Filename"] == quote('mödel "v1" 名前.bin')
    info = session.get(f"{repo.url}/api/storage/{repo.name}/{quote('dossier é')}").json()
    assert info["children"] == [{"uri": '/mödel "v1" 名前.bin', "folder": False}]


def test_bad_paths_are_refused(repo: ArtifactoryRepo) -> None:
    server = repo.server
    status, body = raw_request(server, "GET", "/artifactory//api/storage/generic-local")
    assert status == 500
    assert json.loads(body)["errors"][0]["message"] == "Repo key cannot be empty"
    assert raw_request(server, "GET", f"/artifactory/{repo.name}/a//b")[0] == 400
    assert raw_request(server, "PUT", f"/artifactory/{repo.name}/../escape.txt")[0] == 400
    assert raw_request(server, "PUT", f"/artifactory/{repo.name}/a/%2E%2E/%2E%2E/x")[0] == 400
    assert raw_request(server, "GET", "/elsewhere")[0] == 404
    assert not (server.root / "escape.txt").exists()


# -- connections, concurrency, streaming -------------------------------------------------


def test_chunked_upload_and_keep_alive_after_refused_bodies(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc" * 1000
        yield b"def" * 1000

    expected = (b"abc" * 1000) + (b"def" * 1000)
    response = put(session, repo, "chunked.bin", chunks())  # type: ignore[arg-type]
    assert response.status_code == 201
    assert response.json()["size"] == str(len(expected))
    # Refused uploads: the body is read to its end, so the connection stays usable.
    assert session.put(f"{repo.url}/nope/f", data=b"z" * 300_000).status_code == 404
    assert put(session, repo, "f", b"z", headers={"X-Checksum-Sha1": "0" * 40}).status_code == 409
    assert session.get(f"{repo.repo_url}/chunked.bin").content == expected
    records = repo.server.requests
    assert [r.status for r in records] == [201, 404, 409, 200]
    assert records[0].bytes_in == len(expected) and records[1].bytes_in == 300_000
    assert records[3].bytes_out == len(expected)


def test_concurrent_uploads(repo: ArtifactoryRepo) -> None:
    payloads = {f"c/{i}.bin": os.urandom(200_000 + i) for i in range(8)}

    def upload(item: tuple[str, bytes]) -> int:
        path, data = item
        with requests.Session() as s:
            return put(s, repo, path, data, headers=checksum_headers(data)).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(upload, payloads.items())) == [201] * 8
    for path, data in payloads.items():
        assert requests.get(f"{repo.repo_url}/{path}").content == data


def test_large_transfers_stream_with_flat_memory(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    size, chunk = 64 * 1024 * 1024, 1024 * 1024
    block = os.urandom(chunk)
    expected = hashlib.sha256()
    for _ in range(size // chunk):
        expected.update(block)

    def body() -> Iterator[bytes]:
        for _ in range(size // chunk):
            yield block

    tracemalloc.start()
    try:
        response = put(session, repo, "big.bin", body())  # type: ignore[arg-type]
        assert response.status_code == 201
        assert response.json()["checksums"]["sha256"] == expected.hexdigest()
        received = hashlib.sha256()
        total = 0
        with session.get(f"{repo.repo_url}/big.bin", stream=True) as download:
            for piece in download.iter_content(chunk):
                received.update(piece)
                total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (total, received.hexdigest()) == (size, expected.hexdigest())
    # Client and server share this process: 64 MiB went each way, a few MiB were ever held.
    assert peak < 16 * 1024 * 1024


# -- faults ------------------------------------------------------------------------------


def test_fail_next_with_retry_after_then_recovers(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    repo.server.faults.fail_next(2, status=503, retry_after=1.5, methods=["PUT"])
    for _ in range(2):
        failed = put(session, repo, "f.txt", b"x" * 1000)
        assert failed.status_code == 503
        assert failed.headers["Retry-After"] == "1.5"
        assert "fault injected" in error_message(failed)
    assert session.get(f"{repo.repo_url}/f.txt").status_code == 404  # nothing stored
    assert repo.server.faults.pending() == 0
    assert put(session, repo, "f.txt", b"x").status_code == 201


def test_fail_next_matches_on_path(repo: ArtifactoryRepo, session: requests.Session) -> None:
    put(session, repo, "a.txt", b"a")
    put(session, repo, "b.txt", b"b")
    repo.server.faults.fail_next(1, status=500, path_contains="b.txt")
    assert session.get(f"{repo.repo_url}/a.txt").status_code == 200
    assert session.get(f"{repo.repo_url}/b.txt").status_code == 500
    assert session.get(f"{repo.repo_url}/b.txt").status_code == 200


def test_before_next_acts_just_before_the_matching_request(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "f.txt", b"old")
    seen: list[bytes] = []
    repo.server.faults.before_next(
        lambda: seen.append(session.get(f"{repo.repo_url}/f.txt").content), methods=["DELETE"]
    )
    assert session.get(f"{repo.repo_url}/f.txt").content == b"old"  # not a DELETE: no action
    assert seen == []
    assert session.delete(f"{repo.repo_url}/f.txt").status_code == 204
    assert seen == [b"old"]  # it ran before the DELETE was handled
    assert repo.server.faults.pending() == 0


def test_redirect_next_answers_a_deploy_with_a_location_and_stores_nothing(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    elsewhere = f"{repo.repo_url}/moved/f.txt"
    repo.server.faults.redirect_next(elsewhere, status=307, path_contains="f.txt")
    with pytest.raises(ValueError):
        repo.server.faults.redirect_next(elsewhere, status=500)
    redirected = put(session, repo, "f.txt", b"x" * 1000, allow_redirects=False)
    assert (redirected.status_code, redirected.headers["Location"]) == (307, elsewhere)
    assert repo.server.requests[-1].bytes_in == 1000  # the body was read, then refused
    assert session.get(f"{repo.repo_url}/f.txt").status_code == 404  # nothing stored
    assert repo.server.faults.pending() == 0
    assert put(session, repo, "f.txt", b"x").status_code == 201


def test_drop_after_resets_a_download(repo: ArtifactoryRepo, session: requests.Session) -> None:
    data = os.urandom(2 * 1024 * 1024)
    put(session, repo, "f.bin", data)
    repo.server.faults.drop_after(100_000)
    with pytest.raises(requests.exceptions.RequestException):
        session.get(f"{repo.repo_url}/f.bin").raise_for_status()
    record = repo.server.requests[-1]
    assert (record.status, record.bytes_out) == (200, 100_000)
    assert session.get(f"{repo.repo_url}/f.bin").content == data  # next one is fine


def test_cut_after_resets_every_download_once_its_bytes_are_spent(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    put(session, repo, "f.bin", data)
    repo.server.faults.cut_after(300_000, path_contains="f.bin")
    for _ in range(3):
        with pytest.raises(requests.exceptions.RequestException):
            session.get(f"{repo.repo_url}/f.bin").raise_for_status()
    assert [r.bytes_out for r in repo.server.requests[-3:]] == [300_000, 0, 0]
    repo.server.faults.reset()
    assert session.get(f"{repo.repo_url}/f.bin").content == data


def test_ignore_ranges_answers_ranged_gets_with_the_whole_file_until_reset(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    put(session, repo, "digits", b"0123456789")
    repo.server.faults.ignore_ranges(path_contains="digits")
    for _ in range(2):
        response = session.get(f"{repo.repo_url}/digits", headers={"Range": "bytes=2-4"})
        assert (response.status_code, response.content) == (200, b"0123456789")
        assert "Content-Range" not in response.headers
    assert session.get(f"{repo.repo_url}/digits").status_code == 200  # no Range: not its
    repo.server.faults.reset()
    response = session.get(f"{repo.repo_url}/digits", headers={"Range": "bytes=2-4"})
    assert (response.status_code, response.content) == (206, b"234")
    repo.server.faults.ignore_ranges(count=1)
    assert session.get(f"{repo.repo_url}/digits", headers={"Range": "bytes=2-4"}).status_code == 200
    assert session.get(f"{repo.repo_url}/digits", headers={"Range": "bytes=2-4"}).status_code == 206


def test_stall_after_hangs_a_download_part_way_until_reset(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = os.urandom(300_000)
    put(session, repo, "f.bin", data)
    repo.server.faults.stall_after(100_000, path_contains="f.bin")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stalled = pool.submit(lambda: session.get(f"{repo.repo_url}/f.bin").content)
        deadline = time.monotonic() + 30
        while repo.server.faults.stalled() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert repo.server.faults.stalled() == repo.server.faults.hanging() == 1
        assert not stalled.done()
        repo.server.faults.end_stalls(1)  # the connection is reset
        with pytest.raises(requests.exceptions.RequestException):
            stalled.result(timeout=30)
    assert repo.server.faults.hanging() == 0
    assert repo.server.requests[-1].bytes_out == 100_000
    assert repo.server.faults.stalled() == 1
    repo.server.faults.reset()
    assert repo.server.faults.stalled() == 0
    assert requests.get(f"{repo.repo_url}/f.bin").content == data


def test_drop_after_cuts_an_upload_and_stores_nothing(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    repo.server.faults.drop_after(64 * 1024, methods=["PUT"])
    with pytest.raises(requests.exceptions.ConnectionError):
        put(session, repo, "f.bin", os.urandom(4 * 1024 * 1024))
    assert session.get(f"{repo.url}/api/storage/{repo.name}/f.bin").status_code == 404
    assert repo.server.requests[-2].status == 0  # dropped without a response
    assert list((repo.server.root / ".fsartifacts-artifactory" / "tmp").iterdir()) == []


def test_truncate_next_sends_a_short_body(repo: ArtifactoryRepo, session: requests.Session) -> None:
    data = os.urandom(500_000)
    put(session, repo, "f.bin", data)
    repo.server.faults.truncate_next(1000)
    received = bytearray()
    with (
        pytest.raises(requests.exceptions.ChunkedEncodingError),
        session.get(f"{repo.repo_url}/f.bin", stream=True) as response,
    ):
        assert response.headers["Content-Length"] == str(len(data))
        for piece in response.iter_content(100):  # urllib3 drops a partial last read
            received += piece
    assert bytes(received) == data[:1000]


def test_corrupt_next_flips_a_served_byte(repo: ArtifactoryRepo, session: requests.Session) -> None:
    data = b"0123456789"
    put(session, repo, "f.bin", data)
    repo.server.faults.corrupt_next(offset=3)
    corrupted = session.get(f"{repo.repo_url}/f.bin").content
    assert corrupted != data and len(corrupted) == len(data)
    assert [i for i in range(len(data)) if corrupted[i] != data[i]] == [3]
    assert session.get(f"{repo.repo_url}/f.bin").content == data  # stored bytes intact


def test_corrupt_next_on_upload_is_caught_by_checksums(
    repo: ArtifactoryRepo, session: requests.Session
) -> None:
    data = b"important bytes"
    repo.server.faults.corrupt_next(methods=["PUT"])
    assert put(session, repo, "f.bin", data, headers=checksum_headers(data)).status_code == 409
    assert session.get(f"{repo.repo_url}/f.bin").status_code == 404
    repo.server.faults.corrupt_next(methods=["PUT"], offset=1000)  # clamped to the last byte
    unchecked = put(session, repo, "g.bin", data)
    assert unchecked.status_code == 201
    assert unchecked.json()["checksums"]["sha256"] != sums(data)["sha256"]
    assert session.get(f"{repo.repo_url}/g.bin").content == data[:-1] + bytes([data[-1] ^ 0xFF])


def test_latency_and_reset(repo: ArtifactoryRepo, session: requests.Session) -> None:
    faults = repo.server.faults
    faults.latency = 0.05
    started = time.monotonic()
    assert session.get(f"{repo.url}/api/system/ping").ok
    assert time.monotonic() - started >= 0.05  # a lower bound: slept, never flaky
    faults.fail_next(3)
    faults.truncate_next(1)
    assert faults.pending() == 4
    faults.reset()
    assert (faults.pending(), faults.latency) == (0, 0.0)
    with pytest.raises(ValueError):
        faults.fail_next(1, status=200)


def test_request_log_tells_overlapping_requests_from_serial_ones(repo: ArtifactoryRepo) -> None:
    repo.server.faults.latency = 0.05
    ping = f"{repo.url}/api/system/ping"
    with requests.Session() as one:
        for _ in range(3):
            assert one.get(ping).ok
    serial = repo.server.requests
    assert len(serial) == 3 and peak_overlap(serial) == 1
    assert all(r.started <= r.answered for r in serial)
    repo.server.clear_requests()
    # Three clients released together, each request held 0.2 s by the server: they overlap.
    repo.server.faults.latency = 0.2
    barrier = threading.Barrier(3)

    def wait_then_ping() -> bool:
        barrier.wait(timeout=10)
        return requests.get(ping, timeout=10).ok

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert all(pool.map(lambda _: wait_then_ping(), range(3)))
    assert peak_overlap(repo.server.requests) >= 2


# -- persistence, lifecycle, CLI ---------------------------------------------------------


def test_stop_closes_idle_keep_alive_connections(
    artifactory_server_factory: Callable[..., ArtifactoryServer],
) -> None:
    server = artifactory_server_factory()
    ping = f"{server.url}/api/system/ping"
    with requests.Session() as s:
        assert s.get(ping).ok  # leaves a pooled keep-alive connection open
        server.stop()
        with pytest.raises(requests.exceptions.ConnectionError):
            s.get(ping)


def test_request_log(repo: ArtifactoryRepo, session: requests.Session) -> None:
    put(session, repo, "f.txt", b"12345")
    session.get(f"{repo.repo_url}/f.txt?x=1")
    first, second = repo.server.requests
    assert (first.method, first.status, first.bytes_in) == ("PUT", 201, 5)
    assert first.path == f"/artifactory/{repo.name}/f.txt"
    assert (second.method, second.path, second.bytes_out) == (
        "GET",
        f"/artifactory/{repo.name}/f.txt?x=1",
        5,
    )
    assert second.headers["Host"] == urlsplit(repo.url).netloc
    repo.server.clear_requests()
    assert repo.server.requests == []


def test_repositories_list(repo: ArtifactoryRepo, session: requests.Session) -> None:
    repos = session.get(f"{repo.url}/api/repositories").json()
    entry = next(r for r in repos if r["key"] == repo.name)
    assert entry == {
        "key": repo.name,
        "type": "LOCAL",
        "description": "",
        "url": repo.repo_url,
        "packageType": "Generic",
    }


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def test_cli_prints_its_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fsartifacts.testing.artifactory", "--port", "0"]
    command += ["--root", str(tmp_path), "--repo", "one-local", "--repo", "two-local", "--quiet"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_cli_env()
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/artifactory")
        assert requests.get(f"{url}/api/system/ping").text == "OK"
        assert requests.put(f"{url}/two-local/f.txt", data=b"x").status_code == 201
        assert (tmp_path / "two-local" / "f.txt").read_bytes() == b"x"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr


def test_cli_rejects_a_user_without_a_secret(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fsartifacts.testing.artifactory", "--root", str(tmp_path)]
    result = subprocess.run(
        [*command, "--user", "u"], capture_output=True, text=True, env=_cli_env(), timeout=60
    )
    assert result.returncode == 2
    assert "--user needs" in result.stderr
