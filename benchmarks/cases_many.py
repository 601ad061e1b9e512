"""Case 2: ``pull ALL LATEST`` of many artifacts, each with many versions, over a slow link.

The store holds 50 artifacts x 20 versions (64 KiB each) in one folder, and
answers every request after 20 ms (the Artifactory server's latency switch;
the same sleep in our layer in front of moto). fsartifacts lists the folder
once and downloads ``jobs`` (4 by default; also measured with 8) artifacts at
a time on kept-alive connections;
the baseline (``baseline_sequential.py``) lists and downloads one artifact
after another on new connections, as skelebot does. Requests are counted in
the server's own log.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import Bench
from measure import KiB, Sample, Summary, expect_actions, run_measured
from projects import (
    ARTIFACTORY,
    S3,
    StoreSpec,
    artifactory_store,
    fsartifacts_command,
    s3_store,
    write_project,
)
from servers import Request, child_env, is_listing
from table import Row, seconds, times, verdict

HERE = Path(__file__).resolve().parent
Measured = tuple[Sample, list[Request]]  # a run, and the requests the server saw during it
LATENCY = 0.020
MIN_SPEEDUP = 4.0
WIDE_JOBS = 8  # an informational run with more artifacts in flight than the default 4


def many(bench: Bench) -> list[Row]:
    count, versions, size = (10, 5, 4 * KiB) if bench.quick else (50, 20, 64 * KiB)
    rows: list[Row] = []
    for kind in bench.on(ARTIFACTORY, S3):
        bench.note(f"many: pull ALL LATEST of {count} artifacts x {versions} versions on {kind}")
        rows += _many_on(bench, kind, count, versions, size)
    return rows


def _many_on(bench: Bench, kind: str, count: int, versions: int, size: int) -> list[Row]:
    names = [f"a{i:02d}" for i in range(count)]
    project_version = f"1.{versions - 1}.0"
    spec, server, put = _store(bench, kind)
    remote_names = [f"{n}_v1.{v}.0.bin" for n in names for v in range(versions)]
    with ThreadPoolExecutor(8) as pool:  # no latency yet: setting up is not measured
        list(pool.map(lambda name: put(name, os.urandom(size)), remote_names))

    root = bench.scratch(f"many-{kind}")
    project = write_project(
        root / "project", spec, [(n, f"{n}.bin") for n in names], project_version
    )
    sequential = root / "sequential"
    sequential.mkdir()
    env = child_env({**spec.env, "FSARTIFACTS_CACHE_DIR": str(root / "cache")})
    baseline_argv = [
        sys.executable, str(HERE / "baseline_sequential.py"), kind, server.url, spec.folder,
        project_version, *names,
    ]  # fmt: skip
    wanted = {f"{n}_v{project_version}.bin" for n in names}

    def measured(run: Callable[[], Sample], folder: Path) -> Callable[[], Measured]:
        def once() -> Measured:
            for leftover in folder.glob("*_v*.bin"):
                leftover.unlink()
            (folder / "fsartifacts.lock").unlink(missing_ok=True)
            server.clear_requests()
            sample = run()
            got = {p.name for p in folder.glob("*_v*.bin")}
            if got != wanted:
                raise RuntimeError(f"{folder}: expected {len(wanted)} pulled files, got {got}")
            return sample, server.requests()

        return once

    def fsartifacts(*options: str) -> Callable[[], Sample]:
        def run() -> Sample:
            argv = [*fsartifacts_command(), "pull", "ALL", "LATEST", "--json", *options]
            sample = run_measured(argv, cwd=project, env=env)
            expect_actions(sample, "pulled")
            return sample

        return run

    def baseline() -> Sample:
        return run_measured(baseline_argv, cwd=sequential, env=env)

    server.set_latency(LATENCY)
    try:
        fa_runs, wide_runs, base_runs = [], [], []
        for _ in range(bench.runs):  # in turns, so drift in the machine's load hits all alike
            fa_runs.append(measured(fsartifacts(), project)())
            wide_runs.append(measured(fsartifacts("-j", str(WIDE_JOBS)), project)())
            base_runs.append(measured(baseline, sequential)())
    finally:
        server.set_latency(0)
        shutil.rmtree(root, ignore_errors=True)

    fa, base = Summary.of([s for s, _ in fa_runs]), Summary.of([s for s, _ in base_runs])
    wide = Summary.of([s for s, _ in wide_runs])
    fa_requests = max(len(r) for _, r in fa_runs)
    base_requests = max(len(r) for _, r in base_runs)
    fa_lists = max(sum(is_listing(kind, q, [spec.folder]) for q in r) for _, r in fa_runs)
    base_lists = max(sum(is_listing(kind, q, [spec.folder]) for q in r) for _, r in base_runs)
    fa_kinds = _kinds(kind, fa_runs[-1][1], spec)
    label = f"pull ALL LATEST, {count}x{versions}, {LATENCY * 1000:.0f} ms latency"
    speedup = base.wall / fa.wall
    bench.detail(label + f" on {kind}", "fsartifacts", fa)
    bench.detail(label + f" on {kind}", f"fsartifacts -j {WIDE_JOBS}", wide)
    bench.detail(label + f" on {kind}", "sequential", base)
    bench.details.append(f"{label} on {kind} | fsartifacts requests by kind: {fa_kinds}")
    return [
        Row(label, kind, "wall time", seconds(fa.wall), f"sequential: {seconds(base.wall)}",
            times(speedup), f">= {MIN_SPEEDUP:.0f}x", verdict(speedup >= MIN_SPEEDUP)),
        Row(label, kind, f"wall time, -j {WIDE_JOBS}", seconds(wide.wall),
            f"sequential: {seconds(base.wall)}", times(base.wall / wide.wall)),
        Row(label, kind, "requests", str(fa_requests), f"sequential: {base_requests}",
            times(base_requests / fa_requests)),
        Row(label, kind, "listings of the folder", str(fa_lists), f"sequential: {base_lists}",
            "", "1 per folder", verdict(fa_lists == 1)),
    ]  # fmt: skip


def _kinds(kind: str, requests: list[Request], spec: StoreSpec) -> str:
    """Requests grouped as listing / metadata / download, for the details."""
    counts: dict[str, int] = {}
    for q in requests:
        if is_listing(kind, q, [spec.folder]):
            what = "listing"
        elif q.method == "GET" and "/api/" not in q.path:
            what = "GET file"
        else:
            what = f"{q.method} {'api' if '/api/' in q.path else 'object'}"
        counts[what] = counts.get(what, 0) + 1
    return json.dumps(counts, sort_keys=True)


def _store(bench: Bench, kind: str) -> tuple[StoreSpec, Any, Callable[[str, bytes], None]]:
    """(the project's store, its server, put(name, data) into the artifacts' folder)."""
    if kind == ARTIFACTORY:
        import threading

        import requests

        server = bench.artifactory()
        local = threading.local()

        def put_artifactory(name: str, data: bytes) -> None:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            session.put(server.file_url(f"many/{name}"), data=data, timeout=60).raise_for_status()

        return artifactory_store(server.url, server.repo, "many"), server, put_artifactory
    moto = bench.moto()
    client = moto.client()
    client.create_bucket(Bucket="many-bucket")

    def put_s3(name: str, data: bytes) -> None:
        client.put_object(Bucket="many-bucket", Key=f"team/{name}", Body=data)

    return s3_store(moto.url, "many-bucket", "team", moto.env), moto, put_s3
