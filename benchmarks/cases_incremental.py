"""Case 4: the next version of a folder with 1% of its files changed, pushed and pulled.

A folder of 1,000 files of 64 KiB (``--quick``: 100 of 4 KiB) is pushed as 1.0.0;
1% of its files are rewritten and it is pushed as 1.1.0. A consumer that holds
1.0.0 (``sync pull -o``) then moves to 1.1.0 the same way. Each row is the bytes of
file content the server received (push) or sent (pull) for 1.1.0, counted on the
server itself (the Artifactory server's request log, a counting layer over moto),
against the whole folder: what a push or pull that reuses nothing moves. The
target is at most 3% of the folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench import Bench
from measure import KiB, expect_actions, run_measured
from projects import ARTIFACTORY, S3, fsartifacts_command, write_project
from remotes import large_remote
from servers import Request, child_env
from table import Row, verdict

MAX_FRACTION = 0.03
CHANGED = 0.01


def incremental(bench: Bench) -> list[Row]:
    count, size = (100, 4 * KiB) if bench.quick else (1000, 64 * KiB)
    rows: list[Row] = []
    for kind in bench.on(ARTIFACTORY, S3):
        bench.note(f"incremental: next version of {count} files x {size // KiB} KiB on {kind}")
        rows += _incremental_on(bench, kind, count, size)
    return rows


def _incremental_on(bench: Bench, kind: str, count: int, size: int) -> list[Row]:
    remote = large_remote(bench, kind, "incremental")
    server = bench.artifactory() if kind == ARTIFACTORY else bench.moto()
    root = bench.scratch(f"incremental-{kind}")
    producer, consumer = root / "producer", root / "consumer"
    folder = producer / "data"
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"part-{i:05d}.bin").write_bytes(os.urandom(size))
    total = count * size

    def run(project: Path, version: str, *args: str) -> None:
        write_project(project, remote.spec, [("data", "data")], version)
        env = child_env({**remote.spec.env, "FSARTIFACTS_CACHE_DIR": str(project / ".cache")})
        sample = run_measured([*fsartifacts_command(), *args, "--json"], cwd=project, env=env)
        expect_actions(sample, "pushed" if args[0] == "push" else "pulled")

    try:
        run(producer, "1.0.0", "push", "data")
        run(consumer, "1.0.0", "sync", "pull", "data", "-o")
        for i in range(0, count, round(1 / CHANGED)):
            (folder / f"part-{i:05d}.bin").write_bytes(os.urandom(size))
        server.clear_requests()
        run(producer, "1.1.0", "push", "data")
        sent = sum(r.bytes_in for r in _content(server.requests(), "PUT"))
        server.clear_requests()
        run(consumer, "1.1.0", "sync", "pull", "data", "-o")
        received = sum(r.bytes_out for r in _content(server.requests(), "GET"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        _row(kind, "push of the next version: bytes sent", sent, total),
        _row(kind, "sync pull of the next version: bytes received", received, total),
    ]


def _content(requests: list[Request], method: str) -> list[Request]:
    """The requests of ``method`` for the files of version 1.1.0 (not listings or the API)."""
    return [
        r
        for r in requests
        if r.method == method and "/data_v1.1.0/" in r.path and "/api/" not in r.path
    ]


def _row(kind: str, metric: str, moved: int, total: int) -> Row:
    fraction = moved / total
    return Row(
        "incremental", kind, metric,
        f"{fraction:.1%} ({moved // KiB} KiB)", f"100% ({total // KiB} KiB)",
        f"{total / max(moved, 1):.0f}x", f"<= {MAX_FRACTION:.0%}",
        verdict(fraction <= MAX_FRACTION),
    )  # fmt: skip
