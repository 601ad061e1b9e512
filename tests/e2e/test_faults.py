"""The fault matrix: no fault loses or corrupts data, on Artifactory and on S3.

Each cell pushes or pulls one 1.25 MiB artifact through the Python API with
``FSARTIFACTS_ATTEMPTS=3`` while one fault is armed: on the local Artifactory
server through its own fault switches, on S3 through
:class:`tests.fixtures.fault_proxy.FaultProxy` in front of moto. Every cell asserts
its outcome, how many requests the faulty step took ("tries": at most ``attempts``,
never multiplied across layers), and the state of both sides:
the local file byte for byte (and untouched by a failed pull), no temporary
left beside it, the remote holding the right bytes or, after a failure, what
it held before (never a partial object).

======================  ================  ==========================================
cell                    outcome (tries)   what happens
======================  ================  ==========================================
artifactory push 5xx    pushed (3 PUT)    the 503 hits the checksum deploy; the upload
                                          loop retries it (404: content unknown), then
                                          the full PUT
artifactory push 429    pushed (3 PUT)    the same, after the Retry-After
artifactory push drop   pushed (3 PUT)    reset after 100 kB of the body: nothing is
                                          stored; the file is reopened and sent again
artifactory push trunc  pushed (3 PUT)    [#]_ the server gets 100 kB then end of
                                          stream, stores nothing; the client sees the
                                          connection closed and sends it again
artifactory push bad    failed (2 PUT)    rejected by the store: our X-Checksum-*
                        IntegrityError    headers make it answer 409, nothing stored
artifactory push slow   failed (2 GET)    the existence check before the upload times
                        TransferError     out twice (urllib3): an unanswered request is
                                          tried at most twice; "after 2 tries"
artifactory pull 5xx    pulled (2 GET)    urllib3 retries the GET
artifactory pull 429    pulled (2 GET)    urllib3 retries after the Retry-After
artifactory pull drop   pulled (2 GET)    the engine downloads the whole file again
artifactory pull trunc  pulled (2 GET)    the engine downloads the whole file again
artifactory pull bad    pulled (2 GET)    the engine's sha256 of the received bytes is
                                          not the recorded one: IntegrityError, the
                                          engine downloads it again
artifactory pull slow   failed (2 GET)    urllib3 tries twice; the engine adds none
                        TransferError
s3 push 5xx             pushed (2 PUT)    botocore retries the PutObject
s3 push 429             pushed (2 PUT)    botocore retries (SlowDown is a throttle)
s3 push drop            pushed (2 PUT)    moto stores nothing of the cut body (the
                                          retry's If-None-Match: * succeeds)
s3 push trunc           pushed (2 PUT)    the same, with an orderly close
s3 push bad             failed (1 PUT)    moto stores the corrupted bytes (it does not
                        IntegrityError    check the CRC32 botocore sends); the single-
                                          part ETag check sees the MD5 differ, deletes
                                          the object (If-Match) and fails the push
s3 push slow            failed (2 PUT)    botocore read timeouts; "after 2 tries"
                        TransferError
s3 pull 5xx             pulled (2 GET)    botocore retries the GetObject
s3 pull 429             pulled (2 GET)    botocore retries the GetObject
s3 pull drop            pulled (2 GET)    S3Ops resumes with a ranged GET pinned to
                                          the ETag (from the last whole 1 MiB block)
s3 pull trunc           pulled (2 GET)    the same
s3 pull bad             pulled (2 GET)    botocore's CRC32 check of the response fails
                                          (IntegrityError); the engine downloads again
s3 pull slow            failed (2 GET)    botocore read timeouts; "after 2 tries"
                        TransferError
======================  ================  ==========================================

.. [#] The Artifactory server has no switch that cuts an upload short with an
   orderly close, so this one cell puts the fault proxy in front of it.

"slow" is slower than the timeout from the moment the transfer starts, however slow the
machine: on S3 the proxy holds the object's GET or PUT (and forwards nothing once
closed), on Artifactory the server holds the artifact's requests until the cell has
seen the client give up. Only those cells set the short ``TIMEOUT``; every other cell
gives each request ``PATIENT`` seconds, so that an answer slowed by a loaded machine is
never a timeout and a retry more than the fault caused. A corrupted upload that no
store check sees (a multipart upload to moto, whose ETag is no MD5) is caught by the
next pull: see
:func:`test_a_corrupted_multipart_upload_is_caught_by_the_next_pull`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import pytest

from fsartifacts import Project
from fsartifacts.artifactoryfs.upload import CHECKSUM_DEPLOY_MIN
from fsartifacts.atomic import TEMP_MARKER
from fsartifacts.errors import FsArtifactsError, IntegrityError, TransferError
from fsartifacts.sizes import MiB
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.fault_proxy import FaultProxy, artifactory_content_request

ATTEMPTS = 3
TIMEOUT = 0.5  # the "slow" cells only: their requests are never answered before it
PATIENT = 60.0  # every other cell: no answer on a loaded machine comes this late
SIZE = CHECKSUM_DEPLOY_MIN + 256 * 1024  # large enough that an Artifactory push probes first
CUT = 100_000  # bytes of content before a drop or a truncation; also the corrupted offset
HOLD = 30.0  # slow requests: longer than any test, cut short when the cell settles
UNANSWERED = 2  # tries of a request that gets no answer (urllib3 and botocore alike)
SETTLE = 10.0  # how long a cell waits for the requests it released to be logged
ALWAYS = 100  # "always": more failures than any number of tries
NAME = "model_v1.0.0.pkl"
OLD_NAME = "model_v0.9.0.pkl"
FOLDER = "team/models"


def is_the_artifact(path: str) -> bool:
    """A request for the artifact's copy itself, not for an object recorded beside it
    (its provenance, ``.model_v1.0.0.pkl.fsartifacts-provenance.json``, holds its name too)."""
    return unquote(path).partition("?")[0].rstrip("/").rpartition("/")[2] == NAME


def is_its_upload(path: str) -> bool:
    """A request for the hidden copy an Artifactory push sends the artifact to, published
    at its name once there (``.model_v1.0.0.pkl.fsartifacts-XXXXXXXXXXXX.part``)."""
    name = unquote(path).partition("?")[0].rstrip("/").rpartition("/")[2]
    return re.fullmatch(rf"\.{re.escape(NAME)}\.fsartifacts-[0-9a-f]{{12}}\.part", name) is not None


def copies(files: dict[str, bytes]) -> dict[str, bytes]:
    """The store's copies, without the hidden objects recorded beside them."""
    return {name: data for name, data in files.items() if not name.startswith(".")}


