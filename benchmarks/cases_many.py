"""Case 2: ``pull ALL LATEST`` of many artifacts, each with many versions, over a slow link;
and case ``files``: one folder artifact of many small files (further below).

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
from measure import KiB, MiB, Sample, Summary, expect_actions, repeat, run_measured
from peers import RCLONE
from projects import (
    ARTIFACTORY,
    FOLDER,
    S3,
    StoreSpec,
    artifactory_store,
    folder_store,
    fsartifacts_command,
    s3_store,
    write_project,
)
from servers import Request, child_env, is_listing
from table import Row, mib, seconds, times, verdict

HERE = Path(__file__).resolve().parent
Measured = tuple[Sample, list[Request]]  # a run, and the requests the server saw during it
LATENCY = 0.020
MIN_SPEEDUP = 4.0
WIDE_JOBS = 8  # an informational run with more artifacts in flight than the default 4


def many(bench: Bench) -> list[Row]:
    count, versions, size = (10, 5, 4 * KiB) if bench.quick else (50, 20, 64 * KiB)
    rows: list[Row] = []
    for kind in (ARTIFACTORY, S3):
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


# -- many small files in one folder artifact, on the folder store -----------------------

FILES_MIN_SPEEDUP = 1.0  # against `rclone copy --transfers 8`, else `cp -r`
FILES_MAX_RSS = 200 * MiB  # the 100,000-file folder: memory bounded by its manifest


def many_files(bench: Bench) -> list[Row]:
    """Folders of many 1 KiB files pushed and pulled on the folder store, beside rclone
    (`rclone copy --transfers 8`) when it is installed, else `cp -r`."""
    cases = [(2_000, False), (5_000, True)] if bench.quick else [(20_000, False), (100_000, True)]
    rows: list[Row] = []
    for count, memory_only in cases:
        bench.note(f"files: push and pull of {count} x 1 KiB on a folder store")
        rows += _files_case(bench, count, memory_only)
    return rows


def _copier(bench: Bench) -> tuple[str, Callable[[Path, Path], list[str]]]:
    rclone = bench.peers.get(RCLONE)
    if rclone.path:
        return "rclone copy --transfers 8", lambda src, dst: [
            str(rclone.path), "copy", "--transfers", "8", str(src), str(dst),
        ]  # fmt: skip
    # The fallback names itself and why rclone did not run, so no row passes for rclone's.
    return f"cp -r (rclone not run: {rclone.why_not})", lambda src, dst: [
        "cp", "-r", str(src), str(dst),
    ]  # fmt: skip


def _files_case(bench: Bench, count: int, memory_only: bool) -> list[Row]:
    root = bench.scratch(f"files-{count}")
    store = root / "store"
    store.mkdir()
    project = write_project(root / "project", folder_store(store), [("data", "data")], "1.0.0")
    data = project / "data"
    for i in range(count):  # 1,000 files a folder, as datasets are usually laid out
        folder = data / f"part-{i // 1000:04d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"{i:06d}.bin").write_bytes(os.urandom(KiB))
    env = child_env({"FSARTIFACTS_CACHE_DIR": str(root / "cache")})
    remote, pulled = store / "data_v1.0.0", project / "data_v1.0.0"
    copied = root / "copied"
    name, copy_argv = _copier(bench)

    def clear_store() -> None:
        shutil.rmtree(remote, ignore_errors=True)
        (store / "data_v1.0.0.manifest.json").unlink(missing_ok=True)

    def fsartifacts(*args: str) -> Sample:
        sample = run_measured([*fsartifacts_command(), *args, "--json"], cwd=project, env=env)
        expect_actions(sample, "pushed" if args[0] == "push" else "pulled")
        return sample

    def copy(src: Path) -> Callable[[], Sample]:
        return lambda: run_measured(copy_argv(src, copied / src.name))

    def clear_copies() -> None:
        shutil.rmtree(copied, ignore_errors=True)
        copied.mkdir()

    try:
        push = repeat(bench.runs, lambda: fsartifacts("push", "data"), before=clear_store)
        pull = repeat(
            bench.runs, lambda: fsartifacts("pull", "data", "1.0.0"),
            before=lambda: shutil.rmtree(pulled, ignore_errors=True),
        )  # fmt: skip
        base_push = repeat(bench.runs, copy(data), before=clear_copies)
        base_pull = repeat(bench.runs, copy(remote), before=clear_copies)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    label = f"folder of {count:,} x 1 KiB"
    for what, summary in (("push", push), ("pull", pull)):
        bench.detail(f"{label}: {what}", "fsartifacts", summary)
    rows = []
    for what, fa, base in (("push", push, base_push), ("pull", pull, base_pull)):
        rss_ok = fa.peak_rss <= FILES_MAX_RSS
        rows.append(Row(label, FOLDER, f"{what}: peak RSS", mib(fa.peak_rss),
                        f"{name}: {mib(base.peak_rss)}", "",
                        f"<= {mib(FILES_MAX_RSS)}" if memory_only else "",
                        verdict(rss_ok) if memory_only else ""))  # fmt: skip
        speedup = base.wall / fa.wall
        target = "" if memory_only else f">= {FILES_MIN_SPEEDUP:.1f}x"
        rows.append(Row(label, FOLDER, f"{what}: wall time", seconds(fa.wall),
                        f"{name}: {seconds(base.wall)}", times(speedup), target,
                        "" if memory_only else verdict(speedup >= FILES_MIN_SPEEDUP)))  # fmt: skip
    return rows
