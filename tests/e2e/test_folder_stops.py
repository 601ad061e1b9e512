"""A folder pull whose member fails for good while another member's request still waits
for the server's first answer (real processes, the local Artifactory server and moto
behind a proxy).

That request has no response yet that the folder's stop could close under it: only the
server's answer or the transfer's timeout ends it. The server holds it here
(:class:`ServerHold`) for longer than the test waits for the command, and the transfer
timeout is longer still, so only a pull that does not wait for it ends while it is held.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_ranged_pulls import artifactory_config, pushed_folder
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.stops import refuse_next_get, run_while_held

ENV = {"FSARTIFACTS_TIMEOUT": "600"}
S3 = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"
FILES = {"held.bin": os.urandom(5000), "refused.bin": os.urandom(5000), "other.bin": b"x" * 300}


def consumer_of(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> ServerHold:
    """FILES pushed as the folder ``weights`` and tmp_path/consumer set up to pull it (from
    the proxy before moto, for S3); a hold of the GET of held.bin (not entered yet), on
    the server that answers it."""
    if kind == "artifactory":
        repo: ArtifactoryRepo = request.getfixturevalue("artifactory_repo")
        pushed_folder(tmp_path, artifactory_config(repo), FILES, jobs=4)
        return ServerHold(repo.server, "held.bin")
    moto, bucket = request.getfixturevalue("moto_server"), request.getfixturevalue("bucket")
    proxy: FaultProxy = request.getfixturevalue("proxy")
    pushed_folder(tmp_path, S3.format(bucket=bucket, url=moto), FILES, jobs=4)
    consumer = tmp_path / "consumer" / "fsartifacts.yaml"
    consumer.write_text(consumer.read_text().replace(moto, proxy.url))
    return ServerHold(proxy, "held.bin")


@pytest.mark.parametrize("kind", ["artifactory", "s3"])
def test_a_member_refused_for_good_ends_the_folder_pull_while_another_waits_for_its_answer(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    hold = consumer_of(tmp_path, kind, request)
    root = tmp_path / "consumer"
    (root / "weights").mkdir()
    (root / "weights" / "old.txt").write_bytes(b"the copy that was there")
    before = sorted(p.name for p in root.iterdir())
    # held.bin is held before the server answers it; refused.bin is refused (403: another
    # try cannot help), so the folder fails for good at once.
    refuse_next_get(hold, "refused.bin")
    code, out, err = run_while_held(hold, "pull", "weights", "1.0.0", cwd=root, env=ENV)
    assert code == 1, out + err
    assert "refused.bin" in err and ("403" in err or "denied" in err.lower()), err
    assert "Traceback" not in err
    # The old copy as it was, and nothing staged left beside it.
    assert sorted(p.name for p in (root / "weights").iterdir()) == ["old.txt"]
    assert (root / "weights" / "old.txt").read_bytes() == b"the copy that was there"
    assert sorted(p.name for p in root.iterdir()) == before