FAULTS = ("5xx_once", "429_retry_after", "dropped_mid_body", "truncated_body",
          "corrupted_byte", "slower_than_timeout")  # fmt: skip


@dataclass(frozen=True)
class Expect:
    """A cell's outcome: ``tries`` requests of ``method`` for the artifact; ``error`` on failure."""

    tries: int
    error: str | None = None  # a regex of the failure message; None: the operation succeeds
    kind: type[FsArtifactsError] = TransferError  # the typed error of a failure
    method: str | None = None  # what is counted; default GET for pull, PUT for push
    caught_by: str = ""  # for a corrupted upload: which check saw it

    @property
    def ok(self) -> bool:
        return self.error is None


RETRIED_PULL = Expect(tries=2)
TIMED_OUT = r"timed out|did not answer in time"
# An Artifactory push of a file that must not replace another is a checksum probe, then
# the upload's tries to a hidden copy, then the publish at its name: a retried one is 4.
EXPECTED: dict[tuple[str, str, str], Expect] = {
    ("artifactory", "push", "5xx_once"): Expect(tries=4),
    ("artifactory", "push", "429_retry_after"): Expect(tries=4),
    ("artifactory", "push", "dropped_mid_body"): Expect(tries=4),
    ("artifactory", "push", "truncated_body"): Expect(tries=4),
    ("artifactory", "push", "corrupted_byte"): Expect(
        tries=2,
        error=r"HTTP 409.*Checksum.*Nothing was stored",
        kind=IntegrityError,
        caught_by="rejected_409",
    ),
    ("artifactory", "push", "slower_than_timeout"): Expect(
        tries=2, error=rf"({TIMED_OUT}).*after 2 tries", method="GET"
    ),
    ("artifactory", "pull", "5xx_once"): RETRIED_PULL,
    ("artifactory", "pull", "429_retry_after"): RETRIED_PULL,
    ("artifactory", "pull", "dropped_mid_body"): RETRIED_PULL,
    ("artifactory", "pull", "truncated_body"): RETRIED_PULL,
    ("artifactory", "pull", "corrupted_byte"): RETRIED_PULL,
    ("artifactory", "pull", "slower_than_timeout"): Expect(
        tries=2, error=rf"({TIMED_OUT}).*after 2 tries"
    ),
    ("s3", "push", "5xx_once"): Expect(tries=2),
    ("s3", "push", "429_retry_after"): Expect(tries=2),
    ("s3", "push", "dropped_mid_body"): Expect(tries=2),
    ("s3", "push", "truncated_body"): Expect(tries=2),
    ("s3", "push", "corrupted_byte"): Expect(
        tries=1,
        error=r"corrupted on the way; the bad object was deleted",
        kind=IntegrityError,
        caught_by="etag_check",
    ),
    ("s3", "push", "slower_than_timeout"): Expect(tries=2, error=rf"({TIMED_OUT}).*after 2 tries"),
    ("s3", "pull", "5xx_once"): RETRIED_PULL,
    ("s3", "pull", "429_retry_after"): RETRIED_PULL,
    ("s3", "pull", "dropped_mid_body"): RETRIED_PULL,
    ("s3", "pull", "truncated_body"): RETRIED_PULL,
    ("s3", "pull", "corrupted_byte"): RETRIED_PULL,
    ("s3", "pull", "slower_than_timeout"): Expect(tries=2, error=rf"({TIMED_OUT}).*after 2 tries"),
}


