"""Case ``files``: one folder artifact of many small files on the folder store, beside
``rclone copy --transfers 8`` (``cp -r`` where rclone is not installed).

A folder of 20,000 files of 1 KiB (1,000 a subfolder), then one of 100,000 (for its
peak RSS), pushed to a folder store and pulled back, each fsartifacts command with a
fresh, empty hash cache. In each run the tools take turns: fsartifacts' push, the
baseline's push, fsartifacts' pull, the baseline's pull.

Nothing is deleted while the case is timed. On ext4 without a journal (this
machine's), a file created soon after many were deleted waits: the allocator skips
every free inode deleted in the last 30 to 60 s, reading each one's deletion time, so
a create right after the ``rm -r`` of 20,000 files costs O(n) (perf:
``ext4_create -> find_inode_bit -> recently_deleted``), for every tool alike, and the
system time of each run grew with the runs before it. So every command writes into a
folder of its own that no earlier command used (a store per run, a destination per
pull), the pulled folders are moved aside (a rename frees no inode), and all of it is
deleted once the case is done. The details give each command's system time per run,
which stays flat when this holds (other work on a shared machine deleting files can
still cost some).

Each baseline is timed bare and, as a separate command, made as durable as
fsartifacts (which syncs the folder's filesystem once before renaming the folder into
place): ``&& sync -f``.
"""

from __future__ import annotations

import os
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import Bench
from measure import KiB, MiB, Sample, Summary, expect_actions, run_measured
from peers import RCLONE
from projects import FOLDER, folder_store, fsartifacts_command, write_project
from servers import child_env
from table import Row, mib, seconds, times, verdict

FILES_MIN_SPEEDUP = 1.0  # against `rclone copy --transfers 8`, else `cp -r`
FILES_MAX_RSS = 200 * MiB  # the 100,000-file folder: memory bounded by its manifest
PUSH, PULL = "push", "pull"
FA, BARE, DURABLE = "fsartifacts", "bare", "durable"


def many_files(bench: Bench) -> list[Row]:
    """Folders of many 1 KiB files pushed and pulled on the folder store."""
    cases = [(2_000, False), (5_000, True)] if bench.quick else [(20_000, False), (100_000, True)]
    rows: list[Row] = []
    root = bench.scratch("files")
    try:
        for count, memory_only in cases:
            bench.note(f"files: push and pull of {count} x 1 KiB on a folder store")
            rows += _files_case(bench, root / f"{count}", count, memory_only)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # every case's folders, once none is timed
    return rows


@dataclass(frozen=True)
class Copier:
    """The baseline: its label, and its command copying a folder to a new place."""

    label: str
    argv: Callable[[Path, Path], list[str]]

    def durable(self, src: Path, dst: Path) -> list[str]:
        """The copy, then ``sync -f``: the filesystem synced, as fsartifacts does."""
        script = 'target=$1; shift; "$@" && exec sync -f "$target"'
        return ["sh", "-c", script, "sh", str(dst), *self.argv(src, dst)]


def _copier(bench: Bench) -> Copier:
    rclone = bench.peers.get(RCLONE)
    if rclone.path:
        exe = str(rclone.path)
        return Copier(
            "rclone copy --transfers 8",
            lambda src, dst: [exe, "copy", "--transfers", "8", str(src), str(dst)],
        )
    # The fallback names itself and why rclone did not run, so no row passes for rclone's.
    return Copier(f"cp -r (rclone not run: {rclone.why_not})",
                  lambda src, dst: ["cp", "-r", str(src), str(dst)])  # fmt: skip


def _write_folder(data: Path, count: int) -> None:
    for i in range(count):  # 1,000 files a folder, as datasets are usually laid out
        folder = data / f"part-{i // 1000:04d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"{i:06d}.bin").write_bytes(os.urandom(KiB))


