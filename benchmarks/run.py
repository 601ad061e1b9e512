"""Benchmarks of fsartifacts against plain tools, measured in one run on this machine.

    python benchmarks/run.py                 # every case, full sizes (tens of minutes here)
    python benchmarks/run.py --quick         # small sizes, one run each: a smoke run
    python benchmarks/run.py --only startup  # one case (repeatable: --only many --only sync)
    python benchmarks/run.py --runs 5        # runs per command (median); default 3
    python benchmarks/run.py --only folders --store artifactory  # that store's rows only
    python benchmarks/run.py --quick --setup # install the peers (rclone, awscli, dvc) first

Prints one table: for each case fsartifacts' figure, the baseline's figure
measured in the same run on the same servers, their ratio, and PASS/MISS per
target. See benchmarks/README.md for what each case and baseline is.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bench import Bench
from cases_files import many_files
from cases_folders import folders
from cases_incremental import incremental
from cases_listing import listing
from cases_many import many
from cases_peers import peers as peer_versions
from cases_resume import resume
from cases_startup import startup
from cases_transfer import large, noop_sync
from cases_write import stream_write
from measure import MiB, run_measured
from peers import Peers
from projects import ARTIFACTORY, FOLDER, S3
from table import Row, render

CASES: dict[str, tuple[Callable[[Bench], list[Row]], str]] = {
    "peers": (peer_versions, "the peer tools of this run (rclone, awscli, dvc) and versions"),
    "large": (large, "a large artifact, push and pull (folder, Artifactory, moto)"),
    "folders": (folders, "a folder of 2,000 files: push, pull, next version, against peers"),
    "incremental": (incremental, "the next version of a folder, 1% changed: push, sync pull"),
    "many": (many, "pull ALL LATEST of 50 artifacts x 20 versions, 20 ms latency"),
    "listing": (listing, "list of a store with 10,000 folder versions: requests, wall time"),
    "files": (many_files, "a folder of 20,000 and of 100,000 files of 1 KiB, push and pull"),
    "sync": (noop_sync, "no-op sync pull of an up-to-date large artifact"),
    "startup": (startup, "fsartifacts --help, validate and list against python -c pass"),
    "resume": (resume, "a large pull killed at 60%, then run again: the bytes it transfers"),
    "write": (stream_write, "a 1 GiB artifactory:// open('wb') write: peak RSS, local disk"),
}


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, 1 or more")
    return int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark fsartifacts against plain tools; print one table.",
        epilog="cases: " + "; ".join(f"{name}: {what}" for name, (_, what) in CASES.items()),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 run: a smoke run")
    parser.add_argument(
        "--only", action="append", choices=list(CASES), metavar="CASE",
        help=f"run only this case (repeatable): {', '.join(CASES)}",
    )  # fmt: skip
    parser.add_argument(
        "--runs",
        type=_positive,
        metavar="N",
        help="runs of each command, median reported (default 3)",
    )
    parser.add_argument(
        "--store", action="append", choices=[FOLDER, ARTIFACTORY, S3], dest="stores",
        metavar="STORE",
        help=f"measure on this store only (repeatable): {FOLDER}, {ARTIFACTORY}, {S3}; a "
        "case with none of them runs as it is",
    )  # fmt: skip
    parser.add_argument(
        "--large-size",
        type=_positive,
        metavar="MIB",
        help="size in MiB of the large artifact on every store (large, sync, write)",
    )
    parser.add_argument(
        "--setup",
        action="store_true",
        help="install the missing peers (rclone, awscli, dvc) first; a full run always does",
    )
    parser.add_argument(
        "--tools",
        type=Path,
        metavar="DIR",
        help="where awscli and dvc are installed, each in a venv (default ~/.cache/"
        "fsartifacts-benchmarks/tools)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    chosen = [name for name in CASES if not args.only or name in args.only]
    peers = Peers(args.tools)
    stores = frozenset(args.stores) if args.stores else None
    bench = Bench(quick=args.quick, runs=runs, large_mib=args.large_size, peers=peers,
                  stores=stores)  # fmt: skip
    if args.setup or not args.quick:
        peers.setup(bench.note)
    rows: list[Row] = []
    failed: list[str] = []
    try:
        for name in chosen:
            try:
                rows += CASES[name][0](bench)
            except Exception as exc:  # one broken case must not hide the others' figures
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
                bench.note(f"case {name} failed: {exc}")
    finally:
        bench.close()
    print(
        f"fsartifacts benchmarks ({'quick' if args.quick else 'full'}; median of {runs} run(s) "
        f"per command, startup: median of {3 if args.quick else max(10, runs)}; "
        f"{os.cpu_count()} cores, shared machine)"
    )
    if args.quick:
        print("quick run: sizes and counts are too small for the targets; PASS/MISS only "
              "shows that each case runs.")  # fmt: skip
    print()
    print(render(rows))
    print()
    print("ratio: how many times better fsartifacts is (throughput: fsartifacts/baseline; "
          "time, requests: baseline/fsartifacts).")  # fmt: skip
    floor = run_measured(["true"]).peak_rss / MiB
    print(f"peak RSS: each command's own, from wait4 in a small launcher; {floor:.0f} MiB is the "
          "launcher's floor (a figure at the floor means the command used less).")  # fmt: skip
    if bench.details:
        print("\nDetails (medians):")
        for line in bench.details:
            print(f"- {line}")
    if failed:
        print("\nFailed cases:")
        for line in failed:
            print(f"- {line}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