def cell_id(store: str, op: str, fault: str) -> str:
    caught = EXPECTED[store, op, fault].caught_by
    return f"{store}-{op}-{fault}" + (f"-{caught}" if caught else "")


CELLS = [
    pytest.param(store, op, fault, id=cell_id(store, op, fault))
    for store in ("artifactory", "s3")
    for op in ("push", "pull")
    for fault in FAULTS
]


# -- the two sides ------------------------------------------------------------------


class Side(Protocol):
    """A store as a cell drives it: its config, its fault switches, what it holds."""

    def config(self) -> str: ...
    def arm(self, fault: str, method: str) -> None: ...
    def seed(self, name: str, data: bytes) -> None: ...
    def files(self) -> dict[str, bytes]: ...
    def tries(self, method: str) -> int: ...
    def clear(self) -> None: ...
    def settle(self, done: Callable[[], bool]) -> None: ...
    def pending(self) -> int: ...


class ArtifactorySide:
    """A fresh repository on the shared local Artifactory server, faults by its switches."""

    def __init__(self, repo: ArtifactoryRepo, proxy: FaultProxy | None = None) -> None:
        from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

        self.server: ArtifactoryServer = repo.server
        self.repo = repo.name
        self.root = f"{repo.name}/{FOLDER}"
        self.proxy = proxy  # only for the fault the server has no switch for
        self.url = f"{proxy.url}/artifactory" if proxy else repo.url
        self.fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)  # no faults
        self.release = threading.Event()  # ends the "slow" fault's hold
        self.holding = False

    def config(self) -> str:
        return (
            f"  artifactory:\n    url: {self.url}\n    repo: {self.repo}\n    path: {FOLDER}\n"
            "    auth: {authType: none}\n"
        )

    def arm(self, fault: str, method: str) -> None:
        faults, methods = self.server.faults, [method]
        if fault == "5xx_once":
            faults.fail_next(1, status=503, methods=methods, path_contains=NAME)
        elif fault == "503_always":
            faults.fail_next(ALWAYS, status=503, methods=methods, path_contains=NAME)
        elif fault == "429_retry_after":
            faults.fail_next(1, status=429, retry_after=0.05, methods=methods, path_contains=NAME)
        elif fault == "dropped_mid_body":
            faults.drop_after(CUT, methods=methods, path_contains=NAME)
        elif fault == "truncated_body" and method == "PUT":
            assert self.proxy is not None
            self.proxy.truncate_next(CUT, methods=methods, path_contains=NAME)
        elif fault == "truncated_body":
            faults.truncate_next(CUT, methods=methods, path_contains=NAME)
        elif fault == "corrupted_byte":
            faults.corrupt_next(offset=CUT, methods=methods, path_contains=NAME)
        elif fault == "slower_than_timeout":
            # The artifact's first requests, whatever their method (a push's existence check
            # comes before its PUT), wait until the client gave up: no answer can come in
            # time however the machine is loaded. Only as many as are expected are held, so
            # a try more would be answered, and counted.
            self.holding = True
            faults.before_next(
                lambda: self.release.wait(HOLD), count=UNANSWERED, path_contains=NAME
            )
        else:
            raise ValueError(f"no such fault: {fault}")

    def seed(self, name: str, data: bytes) -> None:
        """Store ``data`` as an fsartifacts push does: the server keeps its checksums."""
        self.fs.pipe_file(f"{self.root}/{name}", data)

    def files(self) -> dict[str, bytes]:
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self.root)
        except FileNotFoundError:
            return {}
        return {path.rpartition("/")[2]: bytes(self.fs.cat_file(path)) for path in found}

    def _requests(self) -> list[Any]:
        return [r for r in self.server.requests if f"/{self.repo}/" in unquote(r.path)]

    def tries(self, method: str) -> int:
        ours = (r for r in self._requests() if r.method == method)
        return sum(1 for r in ours if is_the_artifact(r.path) or is_its_upload(r.path))

    def content_requests(self) -> list[Any]:
        """Requests for this repository's files themselves (not the REST API)."""
        return [r for r in self._requests() if not r.path.startswith("/artifactory/api/")]

    def clear(self) -> None:
        self.server.clear_requests()
        if self.proxy:
            self.proxy.reset()

    def settle(self, done: Callable[[], bool]) -> None:
        """Faults off, held requests released; wait (bounded) for ``done``: the server logs
        a request only once it answers it, which for a held one is after the client gave up."""
        self.release.set()
        self.server.faults.reset()
        if self.proxy:
            self.proxy.close()
        deadline = time.monotonic() + SETTLE
        while self.holding and not done() and time.monotonic() < deadline:
            time.sleep(0.05)

    def pending(self) -> int:
        return self.server.faults.pending() + (self.proxy.pending() if self.proxy else 0)


