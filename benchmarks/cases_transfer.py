"""Case 1 (a large artifact, push and pull) and case 3 (a no-op sync pull of it).

Throughput is the artifact's size over the wall time of the whole command, as
a user meets it: process start, imports, hashing, transfer, verification and
the atomic install, for fsartifacts and for the baseline alike.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import Bench
from measure import (
    MiB,
    Sample,
    Summary,
    drop_file,
    expect_actions,
    run_measured,
    write_random_file,
)
from projects import ARTIFACTORY, FOLDER, S3, fsartifacts_command, write_project
from remotes import PULL, PUSH, Baseline, LargeRemote, large_remote
from servers import child_env
from table import Row, mib, rate, seconds, times, verdict

RSS_LIMIT = 150  # MiB, fsartifacts' peak RSS on every store
NOOP_LIMIT = 0.05  # a no-op sync pull against a full pull
VERSION = "1.0.0"
REMOTE_NAME = f"big_v{VERSION}.bin"


class _Project:
    """A project holding one large random file ``big.bin``, on ``remote``."""

    def __init__(self, bench: Bench, remote: LargeRemote, tag: str, size: int) -> None:
        self.bench, self.remote, self.size = bench, remote, size
        self.root = write_project(
            bench.scratch(f"{tag}-project"), remote.spec, [("big", "big.bin")], VERSION
        )
        self.local = self.root / "big.bin"
        self.pulled = self.root / REMOTE_NAME  # where `pull big VERSION` lands
        self.caches = 0
        write_random_file(self.local, size)

    def env(self, cache: Path | None = None) -> dict[str, str]:
        """A child's environment; a fresh (empty) hash cache unless ``cache`` is given."""
        if cache is None:
            self.caches += 1
            cache = self.root.parent / f"{self.root.name}-cache-{self.caches}"
        return child_env({**self.remote.spec.env, "FSARTIFACTS_CACHE_DIR": str(cache)})

    def fsartifacts(
        self, *args: str, cache: Path | None = None, reads: Sequence[Path] = ()
    ) -> Sample:
        return run_measured([*fsartifacts_command(), *args], cwd=self.root, env=self.env(cache),
                            reads=reads)  # fmt: skip

    def baseline(
        self, argv: list[str], extra: dict[str, str] | None = None, reads: Sequence[Path] = ()
    ) -> Sample:
        return run_measured(argv, cwd=self.root, env={**self.env(), **(extra or {})},
                            reads=reads)  # fmt: skip

    def push_once(self) -> None:
        self.remote.remove(REMOTE_NAME)
        self.fsartifacts("push", "big")

    def cleanup(self) -> None:
        self.remote.remove(REMOTE_NAME)
        shutil.rmtree(self.root, ignore_errors=True)


def _in_turns(runs: int, *commands: Callable[[], Sample]) -> list[Summary]:
    """``runs`` of each command, taken in turns, so drift in the machine's load (and in
    the VM's page cache) hits them all alike; the median of each."""
    samples: list[list[Sample]] = [[] for _ in commands]
    for _ in range(runs):
        for taken, command in zip(samples, commands, strict=True):
            taken.append(command())
    return [Summary.of(taken) for taken in samples]


# -- case 1 --------------------------------------------------------------------------


