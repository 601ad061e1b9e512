"""Case ``folders``: one folder artifact of many files, against rclone, awscli and dvc.

A folder of 2,000 files of 32 KiB (``--quick``: 40 of 4 KiB), 20 folders of 100, on
moto (no added latency) and on the local Artifactory server answering every request
after 20 ms. Each tool (folder_tools.py) runs four steps with the same parallelism N
(fsartifacts' ``-j``): push 1.0.0, pull it into an empty place, push 1.1.0 with 1% of
the files rewritten, and move the pulled copy to 1.1.0. The tools take turns within
each run, so drift in the machine's load hits them all alike.

Rows: each step's wall time against each peer; for push and pull, a row against the
fastest peer that ran (target: at least 1.0x); for the two steps of 1.1.0, the bytes
of request and response bodies the server counted, as a share of the folder (target:
at most 3% for fsartifacts; the peers' shares are shown beside it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from bench import Bench
from folder_tools import (
    PULL,
    PUSH,
    PUSH_NEXT,
    STEPS,
    FolderTool,
    Fsartifacts,
    Place,
    Step,
    artifactory_tools,
    s3_tools,
)
from measure import CommandFailed, KiB, Sample, Summary
from projects import ARTIFACTORY, S3, artifactory_store, s3_store
from servers import Artifactory, Moto, curl_path
from table import Row, seconds, times, verdict

JOBS = 8
LATENCY = {S3: 0.0, ARTIFACTORY: 0.020}
CHANGED = 0.01
MAX_FRACTION = 0.03
MIN_RATIO = 1.0
BUCKET, FOLDER = "folders-bucket", "folders"


def folders(bench: Bench) -> list[Row]:
    count, size = (40, 4 * KiB) if bench.quick else (2000, 32 * KiB)
    rows: list[Row] = []
    for kind in bench.on(S3, ARTIFACTORY):
        bench.note(f"folders: {count} files x {size // KiB} KiB on {kind}, -j {JOBS}")
        rows += _folders_on(bench, kind, count, size)
    return rows


def _place(bench: Bench, kind: str) -> tuple[Place, list[FolderTool], Artifactory | Moto]:
    root, scratch = bench.scratch(f"folders-{kind}"), bench.scratch(f"folders-{kind}-tools")
    if kind == S3:
        moto = bench.moto()
        client = moto.client()
        client.create_bucket(Bucket=BUCKET)

        def clear_s3(prefix: str) -> None:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix=f"{prefix}/"
            )
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})

        place = Place(
            root, scratch, moto.url, BUCKET,
            lambda prefix: s3_store(moto.url, BUCKET, prefix, moto.env), clear_s3,
            moto.env, JOBS,
        )  # fmt: skip
        return place, s3_tools(place, bench.peers), moto
    server = bench.artifactory()

    def clear_artifactory(prefix: str) -> None:
        import requests

        response = requests.delete(server.file_url(f"{FOLDER}/{prefix}"), timeout=120)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    place = Place(
        root, scratch, server.url, f"{server.repo}/{FOLDER}",
        lambda prefix: artifactory_store(server.url, server.repo, f"{FOLDER}/{prefix}"),
        clear_artifactory, {}, JOBS,
    )  # fmt: skip
    return place, artifactory_tools(place, bench.peers, curl_path()), server


def _folders_on(bench: Bench, kind: str, count: int, size: int) -> list[Row]:
    place, tools, server = _place(bench, kind)
    names = [f"part-{i // 100:03d}/{i:05d}.bin" for i in range(count)]
    changed = names[:: round(1 / CHANGED)]
    v1 = {name: os.urandom(size) for name in changed}
    v2 = {name: os.urandom(size) for name in changed}
    for name in names:
        path = place.data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(v1.get(name) or os.urandom(size))
    total = count * size

    def write(contents: dict[str, bytes]) -> None:
        for name, data in contents.items():
            (place.data / name).write_bytes(data)

    walls: dict[tuple[str, str], list[Sample]] = {}
    moved: dict[tuple[str, str], int] = {}  # (tool, step) -> bytes, from the last run
    why_not: dict[tuple[str, str], str] = {}
    server.set_latency(LATENCY[kind])
    try:
        for _ in range(bench.runs):
            for tool in tools:
                write(v1)
                _cycle(tool, write, v2, server, walls, moved, why_not)
    finally:
        server.set_latency(0)
        for tool in tools:
            place.clear(tool.prefix)
        shutil.rmtree(place.root, ignore_errors=True)
        shutil.rmtree(place.scratch, ignore_errors=True)
    summaries = {key: Summary.of(samples) for key, samples in walls.items()}
    label = f"folder {count:,} x {size // KiB} KiB, -j {JOBS}"
    if LATENCY[kind]:
        label += f", {LATENCY[kind] * 1000:.0f} ms latency"
    for (tool_label, step), summary in summaries.items():
        bench.detail(f"{label}: {step} on {kind}", tool_label, summary)
    return _rows(label, kind, tools, summaries, moved, why_not, total)


def _cycle(
    tool: FolderTool, write: Callable[[dict[str, bytes]], None], v2: dict[str, bytes],
    server: Artifactory | Moto, walls: dict[tuple[str, str], list[Sample]],
    moved: dict[tuple[str, str], int], why_not: dict[tuple[str, str], str],
) -> None:  # fmt: skip
    """One tool's four steps. A peer's command that fails ends its steps of this run, each
    shown as failed with the tool's last words; fsartifacts failing fails the case."""
    failed = None
    try:
        tool.reset()
        steps = tool.steps()
    except CommandFailed as exc:
        if isinstance(tool, Fsartifacts):
            raise
        failed, steps = _failed(exc), {}
    for step in STEPS:
        if step == PUSH_NEXT:
            write(v2)
        if failed is not None:
            why_not[(tool.label, step)] = failed
            continue
        try:
            _take(tool, step, steps[step], server, walls, moved, why_not)
        except CommandFailed as exc:
            if isinstance(tool, Fsartifacts):
                raise
            failed = why_not[(tool.label, step)] = _failed(exc)