class S3Side:
    """A fresh bucket on the shared moto server, reached through a fault proxy."""

    def __init__(self, client: Any, proxy: FaultProxy) -> None:
        self.client = client
        self.bucket = f"fault-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=self.bucket)
        self.proxy = proxy

    def config(self) -> str:
        return (
            f"  s3:\n    bucket: {self.bucket}/{FOLDER}\n    region: us-east-1\n"
            f"    endpoint_url: {self.proxy.url}\n"
        )

    def arm(self, fault: str, method: str) -> None:
        proxy, methods = self.proxy, [method]
        if fault == "5xx_once":
            proxy.fail_next(
                1, status=503, code="ServiceUnavailable", methods=methods, path_contains=NAME
            )
        elif fault == "503_always":
            proxy.fail_next(
                ALWAYS, status=503, code="ServiceUnavailable", methods=methods, path_contains=NAME
            )
        elif fault == "429_retry_after":
            proxy.fail_next(
                1,
                status=429,
                retry_after=0.05,
                code="SlowDown",
                methods=methods,
                path_contains=NAME,
            )
        elif fault == "dropped_mid_body":
            proxy.drop_after(CUT, methods=methods, path_contains=NAME)
        elif fault == "truncated_body":
            proxy.truncate_next(CUT, methods=methods, path_contains=NAME)
        elif fault == "corrupted_byte":
            proxy.corrupt_next(offset=CUT, methods=methods, path_contains=NAME)
        elif fault == "slower_than_timeout":
            proxy.slow(HOLD, methods=methods, path_contains=NAME)
        else:
            raise ValueError(f"no such fault: {fault}")

    def seed(self, name: str, data: bytes) -> None:
        """Store ``data`` as S3Ops does: sha256 in the metadata, botocore's CRC32 checksum."""
        sha256 = hashlib.sha256(data).hexdigest()
        key = f"{FOLDER}/{name}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata={"sha256": sha256})

    def files(self) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        assert self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []) == []
        return {
            item["Key"].rpartition("/")[2]: self.client.get_object(
                Bucket=self.bucket, Key=item["Key"]
            )["Body"].read()
            for item in listed
        }

    def recorded_sha256(self, name: str) -> str:
        head = self.client.head_object(Bucket=self.bucket, Key=f"{FOLDER}/{name}")
        return str(head["Metadata"].get("sha256"))

    def tries(self, method: str) -> int:
        return sum(1 for r in self.proxy.content_requests(method) if is_the_artifact(r.path))

    def clear(self) -> None:
        self.proxy.reset()

    def settle(self, done: Callable[[], bool]) -> None:
        """Requests the proxy still holds are cut, never forwarded; the rest are answered."""
        self.proxy.close()

    def pending(self) -> int:
        return self.proxy.pending()


