"""Case 4: start-up. ``fsartifacts --help`` and ``fsartifacts validate`` against ``python -c pass``.

Each command runs ~10 times, taken in turns; the median wall time is
reported. Which modules a command imports comes from ``python -X
importtime``: ``--help`` must not load fsspec, s3fs or requests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import Bench
from measure import Sample, Summary, run_measured
from projects import folder_store, fsartifacts_command, write_project
from servers import child_env
from table import Row, seconds, verdict

HELP_LIMIT = 0.100  # seconds over `python -c pass`
FORBIDDEN_AT_HELP = ("fsspec", "s3fs", "requests")
HEAVY = (*FORBIDDEN_AT_HELP, "botocore", "boto3", "aiobotocore", "urllib3", "yaml", "cerberus")


def startup(bench: Bench) -> list[Row]:
    bench.note("startup: --help and validate against python -c pass")
    root = bench.scratch("startup")
    project = write_project(
        root / "project", folder_store(root / "store"), [("model", "model.pkl")], "1.0.0"
    )
    env = child_env({"FSARTIFACTS_CACHE_DIR": str(root / "cache")})
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fsartifacts --help": [*fsartifacts_command(), "--help"],
        "fsartifacts validate": [*fsartifacts_command(), "validate"],
    }
    runs = 3 if bench.quick else max(10, bench.runs)
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for argv in commands.values():  # one untimed run each: warm the page cache
        run_measured(argv, cwd=project, env=env)
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_measured(argv, cwd=project, env=env))
    medians = {name: Summary.of(s) for name, s in samples.items()}
    for name, summary in medians.items():
        bench.detail("startup", name, summary)
    python = medians["python -c pass"].wall

    rows = []
    for name in ("fsartifacts --help", "fsartifacts validate"):
        extra = medians[name].wall - python
        limited = name.endswith("--help")
        rows.append(Row(
            name, "-", "wall time", _with_cpu(medians[name]),
            f"python -c pass: {_with_cpu(medians['python -c pass'])}", f"+{extra * 1000:.0f} ms",
            f"<= +{HELP_LIMIT * 1000:.0f} ms" if limited else "",
            verdict(extra <= HELP_LIMIT) if limited else "",
        ))  # fmt: skip
        imported = imports(commands[name][-1], project, env)
        heavy = [m for m in HEAVY if m in imported.modules]
        if limited:
            forbidden = [m for m in FORBIDDEN_AT_HELP if m in imported.modules]
            rows.append(Row(
                name, "-", "heavy imports", ", ".join(heavy) or "none", "", "",
                f"none of {', '.join(FORBIDDEN_AT_HELP)}", verdict(not forbidden),
            ))  # fmt: skip
            if extra > HELP_LIMIT or forbidden:
                bench.details.append(f"{name}: slowest imports (cumulative): {imported.top(8)}")
        else:
            rows.append(Row(name, "-", "heavy imports", ", ".join(heavy) or "none", ""))
    return rows


def _with_cpu(summary: Summary) -> str:
    """Wall time, and CPU time, which a busy machine inflates less."""
    return f"{seconds(summary.wall)} (cpu {summary.cpu * 1000:.0f} ms)"


class ImportTimes:
    """What ``python -X importtime`` reported: every module, and the cumulative
    microseconds of those imported at the top two levels of nesting."""

    def __init__(self, stderr: str) -> None:
        self.cumulative: dict[str, int] = {}
        self.modules: set[str] = set()
        for line in stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if not line.startswith("import time:") or len(fields) != 3:
                continue
            cumulative, raw_name = fields[1].strip(), fields[2]
            if not cumulative.isdigit():
                continue  # the header line
            name = raw_name.strip()
            self.modules.add(name.split(".")[0])
            depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
            if depth <= 1:
                self.cumulative[name] = max(self.cumulative.get(name, 0), int(cumulative))

    def top(self, n: int) -> str:
        ranked = sorted(self.cumulative.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in ranked)


def imports(subcommand: str, cwd: Path, env: dict[str, str]) -> ImportTimes:
    """The imports of ``fsartifacts <subcommand>``, from ``-X importtime``."""
    command = fsartifacts_command()
    target = [command[0]] if len(command) == 1 else command[1:]  # script, or -m fsartifacts
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *target, subcommand],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return ImportTimes(done.stderr)
