"""Whole-file writes of ``artifactory://`` against the local Artifactory server
(artifactoryfs/writes.py): checksum deploys, retries of uploads, corrupted or changed
files refused with nothing stored, and exclusive writes."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fsspec.callbacks import Callback

from fsartifacts.artifactoryfs.errors import ArtifactoryConflictError, ArtifactoryIntegrityError
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.artifactoryfs.upload import CHECKSUM_DEPLOY_MIN, SEND_BLOCK, deploy
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactoryfs import (
    RecordingCallback,
    digests_of,
    header,
    make_fs,
    requests_to,
)

BIG = CHECKSUM_DEPLOY_MIN  # the size from which a checksum deploy is tried first


def test_checksum_deploy_sends_no_bytes_when_the_server_has_them(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "data.bin"
    local.write_bytes(os.urandom(3 * BIG))
    fs.put_file(str(local), f"{repo}/first.bin")
    server.clear_requests()
    callback = RecordingCallback()
    fs.put_file(str(local), f"{repo}/second.bin", callback=callback)
    (put,) = requests_to(server, "PUT", "second.bin")
    assert put.status == 201 and put.bytes_in == 0
    assert header(put, "X-Checksum-Deploy") == "true"
    assert header(put, "X-Checksum-Sha256") == hashlib.sha256(local.read_bytes()).hexdigest()
    assert fs.cat_file(f"{repo}/second.bin") == local.read_bytes()
    assert callback.sizes == [3 * BIG] and sum(callback.updates) == 3 * BIG


def test_checksum_deploy_miss_falls_back_to_a_full_upload(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "new.bin"
    data = os.urandom(BIG + 1)
    local.write_bytes(data)
    callback = RecordingCallback()
    fs.put_file(local, f"{repo}/new.bin", callback=callback)
    first, second = requests_to(server, "PUT", "new.bin")
    assert (first.status, first.bytes_in, header(first, "X-Checksum-Deploy")) == (404, 0, "true")
    assert (second.status, second.bytes_in) == (201, len(data))
    assert header(second, "Content-Length") == str(len(data))
    assert header(second, "Transfer-Encoding") is None
    assert header(second, "X-Checksum-Deploy") is None
    assert header(second, "X-Checksum-Sha1") == hashlib.sha1(data).hexdigest()
    assert fs.cat_file(f"{repo}/new.bin") == data
    assert sum(callback.updates) == len(data)

    # Below the threshold a probe's round trip costs more than the bytes it could save:
    # straight to a full PUT, for a tiny file and for one of a few tens of KiB alike.
    for name, size in (("small.txt", 5), ("tens-of-kib.bin", 32 * 1024)):
        small = tmp_path / name
        small.write_bytes(os.urandom(size))
        fs.put_file(small, f"{repo}/{name}")
        (put,) = requests_to(server, "PUT", name)
        assert put.bytes_in == size


def test_put_file_retries_after_a_dropped_connection(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "up.bin"
    data = os.urandom(300_000)
    local.write_bytes(data)
    server.faults.drop_after(50_000, methods=["PUT"], path_contains="up.bin")
    fs.put_file(local, f"{repo}/up.bin")
    statuses = [r.status for r in requests_to(server, "PUT", "up.bin")]
    assert statuses[-1] == 201 and 0 in statuses  # one was cut off, a later one stored it
    assert fs.cat_file(f"{repo}/up.bin") == data


def test_a_503_on_upload_is_retried(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    server.faults.fail_next(1, status=503, methods=["PUT"])
    fs.pipe_file(f"{repo}/p.txt", b"payload")
    assert [r.status for r in requests_to(server, "PUT", "p.txt")] == [503, 201]
    assert fs.cat_file(f"{repo}/p.txt") == b"payload"


def test_a_corrupted_upload_is_refused_and_nothing_is_stored(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    server.faults.corrupt_next(methods=["PUT"])
    with pytest.raises(ArtifactoryConflictError) as caught:
        fs.pipe_file(f"{repo}/c.bin", b"precious bytes")
    assert caught.value.status == 409
    assert not fs.exists(f"{repo}/c.bin")


def test_put_file_refuses_a_file_changed_since_it_was_hashed(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "f.bin"
    local.write_bytes(b"now")
    with pytest.raises(ArtifactoryIntegrityError, match="changed"):
        fs.put_file(local, f"{repo}/f.bin", sha256=hashlib.sha256(b"before").hexdigest())
    assert not fs.exists(f"{repo}/f.bin")

    # With both digests the file is not read again: its stat when hashed tells.
    data = os.urandom(3 * BIG)
    local.write_bytes(data)
    hashed = os.stat(local)
    local.write_bytes(os.urandom(3 * BIG))  # same size; a later mtime, set so it differs
    os.utime(local, ns=(hashed.st_atime_ns, hashed.st_mtime_ns + 1_000_000))
    server.clear_requests()
    with pytest.raises(ArtifactoryIntegrityError, match="changed since it was hashed"):
        fs.put_file(local, f"{repo}/f.bin", **digests_of(data), hashed_stat=hashed)
    assert requests_to(server, "PUT", "f.bin") == []  # refused before sending anything
    assert not fs.exists(f"{repo}/f.bin")


def test_put_file_with_both_digests_sends_them_and_the_server_checks_the_bytes(
    fs: ArtifactoryFileSystem, repo: str, tmp_path: Path
) -> None:
    local = tmp_path / "f.bin"
    data = os.urandom(3 * BIG)
    local.write_bytes(data)
    fs.put_file(local, f"{repo}/f.bin", **digests_of(data), hashed_stat=os.stat(local))
    assert fs.cat_file(f"{repo}/f.bin") == data
    assert fs.info(f"{repo}/f.bin")["sha1"] == hashlib.sha1(data).hexdigest()

    class RewriteWhileSending(Callback):
        """Rewrites the file in place (same size) once its first block is sent."""

        def relative_update(self, inc: int = 1) -> None:
            if not self.value:
                local.write_bytes(os.urandom(2 * SEND_BLOCK))
            super().relative_update(inc)

    local.write_bytes(os.urandom(2 * SEND_BLOCK))  # content the server has not seen: a full PUT
    with pytest.raises(ArtifactoryConflictError) as caught:
        fs.put_file(
            local, f"{repo}/g.bin", **digests_of(local.read_bytes()),
            hashed_stat=os.stat(local), callback=RewriteWhileSending(),
        )  # fmt: skip
    assert caught.value.status == 409  # the server checked the bytes against the digests
    assert not fs.exists(f"{repo}/g.bin")


def test_exclusive_writes(fs: ArtifactoryFileSystem, repo: str, tmp_path: Path) -> None:
    fs.pipe_file(f"{repo}/x.txt", b"one")
    local = tmp_path / "l.txt"
    local.write_bytes(b"two")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{repo}/x.txt", b"two", mode="create")
    with pytest.raises(FileExistsError):
        fs.put_file(local, f"{repo}/x.txt", mode="create")
    with pytest.raises(FileExistsError):
        fs.open(f"{repo}/x.txt", "xb")
    assert fs.cat_file(f"{repo}/x.txt") == b"one"
    with fs.open(f"{repo}/y.txt", "xb") as f:
        f.write(b"new")
    assert fs.cat_file(f"{repo}/y.txt") == b"new"


@pytest.mark.parametrize("written", [5, 3 * SEND_BLOCK], ids=["whole", "streamed"])
def test_an_exclusive_open_refuses_at_close_a_path_another_writer_created_meanwhile(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, written: int
) -> None:
    """``open(path, "xb")`` checks that the path is absent when it is opened, and again
    when it is published: another writer (its own filesystem and connections) that
    creates the path while the first one writes keeps it, and the first one's close is
    refused. A small write is one deploy at close, a bigger one is streamed meanwhile."""
    path = f"{repo}/raced.bin"
    other = make_fs(server.url)
    mine, theirs = os.urandom(written), os.urandom(written)
    first = fs.open(path, "xb", block_size=SEND_BLOCK)
    first.write(mine)
    with other.open(path, "xb", block_size=SEND_BLOCK) as second:
        second.write(theirs)
    with pytest.raises(FileExistsError):
        first.close()
    assert fs.cat_file(path) == theirs
    assert server.storage.children(repo, "") == [("raced.bin", False)]  # no hidden copy


class CountingReads(io.BytesIO):
    reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        type(self).reads += 1
        return super().read(size)


def test_a_small_body_is_read_in_one_call_and_a_short_one_is_refused_at_once(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer
) -> None:
    data = os.urandom(32 * 1024)
    progress = RecordingCallback()
    digests = digests_of(data)
    deploy(fs.client, f"{repo}/s.bin", lambda: CountingReads(data), len(data),
           digests["sha1"], digests["sha256"], progress)  # fmt: skip
    assert CountingReads.reads == 1
    assert sum(progress.updates) == len(data)
    assert fs.cat_file(f"{repo}/s.bin") == data
    # A file that lost bytes after it was hashed sends what it holds, which the server
    # refuses against the checksums; never a Content-Length it does not fill.
    with pytest.raises(ArtifactoryConflictError):
        deploy(fs.client, f"{repo}/t.bin", lambda: io.BytesIO(data[:-1]), len(data),
               digests["sha1"], digests["sha256"])  # fmt: skip
    assert not fs.exists(f"{repo}/t.bin")


def test_put_file_hashing_sends_the_bytes_once_and_hashes_them_on_the_way(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "big.bin"
    data = os.urandom(3 * SEND_BLOCK + 5)
    local.write_bytes(data)
    callback = RecordingCallback()
    with open(local, "rb") as src:
        digests = fs.put_file_hashing(src, f"{repo}/big.bin", callback=callback)
    assert digests == digests_of(data)
    # One PUT with the bytes: no checksum probe first, no checksum (none is known yet). Then
    # the checksum deploy that publishes them.
    put, _published = requests_to(server, "PUT", "big.bin")
    assert (put.status, put.bytes_in) == (201, len(data))
    assert header(put, "Content-Length") == str(len(data))
    assert not [h for h in put.headers if h.lower().startswith("x-checksum")]
    assert fs.cat_file(f"{repo}/big.bin") == data
    assert callback.sizes == [len(data)] and sum(callback.updates) == len(data)
    with open(local, "rb") as src, pytest.raises(FileExistsError):
        fs.put_file_hashing(src, f"{repo}/big.bin", mode="create")


def test_put_file_hashing_hashes_only_the_try_that_was_stored(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "up.bin"
    data = os.urandom(2 * SEND_BLOCK)
    local.write_bytes(data)
    server.faults.drop_after(SEND_BLOCK + 1000, methods=["PUT"], path_contains="up.bin")
    with open(local, "rb") as src:
        assert fs.put_file_hashing(src, f"{repo}/up.bin") == digests_of(data)
    assert [r.status for r in requests_to(server, "PUT", "up.bin")] == [0, 201, 201]
    assert fs.cat_file(f"{repo}/up.bin") == data


def hidden_copy_of(name: str) -> re.Pattern[str]:
    """The name an upload of ``name`` is sent to before it is published."""
    return re.compile(rf"\.{re.escape(name)}\.fsartifacts-[0-9a-f]{{12}}\.part")


def test_put_file_hashing_never_shows_unchecked_bytes_at_the_path(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """The request of a file hashed as it is sent carries no checksum, so the server stores
    bytes corrupted on the way: they go to a hidden name beside the path, so a pull never
    finds them at the path, from the server's answer to the client's check, nor after."""
    local = tmp_path / "c.bin"
    data = os.urandom(2 * SEND_BLOCK)
    local.write_bytes(data)
    server.faults.corrupt_next(methods=["PUT"], offset=SEND_BLOCK + 7)
    at_answer: list[list[str]] = []  # the repository's files as the upload is answered
    server.faults.before_answer(
        lambda: at_answer.append([n for n, _ in server.storage.children(repo, "")])
    )
    with open(local, "rb") as src, pytest.raises(ArtifactoryIntegrityError) as caught:
        fs.put_file_hashing(src, f"{repo}/c.bin")
    ((stored,),) = at_answer
    assert hidden_copy_of("c.bin").fullmatch(stored)
    assert hashlib.sha256(data).hexdigest() in str(caught.value)
    assert f"nothing was written to {repo}/c.bin" in str(caught.value)
    # No request wrote to the path; the hidden copy is gone.
    assert not [r for r in server.requests if r.method == "PUT" and r.path.endswith("/c.bin")]
    # Whether these credentials may delete (asked of a name nothing holds), then the delete.
    assert [r.status for r in requests_to(server, "DELETE", "c.bin")] == [404, 204]
    assert server.storage.children(repo, "") == []


def test_put_file_hashing_publishes_the_checked_bytes_by_checksum(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    local = tmp_path / "big.bin"
    data = os.urandom(3 * SEND_BLOCK + 5)
    local.write_bytes(data)
    with open(local, "rb") as src:
        assert fs.put_file_hashing(src, f"{repo}/big.bin", mode="create") == digests_of(data)
    sent, published = requests_to(server, "PUT", "big.bin")
    assert hidden_copy_of("big.bin").fullmatch(sent.path.rpartition("/")[2])
    assert (sent.status, sent.bytes_in) == (201, len(data))
    # The path is created from the checked content: no byte sent again.
    assert published.path.endswith(f"/{repo}/big.bin")
    assert (published.status, published.bytes_in) == (201, 0)
    assert header(published, "X-Checksum-Deploy") == "true"
    assert header(published, "X-Checksum-Sha256") == hashlib.sha256(data).hexdigest()
    asked, deleted = requests_to(server, "DELETE", "big.bin")  # may these credentials delete?
    assert asked.started < sent.started and asked.status == 404 and asked.path != sent.path
    assert (deleted.path, deleted.status) == (sent.path, 204)
    assert server.storage.children(repo, "") == [("big.bin", False)]
    assert fs.cat_file(f"{repo}/big.bin") == data


def test_put_file_hashing_to_create_refuses_a_path_created_while_it_was_sent(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """A version pushed twice is an error: the path is checked before the bytes are sent,
    and again before they are published there."""
    local = tmp_path / "v.bin"
    local.write_bytes(os.urandom(2 * SEND_BLOCK))
    theirs = os.urandom(1000)
    other = make_fs(server.url)
    server.faults.before_answer(lambda: other.pipe_file(f"{repo}/v.bin", theirs), methods=["PUT"],
                                path_contains="v.bin")  # fmt: skip
    with open(local, "rb") as src, pytest.raises(FileExistsError):
        fs.put_file_hashing(src, f"{repo}/v.bin", mode="create")
    assert fs.cat_file(f"{repo}/v.bin") == theirs
    assert server.storage.children(repo, "") == [("v.bin", False)]


def test_put_file_hashing_asks_the_hidden_copy_for_checksums_an_answer_lacks(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """Artifactory leaves the sha256 out of a deploy's answer to some clients: the hidden
    copy's own record gives it, before anything is published."""
    local = tmp_path / "b.bin"
    data = os.urandom(2 * SEND_BLOCK)
    local.write_bytes(data)
    fs.client.session().headers["User-Agent"] = "ArtifactoryBuildClient/2.1"
    with open(local, "rb") as src:
        assert fs.put_file_hashing(src, f"{repo}/b.bin") == digests_of(data)
    sent, published = requests_to(server, "PUT", "b.bin")
    (asked,) = requests_to(server, "GET", "/api/storage/")
    assert asked.path.endswith(sent.path.rpartition("/")[2]) and asked.started < published.started
    assert fs.cat_file(f"{repo}/b.bin") == data
    assert server.storage.children(repo, "") == [("b.bin", False)]