@pytest.fixture
def side_for(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[str, str, str], Side]]:
    """``side_for(store, op, fault)``: the store of one cell; its proxies close afterwards."""
    proxies: list[FaultProxy] = []

    def make(store: str, op: str, fault: str) -> Side:
        if store == "artifactory":
            repo = request.getfixturevalue("artifactory_repo")
            proxy = None
            if fault == "truncated_body" and op == "push":
                upstream = repo.server.url.removesuffix("/artifactory")
                proxy = FaultProxy(upstream, is_content=artifactory_content_request)
                proxies.append(proxy)
            return ArtifactorySide(repo, proxy)
        proxy = FaultProxy(request.getfixturevalue("moto_server"))
        proxies.append(proxy)
        return S3Side(request.getfixturevalue("s3_client"), proxy)

    yield make
    for proxy in proxies:
        proxy.close()


# -- projects -----------------------------------------------------------------------


def environ(tmp_path: Path, timeout: float = PATIENT) -> dict[str, str]:
    """The process environment without the developer's FSARTIFACTS_*/ARTIFACTORY_*, plus ours."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("FSARTIFACTS_", "ARTIFACTORY_"))
    }
    return {
        **base,
        "FSARTIFACTS_ATTEMPTS": str(ATTEMPTS),
        "FSARTIFACTS_TIMEOUT": str(timeout),
        "FSARTIFACTS_JOBS": "1",
        "FSARTIFACTS_CACHE_DIR": str(tmp_path / "hash-cache"),
    }


def make_project(root: Path, side: Side) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fsartifacts.yaml").write_text(
        f"version: 1.0.0\nrepository:\n{side.config()}  artifacts:\n"
        "    - name: model\n      file: model.pkl\n"
    )
    return root


def load(root: Path, tmp_path: Path, timeout: float = PATIENT) -> Project:
    return Project.load(start=root, environ=environ(tmp_path, timeout))


def leftovers(folder: Path) -> list[str]:
    """Temporaries of fsartifacts below ``folder``."""
    return sorted(p.name for p in folder.rglob("*") if TEMP_MARKER in p.name)


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        stat = path.stat()
        return cls(path.read_bytes(), stat.st_mtime_ns, stat.st_ino)


# -- the matrix ---------------------------------------------------------------------


@pytest.mark.parametrize(("store", "op", "fault"), CELLS)
def test_fault_matrix(
    store: str,
    op: str,
    fault: str,
    side_for: Callable[..., Side],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expect = EXPECTED[store, op, fault]
    caplog.set_level(logging.DEBUG, logger="fsartifacts")
    side = side_for(store, op, fault)
    root = make_project(tmp_path / "project", side)
    new = os.urandom(SIZE)  # unique, so no checksum deploy finds it on the server
    side.seed(OLD_NAME, os.urandom(SIZE - 1000))
    if op == "pull":
        side.seed(NAME, new)
        (root / NAME).write_bytes(b"the local copy, which a failed pull must leave alone\n")
    else:
        (root / "model.pkl").write_bytes(new)
    local = root / (NAME if op == "pull" else "model.pkl")
    before_local = Snapshot.of(local)
    before_remote = side.files()
    side.clear()

    project = load(root, tmp_path, TIMEOUT if fault == "slower_than_timeout" else PATIENT)
    side.arm(fault, "GET" if op == "pull" else "PUT")
    results = project.pull("model", "1.0.0") if op == "pull" else project.push("model")
    unfired = side.pending()
    counted = expect.method or ("GET" if op == "pull" else "PUT")
    side.settle(lambda: side.tries(counted) >= expect.tries)

    (result,) = results
    assert unfired == 0, "the fault never fired"
    assert side.tries(counted) == expect.tries
    assert leftovers(root) == []
    after_remote = side.files()
    if expect.ok:
        assert (result.action, result.exit_code, result.error) == (
            "pulled" if op == "pull" else "pushed", 0, None,
        )  # fmt: skip
        assert result.sha256 == hashlib.sha256(new).hexdigest()
        assert (root / NAME if op == "pull" else local).read_bytes() == new
        assert copies(after_remote) == {**copies(before_remote), NAME: new}
        if isinstance(side, S3Side):
            assert side.recorded_sha256(NAME) == hashlib.sha256(new).hexdigest()
    else:
        assert (result.action, result.exit_code) == ("failed", 1)
        assert result.error is not None
        assert expect.error is not None
        assert_matches(expect.error, result.error)
        error = raised(caplog, project)
        assert type(error) is expect.kind and str(error) == result.error
        assert after_remote == before_remote  # the old copy, or nothing: never a partial one
    if op == "push" or not expect.ok:
        assert Snapshot.of(local) == before_local  # untouched: same bytes, same file
    if op == "pull" and not expect.ok:
        assert not (root / "fsartifacts.lock").exists()


def raised(caplog: pytest.LogCaptureFixture, project: Project) -> FsArtifactsError:
    """The typed error behind the one failed result (the engine logs what it caught)."""
    (record,) = [r for r in caplog.records if r.name == "fsartifacts" and r.exc_info]
    assert record.exc_info is not None and record.exc_info[1] is not None
    return project.engine.translate(record.exc_info[1], "model")


def assert_matches(pattern: str, text: str) -> None:
    assert re.search(pattern, text, re.DOTALL), f"{pattern!r} not in {text!r}"


# -- attempts are a bound on each request, not a factor per layer --------------------


@pytest.mark.parametrize("op", ["push", "pull"])
@pytest.mark.parametrize("store", ["artifactory", "s3"])
def test_a_server_that_always_fails_gets_attempts_tries_not_more(
    store: str,
    op: str,
    side_for: Callable[..., Side],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """urllib3 or botocore try each request ``attempts`` times; neither the upload loop
    nor the engine's whole-file retry adds tries on top, and the error says how many."""
    caplog.set_level(logging.DEBUG, logger="fsartifacts")
    side = side_for(store, op, "503_always")
    root = make_project(tmp_path / "project", side)
    side.seed(OLD_NAME, os.urandom(SIZE - 1000))
    if op == "pull":
        side.seed(NAME, os.urandom(SIZE))
        (root / NAME).write_bytes(b"the local copy\n")
    else:
        (root / "model.pkl").write_bytes(os.urandom(SIZE))
    local = root / (NAME if op == "pull" else "model.pkl")
    before_local, before_remote = Snapshot.of(local), side.files()
    side.clear()

    project = load(root, tmp_path)
    side.arm("503_always", "GET" if op == "pull" else "PUT")
    (result,) = project.pull("model", "1.0.0") if op == "pull" else project.push("model")
    side.settle(lambda: True)

    assert side.tries("GET" if op == "pull" else "PUT") == ATTEMPTS
    assert (result.action, result.exit_code) == ("failed", 1)
    assert result.error is not None
    assert_matches(rf"503.*after {ATTEMPTS} tries", result.error)
    assert isinstance(raised(caplog, project), TransferError)
    assert NAME.removesuffix(".pkl") in result.error  # names what failed
    assert Snapshot.of(local) == before_local
    assert side.files() == before_remote
    assert leftovers(root) == []


