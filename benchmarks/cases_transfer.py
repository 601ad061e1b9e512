"""Case 1 (a large artifact, push and pull) and case 3 (a no-op sync pull of it).

Throughput is the artifact's size over the wall time of the whole command, as
a user meets it: process start, imports, hashing, transfer, verification and
the atomic install, for fsartifacts and for the baseline alike.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
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
from remotes import LargeRemote, large_remote
from servers import child_env
from table import Row, mib, rate, seconds, times, verdict

RSS_LIMIT = 150  # MiB, fsartifacts' peak RSS on every store
MIN_RATIO = {FOLDER: 0.8, ARTIFACTORY: 0.8, S3: 1.0}  # throughput against the baseline
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

    def fsartifacts(self, *args: str, cache: Path | None = None) -> Sample:
        return run_measured([*fsartifacts_command(), *args], cwd=self.root, env=self.env(cache))

    def baseline(self, argv: list[str]) -> Sample:
        return run_measured(argv, cwd=self.root, env=self.env())

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
    for kind in (FOLDER, ARTIFACTORY, S3):
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

    def push() -> Sample:
        remote.remove(REMOTE_NAME)
        return project.fsartifacts("push", "big")

    def pull() -> Sample:
        drop_file(project.pulled)
        return project.fsartifacts("pull", "big", VERSION)

    def baseline_push(durable: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            remote.remove(copy_name)
            argv = remote.baseline_push(project.local, copy_name)
            return project.baseline(synced(argv, remote.stored(copy_name)) if durable else argv)

        return run

    def baseline_pull(durable: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            drop_file(baseline_dest)
            argv = remote.baseline_pull(REMOTE_NAME, baseline_dest)
            return project.baseline(synced(argv, baseline_dest) if durable else argv)

        return run

    rows: list[Row] = []
    for direction, fsartifacts, baseline, tool, durable in (
        ("push", push, baseline_push, remote.baseline_push_label, remote.durable_push),
        ("pull", pull, baseline_pull, remote.baseline_pull_label, True),
    ):
        case = f"{direction} {mib(size)} file"
        if remote.missing is not None:
            (fa,) = _in_turns(bench.runs, fsartifacts)
            rows.append(Row(case, kind, "throughput", f"{rate(size, fa.wall):.0f} MiB/s",
                            f"{tool}: not run ({remote.missing})", "",
                            f">= {MIN_RATIO[kind]}x", "n/a"))  # fmt: skip
            base = durable_base = None
        else:
            commands = [fsartifacts, baseline(False)] + ([baseline(True)] if durable else [])
            fa, base, *rest = _in_turns(bench.runs, *commands)
            durable_base = rest[0] if rest else None
            rows.append(_throughput_row(case, kind, size, fa, base, tool, MIN_RATIO[kind]))
            if durable_base is not None:
                rows.append(_throughput_row(case, kind, size, fa, durable_base,
                                            f"{tool} + sync", None))  # fmt: skip
        rss = fa.peak_rss / MiB
        rows.append(Row(
            case, kind, "peak RSS", f"{rss:.0f} MiB",
            f"{tool}: {mib(base.peak_rss)}" if base else "n/a", "",
            f"<= {RSS_LIMIT} MiB", verdict(rss <= RSS_LIMIT),
        ))  # fmt: skip
        bench.detail(f"{case} on {kind}", "fsartifacts", fa)
        if base is not None:
            bench.detail(f"{case} on {kind}", tool, base)
        if durable_base is not None:
            bench.detail(f"{case} on {kind}", f"{tool} + sync", durable_base)
    remote.remove(copy_name)
    drop_file(baseline_dest)
    return rows


def _throughput_row(
    case: str, kind: str, size: int, fa: Summary, base: Summary, tool: str, wanted: float | None
) -> Row:
    """fsartifacts' throughput beside a baseline's; a target only where ``wanted`` is set."""
    ratio = rate(size, fa.wall) / rate(size, base.wall)
    return Row(
        case, kind, "throughput" if wanted is not None else "throughput (durable copy)",
        f"{rate(size, fa.wall):.0f} MiB/s ({seconds(fa.wall)})",
        f"{tool}: {rate(size, base.wall):.0f} MiB/s ({seconds(base.wall)})",
        times(ratio),
        f">= {wanted}x" if wanted is not None else "",
        verdict(ratio >= wanted) if wanted is not None else "",
    )  # fmt: skip


def synced(argv: list[str], path: Path) -> list[str]:
    """``argv`` then ``sync PATH``: the baseline made as durable as fsartifacts, which
    fsyncs what it writes before renaming it into place."""
    return ["sh", "-c", 'target=$1; shift; "$@" && exec sync "$target"', "sh", str(path), *argv]


# -- case 3 --------------------------------------------------------------------------


def noop_sync(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    bench.warm_memory(3 * bench.large_size(FOLDER))
    for kind in (FOLDER, ARTIFACTORY):
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
