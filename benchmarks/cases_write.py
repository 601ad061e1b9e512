"""Case 5: a 1 GiB ``open("wb")`` write through ``artifactory://``, in a process of its own.

The writer (``writer_open.py``) generates its bytes as it writes them, so it has no
file to read; it runs with ``RLIMIT_FSIZE`` at 64 MiB, so any local file it wrote
bigger than that (a spool of what it sends) would kill it, and with ``TMPDIR`` on an
empty folder, checked empty afterwards. The baseline is ``curl -T`` of the same size,
which reads a file that already exists on local disk. Throughput is shown without a
target: the streamed file is published by a checksum deploy, which the local server
(in the driver, on the same two cores) carries out by copying the content once more.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import Bench
from measure import MiB, Sample, Summary, run_measured, write_random_file
from projects import ARTIFACTORY
from remotes import PUSH, ArtifactoryRemote, large_remote
from servers import child_env
from table import Row, mib, rate, seconds, times, verdict

WRITER = Path(__file__).resolve().parent / "writer_open.py"
RSS_LIMIT = 150  # MiB: what a write may hold, whatever its size
FILE_LIMIT = 64 * MiB  # RLIMIT_FSIZE of the writer: the largest local file it may write


def stream_write(bench: Bench) -> list[Row]:
    size = bench.large_size(ARTIFACTORY)
    bench.note(f"write: {mib(size)} open('wb') on artifactory")
    bench.warm_memory(2 * size)
    remote = large_remote(bench, ARTIFACTORY, "write")
    assert isinstance(remote, ArtifactoryRemote)
    root = bench.scratch("write")
    tmp = root / "tmp"
    tmp.mkdir()
    local = root / "baseline.bin"
    write_random_file(local, size)
    url = f"artifactory://{remote.server.repo}/{remote.path}/written.bin"
    env = child_env({"TMPDIR": str(tmp)})
    argv = [sys.executable, str(WRITER), remote.server.url, url, str(size), str(FILE_LIMIT)]

    def write() -> Sample:
        remote.remove("written.bin")
        return run_measured(argv, env=env)

    # curl -T of the same size, or why it cannot run here.
    curl = remote.baselines(PUSH, local, "copy.bin")[0]

    def baseline() -> Sample:
        assert curl.argv is not None
        remote.remove("copy.bin")
        return run_measured(curl.argv, env=env, reads=[local])

    runs = bench.runs
    samples: list[list[Sample]] = [[], []]
    for _ in range(runs):
        samples[0].append(write())
        if curl.argv is not None:
            samples[1].append(baseline())
    fa = Summary.of(samples[0])
    leftovers = sorted(p.name for p in tmp.iterdir())
    remote.remove("written.bin")
    remote.remove("copy.bin")
    case = f"open('wb') write of {mib(size)}"
    rss = fa.peak_rss / MiB
    rows = []
    if samples[1]:
        base = Summary.of(samples[1])
        ratio = rate(size, fa.wall) / rate(size, base.wall)
        ours = f"{rate(size, fa.wall):.0f} MiB/s ({seconds(fa.wall)})"
        rows.append(Row(
            case, ARTIFACTORY, "throughput", ours,
            f"curl -T: {rate(size, base.wall):.0f} MiB/s ({seconds(base.wall)})", times(ratio),
        ))  # fmt: skip
        bench.detail(case, "curl -T", base)
        base_rss = f"curl -T: {mib(base.peak_rss)}"
    else:
        rows.append(Row(case, ARTIFACTORY, "throughput", f"{rate(size, fa.wall):.0f} MiB/s",
                        f"curl -T: not run ({curl.why_not})"))  # fmt: skip
        base_rss = "n/a"
    rows.append(Row(case, ARTIFACTORY, "peak RSS", f"{rss:.0f} MiB", base_rss, "",
                    f"<= {RSS_LIMIT} MiB", verdict(rss <= RSS_LIMIT)))  # fmt: skip
    rows.append(Row(
        case, ARTIFACTORY, "local disk", f"no file over {mib(FILE_LIMIT)}; TMPDIR "
        + ("empty" if not leftovers else f"holds {', '.join(leftovers)}"),
        f"curl -T: reads a {mib(size)} file", "", "no spool", verdict(not leftovers),
    ))  # fmt: skip
    bench.detail(case, "fsartifacts (artifactory:// open('wb'))", fa)
    return rows