# -- sync pull of an up-to-date project moves no artifact bytes ----------------------


def test_sync_pull_up_to_date_reads_no_artifact_content_from_artifactory(
    side_for: Callable[..., Side], tmp_path: Path
) -> None:
    side = side_for("artifactory", "pull", "none")
    assert isinstance(side, ArtifactorySide)
    root = make_project(tmp_path / "project", side)
    side.seed(OLD_NAME, os.urandom(SIZE - 1000))
    side.seed(NAME, os.urandom(SIZE))
    (first,) = load(root, tmp_path).pull("model", "LATEST")
    assert first.action == "pulled"
    downloads = [r for r in side.content_requests() if r.method == "GET"]
    assert [r.bytes_out for r in downloads] == [SIZE]  # the log sees a download when there is one
    side.clear()

    (again,) = load(root, tmp_path).sync_pull()

    assert (again.action, again.detail, again.version) == ("skipped", "up to date", "1.0.0")
    seen = side.content_requests()
    assert seen == [], seen  # no GET (or HEAD) of a file, let alone its bytes
    assert sum(r.bytes_out for r in seen) == 0
    assert side.tries("GET") == 0
    assert side.server.requests, "the request log recorded nothing at all"


def test_sync_pull_up_to_date_gets_no_object_bytes_from_s3(
    side_for: Callable[..., Side], tmp_path: Path
) -> None:
    side = side_for("s3", "pull", "none")
    assert isinstance(side, S3Side)
    root = make_project(tmp_path / "project", side)
    side.seed(OLD_NAME, os.urandom(SIZE - 1000))
    side.seed(NAME, os.urandom(SIZE))
    (first,) = load(root, tmp_path).pull("model", "LATEST")
    assert first.action == "pulled"
    gets = side.proxy.content_requests("GET")
    assert [r.bytes_out for r in gets] == [SIZE]  # the proxy sees a GetObject when there is one
    side.clear()

    (again,) = load(root, tmp_path).sync_pull()

    assert (again.action, again.detail, again.version) == ("skipped", "up to date", "1.0.0")
    assert side.proxy.content_requests("GET") == []  # no GetObject at all
    assert sum(r.bytes_out for r in side.proxy.requests if r.content) == 0
    assert side.proxy.requests, "the proxy saw no request: it is not in the way"


