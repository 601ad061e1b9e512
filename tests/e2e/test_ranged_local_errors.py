"""A write of a range that the local disk refuses (full, or past the size a process may
write) is a local failure naming the file and the way out, never a bare system error."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

from tests.e2e.test_ranged_pulls import SIZE, artifactory_config
from tests.e2e.test_resume import NAME, consumer, cut_short, push
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import BIN, command_env


def at_most_one_mib() -> None:
    """In the child: no file write past 1 MiB (EFBIG, as a full disk gives ENOSPC)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))


def test_a_range_the_disk_refuses_fails_with_one_line_naming_the_file(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    store = artifactory_config(artifactory_repo)
    push(tmp_path, store, os.urandom(SIZE))
    root = consumer(tmp_path, store)
    cut_short(artifactory_repo, root, cli=False)  # the resumed file is already full size
    run = subprocess.run(
        [str(BIN), "pull", "model", "1.0.0", "-j", "1"], cwd=root, env=command_env(root),
        capture_output=True, text=True, timeout=120, preexec_fn=at_most_one_mib,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "cannot write" in run.stderr and "Errno" not in run.stderr, run.stderr
    assert not (root / NAME).exists()
