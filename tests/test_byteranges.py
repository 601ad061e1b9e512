"""The one rule every store's ranged read follows: the answer is the range asked, or the
ranges are not served (the whole file: read it in one stream), or the file is shorter
than the range (a TransferError naming it); on the local Artifactory server and on moto.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.byteranges import NOT_SERVED, SHORT, content_range, range_problem
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import RangesNotServed, TransferError
from fsartifacts.stores.artifactory.ops import ArtifactoryOps
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.testing.faults import Faults
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.fault_proxy import FaultProxy

DATA = os.urandom(10_000)


@pytest.mark.parametrize(
    ("status", "header", "kind"),
    [
        (206, "bytes 100-199/10000", None),
        (200, None, NOT_SERVED),
        (206, None, NOT_SERVED),
        (206, "bytes 0-199/10000", NOT_SERVED),
        (206, "bytes 100-299/10000", NOT_SERVED),
        (206, "bytes 100-149/150", SHORT),
        # Fewer bytes than asked of a file that goes on (a server capping its ranges):
        # the file did not change, its ranges are not served as asked.
        (206, "bytes 100-149/10000", NOT_SERVED),
        (416, "bytes */50", SHORT),
    ],
)
def test_what_an_answer_to_a_ranged_get_is(status: int, header: str | None, kind: str) -> None:
    problem = range_problem(100, 200, status, header)
    assert (problem.kind if problem else None) == kind


def test_a_read_that_may_run_past_the_end_stops_at_it() -> None:
    assert range_problem(100, 500, 206, "bytes 100-149/150", may_end_early=True) is None
    assert range_problem(100, None, 206, "bytes 100-149/150", may_end_early=True) is None
    assert range_problem(100, None, 206, "bytes 100-120/150", may_end_early=True).kind == SHORT
    assert content_range("bytes 1-2/*") == (1, 2, None)
    assert content_range("items 1-2/3") is None


@pytest.fixture(params=["artifactory", "s3"])
def stored(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[StoreOps, str, Faults]]:
    """A store's ops, the path of DATA on it, and the switches of the server it talks to."""
    if request.param == "artifactory":
        repo: ArtifactoryRepo = request.getfixturevalue("artifactory_repo")
        fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
        fs.pipe_file(f"{repo.name}/data.bin", DATA)
        yield ArtifactoryOps(fs), f"{repo.name}/data.bin", repo.server.faults
        return
    bucket: str = request.getfixturevalue("bucket")
    proxy = FaultProxy(request.getfixturevalue("moto_server"))
    try:
        settings = S3Settings(bucket=bucket, endpoint_url=proxy.url, region="us-east-1")
        store = open_s3_store(settings, TransferSettings(attempts=1))
        store.fs.pipe_file(f"{bucket}/data.bin", DATA)
        yield store.ops, f"{bucket}/data.bin", proxy
    finally:
        proxy.close()


def test_a_range_arrives_whole(stored: tuple[StoreOps, str, Faults]) -> None:
    ops, path, _ = stored
    out = io.BytesIO()
    ops.read_range(path, 1000, 3000, out, revision=None)
    assert out.getvalue() == DATA[1000:3000]


@pytest.mark.parametrize(("start", "end"), [(9000, 11_000), (10_000, 10_100)])
def test_a_file_shorter_than_the_range_is_a_transfer_error_naming_it(
    stored: tuple[StoreOps, str, Faults], start: int, end: int
) -> None:
    ops, path, _ = stored
    out = io.BytesIO()
    with pytest.raises(TransferError, match=r"data\.bin is shorter than it was listed") as caught:
        ops.read_range(path, start, end, out, revision=None)
    assert not isinstance(caught.value, RangesNotServed)
    assert out.getvalue() == b""


def test_a_server_that_ignores_ranges_is_told_apart_and_nothing_is_written(
    stored: tuple[StoreOps, str, Faults],
) -> None:
    ops, path, faults = stored
    faults.ignore_ranges(count=1)
    out = io.BytesIO()
    with pytest.raises(RangesNotServed, match=r"data\.bin: the server sent the whole file"):
        ops.read_range(path, 1000, 3000, out, revision=None)
    assert out.getvalue() == b""