def test_put_file_hashing_without_the_delete_permission_leaves_no_hidden_copy(
    fs: ArtifactoryFileSystem,
    repo: str,
    server: ArtifactoryServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hidden copy needs deleting once published, which credentials without the Delete
    permission cannot do (nor can the sweep with them). The server is asked first, by a
    delete of a name nothing holds: refused, the file is hashed before it is sent and
    deployed with its checksums, which the server checks itself, and nothing else is
    written. Asked once: the second file sends no such delete."""
    server.no_overwrite = True  # a user without the Delete permission
    files = {}
    for name in ("a.bin", "b.bin"):
        files[name] = os.urandom(2 * SEND_BLOCK)
        (tmp_path / name).write_bytes(files[name])
    with caplog.at_level(logging.WARNING, logger="fsartifacts"):
        for name, data in files.items():
            with open(tmp_path / name, "rb") as src:
                assert fs.put_file_hashing(src, f"{repo}/{name}", mode="create") == digests_of(data)
            puts = requests_to(server, "PUT", name)
            assert all(r.path.endswith(f"/{repo}/{name}") for r in puts)
            assert (puts[-1].status, puts[-1].bytes_in) == (201, len(data))
            assert header(puts[-1], "X-Checksum-Sha256") == hashlib.sha256(data).hexdigest()
            assert fs.cat_file(f"{repo}/{name}") == data
    assert caplog.text == ""
    assert server.storage.children(repo, "") == [("a.bin", False), ("b.bin", False)]
    (asked,) = [r for r in server.requests if r.method == "DELETE"]
    assert asked.status == 403 and hidden_copy_of("a.bin").search(asked.path)


def test_put_file_hashing_hashes_first_once_the_server_refuses_a_delete(
    fs: ArtifactoryFileSystem,
    repo: str,
    server: ArtifactoryServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Credentials that lose the Delete permission between the question and the delete
    of a hidden copy cannot remove it (nor can the sweep with them): it stays, a warning
    says so, and from then on files are hashed first and deployed with their checksums,
    which the server checks itself, and no more copies are left."""
    refuse = lambda: setattr(server, "no_overwrite", True)  # noqa: E731
    server.faults.before_next(refuse, methods=("PUT",), path_contains=".part")
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(os.urandom(2 * SEND_BLOCK))
    data = os.urandom(2 * SEND_BLOCK)
    second.write_bytes(data)
    with open(first, "rb") as src, caplog.at_level(logging.WARNING, logger="fsartifacts"):
        fs.put_file_hashing(src, f"{repo}/a.bin")
    (warned,) = caplog.records
    assert "stays on the server" in warned.getMessage() and "\n" not in warned.getMessage()
    server.clear_requests()
    with open(second, "rb") as src:
        assert fs.put_file_hashing(src, f"{repo}/b.bin", mode="create") == digests_of(data)
    puts = requests_to(server, "PUT", "b.bin")
    assert all(r.path.endswith(f"/{repo}/b.bin") for r in puts)
    assert (puts[-1].status, puts[-1].bytes_in) == (201, len(data))
    assert header(puts[-1], "X-Checksum-Sha256") == hashlib.sha256(data).hexdigest()
    left = [name for name, _ in server.storage.children(repo, "")]
    assert [hidden_copy_of("a.bin").fullmatch(n) is not None for n in left] == [True, False, False]
    assert fs.cat_file(f"{repo}/b.bin") == data


class CreatesOnTheFirstBlock(Callback):
    """The progress of an upload: at its first block sent, ``create()`` runs (another
    writer creating the path while the upload is under way)."""

    def __init__(self, create: Callable[[], None]) -> None:
        super().__init__()
        self.create, self.created = create, False

    def relative_update(self, inc: int = 1) -> None:
        if not self.created:
            self.created = True
            self.create()
        super().relative_update(inc)


def test_put_file_create_refuses_a_path_another_writer_created_while_it_was_uploaded(
    fs: ArtifactoryFileSystem, repo: str, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """``mode="create"`` checks that the path is absent just before its content is
    published there, not only before the upload: another writer (its own filesystem and
    connections) that creates the path while a large file is on its way keeps it, the
    create is refused, and no hidden copy is left."""
    path = f"{repo}/raced.bin"
    other = make_fs(server.url)
    mine, theirs = os.urandom(2 * BIG), os.urandom(100)
    progress = CreatesOnTheFirstBlock(lambda: other.pipe_file(path, theirs, mode="create"))
    local = tmp_path / "mine.bin"
    local.write_bytes(mine)
    with pytest.raises(FileExistsError):
        fs.put_file(str(local), path, callback=progress, mode="create")
    assert progress.created
    assert fs.cat_file(path) == theirs
    assert server.storage.children(repo, "") == [("raced.bin", False)]  # no hidden copy