def large(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    bench.warm_memory(3 * bench.large_size(FOLDER))
    for kind in bench.on(FOLDER, ARTIFACTORY, S3):
        size = bench.large_size(kind)
        bench.note(f"large: {mib(size)} push and pull on {kind}")
        remote = large_remote(bench, kind, "large")
        project = _Project(bench, remote, f"large-{kind}", size)
        try:
            rows += _large_on(bench, kind, project)
        finally:
            project.cleanup()
    return rows


def _large_on(bench: Bench, kind: str, project: _Project) -> list[Row]:
    remote, size = project.remote, project.size
    copy_name = "baseline-copy.bin"
    baseline_dest = project.root / "baseline-download.bin"

    # What each side reads locally, cached before each of its runs (see into_page_cache):
    # the file pushed, and on a folder store the copy pulled.
    pushed = [project.local]
    pulled = [remote.stored(REMOTE_NAME)] if kind == FOLDER else []

    def push() -> Sample:
        remote.remove(REMOTE_NAME)
        return project.fsartifacts("push", "big", reads=pushed)

    def pull() -> Sample:
        drop_file(project.pulled)
        return project.fsartifacts("pull", "big", VERSION, reads=pulled)

    def measured(baseline: Baseline, reads: list[Path]) -> Callable[[], Sample]:
        def run() -> Sample:
            remote.remove(copy_name)
            drop_file(baseline_dest)
            return project.baseline(baseline.argv or [], baseline.env, reads=reads)

        return run

    rows: list[Row] = []
    for direction, fsartifacts, local, name, reads in (
        (PUSH, push, project.local, copy_name, pushed),
        (PULL, pull, baseline_dest, REMOTE_NAME, pulled),
    ):
        case = f"{direction} {mib(size)} file"
        baselines = remote.baselines(direction, local, name)
        ran = [b for b in baselines if b.argv is not None]
        fa, *summaries = _in_turns(bench.runs, fsartifacts, *(measured(b, reads) for b in ran))
        results = dict(zip((b.label for b in ran), summaries, strict=True))
        for baseline in baselines:
            base = results.get(baseline.label)
            if base is None:
                rows.append(Row(case, kind, "throughput", _mibps(size, fa),
                                f"{baseline.label}: not run ({baseline.why_not})", "",
                                _target(baseline.target),
                                "n/a" if baseline.target else ""))  # fmt: skip
                continue
            rows.append(_throughput_row(case, kind, size, fa, base, baseline.label,
                                        baseline.target))  # fmt: skip
            bench.detail(f"{case} on {kind}", baseline.label, base)
        group = [b for b in baselines if b.fastest]
        if group and remote.fastest_target is not None:
            rows.append(_fastest_row(case, kind, size, fa, group, results, remote.fastest_target))
        rss = fa.peak_rss / MiB
        first = next(iter(results.items()), None)
        rows.append(Row(
            case, kind, "peak RSS", f"{rss:.0f} MiB",
            f"{first[0]}: {mib(first[1].peak_rss)}" if first else "n/a", "",
            f"<= {RSS_LIMIT} MiB", verdict(rss <= RSS_LIMIT),
        ))  # fmt: skip
        bench.detail(f"{case} on {kind}", "fsartifacts", fa)
    remote.remove(copy_name)
    drop_file(baseline_dest)
    return rows


def _mibps(size: int, summary: Summary) -> str:
    return f"{rate(size, summary.wall):.0f} MiB/s ({seconds(summary.wall)})"


def _target(wanted: float | None) -> str:
    return f">= {wanted}x" if wanted is not None else ""


def _throughput_row(
    case: str, kind: str, size: int, fa: Summary, base: Summary, tool: str, wanted: float | None
) -> Row:
    """fsartifacts' throughput beside a baseline's; a target only where ``wanted`` is set."""
    ratio = base.wall / fa.wall
    return Row(
        case, kind, "throughput", _mibps(size, fa), f"{tool}: {_mibps(size, base)}",
        times(ratio), _target(wanted), verdict(ratio >= wanted) if wanted is not None else "",
    )  # fmt: skip


def _fastest_row(
    case: str, kind: str, size: int, fa: Summary, group: list[Baseline],
    results: dict[str, Summary], wanted: float,
) -> Row:  # fmt: skip
    """fsartifacts against the fastest of a group of peers (those of them that ran)."""
    names = " / ".join(b.label for b in group)
    metric = f"throughput vs fastest of {names}"
    ran = [(results[b.label], b.label) for b in group if b.label in results]
    if not ran:
        return Row(case, kind, metric, _mibps(size, fa), "not run (none of them is installed)",
                   "", _target(wanted), "n/a")  # fmt: skip
    best, label = min(ran, key=lambda pair: pair[0].wall)
    ratio = best.wall / fa.wall
    return Row(case, kind, metric, _mibps(size, fa), f"{label}: {_mibps(size, best)}",
               times(ratio), _target(wanted), verdict(ratio >= wanted))  # fmt: skip


# -- case 3 --------------------------------------------------------------------------


def noop_sync(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    bench.warm_memory(3 * bench.large_size(FOLDER))
    for kind in bench.on(FOLDER, ARTIFACTORY):
        size = bench.large_size(kind)
        bench.note(f"sync: no-op sync pull of {mib(size)} on {kind}")
        remote = large_remote(bench, kind, "sync")
        project = _Project(bench, remote, f"sync-{kind}", size)
        try:
            project.push_once()
            rows += _noop_sync_on(bench, kind, project)
        finally:
            project.cleanup()
    return rows


def _noop_sync_on(bench: Bench, kind: str, project: _Project) -> list[Row]:
    full: list[Sample] = []
    after_pull: list[Sample] = []
    cached: list[Sample] = []
    for run in range(bench.runs):
        # One hash cache per run, shared by its three commands, as on a developer's machine.
        cache = project.root.parent / f"{project.root.name}-sync-cache-{run}"
        drop_file(project.pulled)
        full.append(project.fsartifacts("pull", "big", VERSION, cache=cache))
        for samples in (after_pull, cached):
            samples.append(
                project.fsartifacts("sync", "pull", "big", VERSION, "--json", cache=cache)
            )
            expect_actions(samples[-1], "skipped")
    full_s = Summary.of(full)
    label = f"no-op sync pull, {mib(project.size)}"
    rows = []
    for when, samples in (("right after pull", after_pull), ("hash cached", cached)):
        noop = Summary.of(samples)
        share = noop.wall / full_s.wall
        rows.append(Row(
            f"{label} ({when})", kind, "wall time",
            seconds(noop.wall), f"full pull: {seconds(full_s.wall)}",
            f"{share:.1%} of full", f"<= {NOOP_LIMIT:.0%}", verdict(share <= NOOP_LIMIT),
        ))  # fmt: skip
        bench.detail(f"{label} ({when}) on {kind}", "fsartifacts sync pull", noop)
    bench.detail(f"{label} on {kind}", "fsartifacts pull (full)", full_s)
    return rows
