"""A large pull killed part way (SIGKILL, at 60% of its bytes), then run again.

The figure is what the second run transfers, counted by the local Artifactory
server: the bytes of the file it sends during that run, over the file's size. A
pull that did not resume would transfer all of it again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from bench import Bench
from measure import MiB, drop_file, run_measured, write_random_file
from projects import ARTIFACTORY, fsartifacts_command, write_project
from remotes import large_remote
from servers import child_env
from table import Row, mib, times, verdict

KILLED_AT = 0.6  # of the file's bytes on disk (as its journal claims them)
TARGET = 0.45  # at most this share of the file transferred again
VERSION = "1.0.0"
REMOTE_NAME = f"big_v{VERSION}.bin"
JOURNAL = f".{REMOTE_NAME}.fsartifacts-partial.json"


def resume(bench: Bench) -> list[Row]:
    size = bench.large_size(ARTIFACTORY)
    bench.note(f"resume: {mib(size)} pull killed at {KILLED_AT:.0%}, then run again")
    remote = large_remote(bench, ARTIFACTORY, "resume")
    root = write_project(bench.scratch("resume-project"), remote.spec, [("big", "big.bin")],
                         VERSION)  # fmt: skip
    # A quick run's file is small: ranges of a 64th of it, so the kill lands mid-way.
    env = child_env({
        "FSARTIFACTS_CACHE_DIR": str(root.parent / "resume-cache"),
        "FSARTIFACTS_RANGED_FROM": str(min(size - 1, 64 * MiB)),  # ranges above it
        "FSARTIFACTS_RANGE_SIZE": str(max(MiB, min(16 * MiB, size // 64))),
    })  # fmt: skip
    write_random_file(root / "big.bin", size)
    try:
        remote.remove(REMOTE_NAME)
        run_measured([*fsartifacts_command(), "push", "big"], cwd=root, env=env)
        drop_file(root / "big.bin")
        kept = _killed_pull(root, env, size)
        server = bench.artifactory()
        server.clear_requests()
        again = run_measured([*fsartifacts_command(), "pull", "big", VERSION], cwd=root, env=env)
        sent = sum(r.bytes_out for r in server.requests() if r.method == "GET"
                   and r.path.endswith(REMOTE_NAME))  # fmt: skip
        bench.note(f"resume: the killed pull kept {mib(kept)}; the next sent {mib(sent)}")
    finally:
        remote.remove(REMOTE_NAME)
    share = sent / size
    return [
        Row(f"pull {mib(size)} file, killed at {KILLED_AT:.0%}, run again", ARTIFACTORY,
            "bytes the second run transfers", f"{share:.0%} ({mib(sent)}, "
            f"{again.wall:.1f} s)", f"a pull from the start: 100% ({mib(size)})",
            times(size / max(sent, 1)), f"<= {TARGET:.0%}", verdict(share <= TARGET)),
    ]  # fmt: skip


def _killed_pull(root: Path, env: dict[str, str], size: int) -> int:
    """Start a pull, SIGKILL it once its journal holds ``KILLED_AT`` of the file; what the
    journal holds then."""
    child = subprocess.Popen([*fsartifacts_command(), "pull", "big", VERSION], cwd=root, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 1800
        while _held(root) < KILLED_AT * size:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("resume: the pull ended before it could be killed mid-way")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    return _held(root)


def _held(root: Path) -> int:
    try:
        done = json.loads((root / JOURNAL).read_text())["done"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(end - start for start, end in done)
