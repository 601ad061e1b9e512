"""A ranged pull whose range fails while another range still waits for the server's first
answer (real processes, the local Artifactory server and moto behind a proxy).

Such a request has no response yet that a stop could close under it: only the server's
answer or the transfer's timeout ends it. The server holds it here (:class:`ServerHold`)
for longer than the test waits for the command, and the transfer timeout is longer
still, so only a pull that does not wait for it ends while it is held.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_ranged_pulls import SIZE, artifactory_config, project, pushed
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.stops import refuse_next_get, run_while_held

NAME = "model_v1.0.0.bin"
ENV = {"FSARTIFACTS_TIMEOUT": "600"}
S3 = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"


def consumer_of(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> ServerHold:
    """The file pushed (random bytes of SIZE) and tmp_path/consumer set up to pull it; a
    hold of the first GET of its bytes (not entered yet), on the server that answers it."""
    if kind == "artifactory":
        repo: ArtifactoryRepo = request.getfixturevalue("artifactory_repo")
        store = artifactory_config(repo)
        pushed(tmp_path, store, os.urandom(SIZE))
        project(tmp_path / "consumer", store)
        return ServerHold(repo.server, NAME)
    moto, bucket = request.getfixturevalue("moto_server"), request.getfixturevalue("bucket")
    proxy: FaultProxy = request.getfixturevalue("proxy")
    pushed(tmp_path, S3.format(bucket=bucket, url=moto), os.urandom(SIZE))
    project(tmp_path / "consumer", S3.format(bucket=bucket, url=proxy.url))
    return ServerHold(proxy, NAME)


@pytest.mark.parametrize("kind", ["artifactory", "s3"])
def test_a_range_refused_for_good_ends_the_pull_while_another_waits_for_its_answer(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    hold = consumer_of(tmp_path, kind, request)
    root = tmp_path / "consumer"
    dest = root / NAME
    dest.write_bytes(b"the copy that was there")
    # The first range asked is held before the server answers it; the next one is
    # refused (403: another try cannot help), so the file fails for good at once.
    refuse_next_get(hold, NAME)
    code, out, err = run_while_held(hold, "pull", "model", "1.0.0", cwd=root, env=ENV)
    assert code == 1, out + err
    assert "403" in err or "denied" in err.lower(), err
    assert "Traceback" not in err
    assert dest.read_bytes() == b"the copy that was there"


def test_a_retry_of_the_file_does_not_wait_for_a_range_its_first_try_left_waiting(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    hold = consumer_of(tmp_path, "artifactory", request)
    root = tmp_path / "consumer"
    data = (tmp_path / "producer" / "model.bin").read_bytes()
    # The first range asked is held; the next one is cut short, a failure another try may
    # mend: the file is tried again, its ranges taking their slots of -j 2 while the
    # first try's held range is still in flight.
    hold.faults.truncate_next(1000, path_contains=NAME)
    code, out, err = run_while_held(hold, "pull", "model", "1.0.0", "-j", "2", cwd=root, env=ENV)
    assert code == 0, out + err
    assert (root / NAME).read_bytes() == data
    assert sorted(p.name for p in root.iterdir()) == ["fsartifacts.lock", "fsartifacts.yaml", NAME]
