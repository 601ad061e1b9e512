"""Running one command as a child process and measuring it: wall time, peak RSS, CPU.

Every measured side (fsartifacts and each baseline) runs as its own process,
started and waited for (``os.wait4``) by the small launcher ``spawn.py``, so
its peak RSS (``ru_maxrss``) is its own: never the servers', which run in the
driver process, and never the driver's (see spawn.py for why a launcher).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SPAWN = Path(__file__).resolve().parent / "spawn.py"
KiB = 1024
MiB = 1024 * KiB


class CommandFailed(RuntimeError):
    """A measured command exited non-zero: its figures mean nothing."""


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    wall: float  # seconds, from spawn to reaped
    peak_rss: int  # bytes, the child's own maximum resident set size
    cpu: float  # seconds of user + system CPU of the child
    stdout: str
    system: float = 0.0  # seconds of those in the kernel


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
    reads: Iterable[Path] = (),
) -> Sample:
    """Run ``argv`` to its end through :mod:`spawn`; raise :class:`CommandFailed` unless
    it exits 0. ``reads``: the local files and folders the command reads, put in the page
    cache first (:func:`into_page_cache`, untimed).

    What the commands before it wrote is synced first too (untimed): a tool that does not
    sync (``curl -o``, ``rclone``, ``cp``) leaves its writes dirty in the page cache, and
    the kernel would write them out while the next command runs, on its disk time and,
    for a command that syncs the filesystem, in its own sync."""
    into_page_cache(reads)
    os.sync()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        result = Path(scratch) / "result"
        launcher = [sys.executable, "-I", "-S", str(SPAWN), str(result), *argv]
        child = subprocess.Popen(
            launcher, cwd=cwd, env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        )  # fmt: skip
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # the launcher and the command under it
            child.wait()
            raise CommandFailed(f"{' '.join(argv)} did not finish in {timeout:.0f} s") from None
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        if child.returncode != 0 or not result.exists():
            raise CommandFailed(f"the launcher failed on {' '.join(argv)}:\n{stderr[-2000:]}")
        wall, maxrss_kib, cpu, code, system = result.read_text().split()
    if int(code) != 0:
        raise CommandFailed(f"{' '.join(argv)} exited {code}:\n{stderr.strip()[-2000:]}")
    return Sample(float(wall), int(maxrss_kib) * 1024, float(cpu), stdout, float(system))


def into_page_cache(paths: Iterable[Path]) -> None:
    """Read every file of ``paths`` (files, or folders read through), so that the command
    measured next finds them in the page cache whichever command ran before it. Some
    tools drop what they have read from the cache (rclone's local backend advises the
    kernel so as it reads, POSIX_FADV_DONTNEED): the command after such a tool read its
    input from the disk (20,000 files of 1 KiB: 2.1 s here, against 0.3 s cached), and
    the one after a tool that keeps the cache did not, which made the order of the turns
    decide the figures. Every measured command that reads local files starts so alike."""
    block = bytearray(MiB)
    for top in paths:
        files = [top] if top.is_file() else (p for p in top.rglob("*") if p.is_file())
        for path in files:
            with open(path, "rb", buffering=0) as f:
                while f.readinto(block):
                    pass


@dataclass(frozen=True)
class Summary:
    """The median of several runs of one command (each figure's own median)."""

    wall: float
    peak_rss: int
    cpu: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Summary:
        return cls(
            wall=statistics.median(s.wall for s in samples),
            peak_rss=int(statistics.median(s.peak_rss for s in samples)),
            cpu=statistics.median(s.cpu for s in samples),
            runs=len(samples),
        )


def repeat(
    runs: int,
    measure: Callable[[], Sample],
    *,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
) -> Summary:
    """``measure`` ``runs`` times, with untimed ``before``/``after`` steps around each."""
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        samples.append(measure())
        if after is not None:
            after()
    return Summary.of(samples)


def write_random_file(path: Path, size: int) -> None:
    """``size`` random bytes (incompressible, so no layer can cheat), written in 4 MiB blocks."""
    block = 4 * MiB
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(os.urandom(min(block, left)))
            left -= block


def drop_file(path: Path) -> None:
    """Remove ``path`` if it is there."""
    path.unlink(missing_ok=True)


def expect_actions(sample: Sample, action: str) -> None:
    """Check from a ``--json`` run that every artifact ended in ``action`` (else the
    figure measured something else: a download where none was due, a failure...)."""
    import json

    results = json.loads(sample.stdout)["results"]
    wrong = [r for r in results if r["action"] != action]
    if wrong or not results:
        raise CommandFailed(f"expected every artifact {action}, got: {wrong or 'no results'}")