def _files_case(bench: Bench, root: Path, count: int, memory_only: bool) -> list[Row]:
    project, aside, copies = root / "project", root / "aside", root / "copies"
    for folder in (project, aside, copies):
        folder.mkdir(parents=True)
    data = project / "data"
    _write_folder(data, count)
    copier = _copier(bench)
    samples: dict[tuple[str, str], list[Sample]] = {}

    def store(run: int) -> Path:
        # A store of its own per run, so no push creates files where one deleted them.
        return root / f"store-{run}"

    def fsartifacts(run: int, *args: str) -> None:
        write_project(project, folder_store(store(run)), [("data", "data")], "1.0.0")
        env = child_env({"FSARTIFACTS_CACHE_DIR": str(root / f"cache-{run}-{args[0]}")})
        argv = [*fsartifacts_command(), *args, "--json"]
        # What it reads, cached first as for every command (see into_page_cache).
        reads = [data] if args[0] == PUSH else [store(run) / "data_v1.0.0"]
        sample = run_measured(argv, cwd=project, env=env, reads=reads)
        expect_actions(sample, "pushed" if args[0] == PUSH else "pulled")
        samples.setdefault((FA, args[0]), []).append(sample)

    def baselines(run: int, what: str, src: Path) -> None:
        for kind, argv in ((BARE, copier.argv), (DURABLE, copier.durable)):
            dst = copies / f"{what}-{kind}-{run}" / src.name
            dst.parent.mkdir()
            samples.setdefault((kind, what), []).append(run_measured(argv(src, dst), reads=[src]))

    for run in range(bench.runs):
        fsartifacts(run, PUSH, "data")
        baselines(run, PUSH, data)
        fsartifacts(run, PULL, "data", "1.0.0")
        (project / "data_v1.0.0").rename(aside / f"pulled-{run}")
        (project / "fsartifacts.lock").unlink(missing_ok=True)
        baselines(run, PULL, store(run) / "data_v1.0.0")
    return _rows(bench, count, memory_only, copier, samples)


def _rows(
    bench: Bench, count: int, memory_only: bool, copier: Copier,
    samples: dict[tuple[str, str], list[Sample]],
) -> list[Row]:  # fmt: skip
    label = f"folder of {count:,} x 1 KiB"
    names = {FA: "fsartifacts", BARE: copier.label, DURABLE: f"{copier.label} && sync -f"}
    rows = []
    for what in (PUSH, PULL):
        summaries = {kind: Summary.of(samples[(kind, what)]) for kind in (FA, BARE, DURABLE)}
        for kind, summary in summaries.items():
            bench.detail(f"{label}: {what}", names[kind], summary)
            system = ", ".join(f"{s.system:.2f}" for s in samples[(kind, what)])
            median = statistics.median(s.system for s in samples[(kind, what)])
            bench.details.append(f"{label}: {what} | {names[kind]}: system time per run "
                                 f"{system} s (median {median:.2f})")  # fmt: skip
        fa, bare = summaries[FA], summaries[BARE]
        rows.append(Row(label, FOLDER, f"{what}: peak RSS", mib(fa.peak_rss),
                        f"{copier.label}: {mib(bare.peak_rss)}", "",
                        f"<= {mib(FILES_MAX_RSS)}" if memory_only else "",
                        verdict(fa.peak_rss <= FILES_MAX_RSS) if memory_only else ""))  # fmt: skip
        for kind in (BARE, DURABLE):
            base = summaries[kind]
            speedup = base.wall / fa.wall
            targeted = kind == BARE and not memory_only
            rows.append(Row(label, FOLDER, f"{what}: wall time", seconds(fa.wall),
                            f"{names[kind]}: {seconds(base.wall)}", times(speedup),
                            f">= {FILES_MIN_SPEEDUP:.1f}x" if targeted else "",
                            verdict(speedup >= FILES_MIN_SPEEDUP) if targeted else ""))  # fmt: skip
    return rows