def _failed(exc: CommandFailed) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"failed ({lines[-1][:160] if lines else 'no output'})"


def _take(
    tool: FolderTool, step: str, command: Step, server: Artifactory | Moto,
    walls: dict[tuple[str, str], list[Sample]], moved: dict[tuple[str, str], int],
    why_not: dict[tuple[str, str], str],
) -> None:  # fmt: skip
    """Run one step of one tool (or note why it does not run), with the bytes it moved."""
    key = (tool.label, step)
    if isinstance(command, str):
        why_not[key] = command
        return
    server.clear_requests()
    sample = command()
    walls.setdefault(key, []).append(sample)
    requests = server.requests()
    pushing = step in (PUSH, PUSH_NEXT)
    moved[key] = sum(r.bytes_in if pushing else r.bytes_out for r in requests)


def _rows(
    label: str, kind: str, tools: list[FolderTool], summaries: dict[tuple[str, str], Summary],
    moved: dict[tuple[str, str], int], why_not: dict[tuple[str, str], str], total: int,
) -> list[Row]:  # fmt: skip
    rows: list[Row] = []
    fa_label = Fsartifacts.label
    peers = [t.label for t in tools if t.label != fa_label]
    for step in STEPS:
        fa = summaries[(fa_label, step)]
        ran: list[tuple[Summary, str]] = []
        for peer in peers:
            key = (peer, step)
            if key in why_not:
                rows.append(Row(label, kind, f"{step}: wall time", seconds(fa.wall),
                                f"{peer}: {why_not[key]}"))  # fmt: skip
                continue
            base = summaries[key]
            ran.append((base, peer))
            rows.append(Row(label, kind, f"{step}: wall time", seconds(fa.wall),
                            f"{peer}: {seconds(base.wall)}",
                            times(base.wall / fa.wall)))  # fmt: skip
        if step in (PUSH, PULL):
            rows.append(_fastest(label, kind, step, fa, ran))
        else:
            rows.append(_bytes_row(label, kind, step, moved, peers, why_not, total))
    return rows


def _fastest(label: str, kind: str, step: str, fa: Summary, ran: list[tuple[Summary, str]]) -> Row:
    metric = f"{step}: wall time vs fastest peer"
    target = f">= {MIN_RATIO:.1f}x"
    if not ran:
        return Row(label, kind, metric, seconds(fa.wall), "not run (no peer ran)", "", target,
                   "n/a")  # fmt: skip
    best, peer = min(ran, key=lambda pair: pair[0].wall)
    ratio = best.wall / fa.wall
    return Row(label, kind, metric, seconds(fa.wall), f"{peer}: {seconds(best.wall)}",
               times(ratio), target, verdict(ratio >= MIN_RATIO))  # fmt: skip


def _bytes_row(
    label: str, kind: str, step: str, moved: dict[tuple[str, str], int], peers: list[str],
    why_not: dict[tuple[str, str], str], total: int,
) -> Row:  # fmt: skip
    """The bytes a step of 1.1.0 moved (bodies, as the server counted them), of the folder."""
    share: Callable[[int], str] = lambda n: f"{n / total:.1%}"  # noqa: E731
    fa = moved[(Fsartifacts.label, step)]
    others = [f"{p}: {share(moved[(p, step)])}" for p in peers if (p, step) not in why_not]
    fraction = fa / total
    return Row(
        label, kind, f"{step}: bytes {'sent' if step == PUSH_NEXT else 'received'}",
        f"{share(fa)} ({fa // KiB} KiB)", "; ".join(others) or "no peer ran",
        f"{total / max(fa, 1):.0f}x", f"<= {MAX_FRACTION:.0%}",
        verdict(fraction <= MAX_FRACTION),
    )  # fmt: skip