# -- a corrupted upload no store check sees ---------------------------------------------


def test_a_corrupted_multipart_upload_is_caught_by_the_next_pull(
    side_for: Callable[..., Side], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """moto keeps a part whose bytes were changed on the way (real S3 would refuse it by
    its CRC32), and a multipart ETag is no MD5: the push cannot tell. The sha256 recorded
    with the object can: the next pull refuses the copy, as damaged once a retry gets the same
    bytes, and leaves the local file alone."""
    side = side_for("s3", "push", "corrupted_byte")
    assert isinstance(side, S3Side)
    root = make_project(tmp_path / "producer", side)
    data = os.urandom(10 * MiB + 1)  # two parts of 5 MiB and a byte: a multipart upload
    (root / "model.pkl").write_bytes(data)
    side.proxy.corrupt_next(offset=CUT, methods=["PUT"], path_contains=NAME)
    env = {**environ(tmp_path), "FSARTIFACTS_PART_SIZE": "5MiB"}
    (pushed,) = Project.load(start=root, environ=env).push("model")

    assert side.proxy.pending() == 0
    assert any("uploadId" in r.path and r.fault == "corrupt" for r in side.proxy.requests)
    assert pushed.action == "pushed"  # nothing on the way could see it
    stored = side.files()[NAME]
    assert len(stored) == len(data) and stored != data

    consumer = make_project(tmp_path / "consumer", side)
    (consumer / NAME).write_bytes(b"the local copy\n")
    before = Snapshot.of(consumer / NAME)
    caplog.set_level(logging.DEBUG, logger="fsartifacts")
    pulling = load(consumer, tmp_path)
    (pulled,) = pulling.pull("model", "1.0.0")
    assert (pulled.action, pulled.exit_code) == ("failed", 1)
    assert pulled.error is not None
    # The same wrong bytes twice: damaged on the store, given up after one retry.
    assert_matches(
        r"the copy on the store is damaged \(sha256 [0-9a-f]{64}, recorded [0-9a-f]{64}\): "
        r"push it again",
        pulled.error,
    )
    assert isinstance(raised(caplog, pulling), IntegrityError)
    assert Snapshot.of(consumer / NAME) == before
    assert leftovers(consumer) == []
