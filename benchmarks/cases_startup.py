"""Case 4: start-up. ``fsartifacts --help``, ``validate`` and ``list`` against ``python -c pass``.

Each command runs ~10 times, taken in turns; the median wall time is
reported. ``list`` runs on a folder store and (but with --quick) on the local
Artifactory server and on moto: its time is the start-up plus one listing.
Which modules a command imports comes from ``python -X importtime``: ``--help``
must not load fsspec, s3fs or requests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import Bench
from measure import Sample, Summary, run_measured
from projects import ARTIFACTORY, S3, folder_store, fsartifacts_command, write_project
from remotes import large_remote
from servers import child_env
from table import Row, seconds, verdict

HELP_LIMIT = 0.100  # seconds over `python -c pass`
FORBIDDEN_AT_HELP = ("fsspec", "s3fs", "requests")
HEAVY = (*FORBIDDEN_AT_HELP, "botocore", "boto3", "aiobotocore", "urllib3", "yaml", "cerberus")


def startup(bench: Bench) -> list[Row]:
    bench.note("startup: --help, validate and list against python -c pass")
    root = bench.scratch("startup")
    (root / "store").mkdir(exist_ok=True)
    project = write_project(
        root / "project", folder_store(root / "store"), [("model", "model.pkl")], "1.0.0"
    )
    env = child_env({"FSARTIFACTS_CACHE_DIR": str(root / "cache")})
    fsartifacts = fsartifacts_command()
    # name: (argv, project, environment)
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], project, env),
        "fsartifacts --help": ([*fsartifacts, "--help"], project, env),
        "fsartifacts validate": ([*fsartifacts, "validate"], project, env),
        "fsartifacts list (folder)": ([*fsartifacts, "list"], project, env),
    }
    for kind in () if bench.quick else bench.on(ARTIFACTORY, S3):
        spec = large_remote(bench, kind, "startup").spec
        on = write_project(root / f"project-{kind}", spec, [("model", "model.pkl")], "1.0.0")
        # One version on the store (pushed untimed): a listing of a store folder that does
        # not exist is an error, not an empty store.
        (on / "model.pkl").write_bytes(b"model")
        run_measured([*fsartifacts, "push", "model"], cwd=on, env={**env, **spec.env})
        commands[f"fsartifacts list ({kind})"] = ([*fsartifacts, "list"], on, {**env, **spec.env})
    runs = 3 if bench.quick else max(10, bench.runs)
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for argv, cwd, child in commands.values():  # one untimed run each: warm the page cache
        run_measured(argv, cwd=cwd, env=child)
    for _ in range(runs):
        for name, (argv, cwd, child) in commands.items():
            samples[name].append(run_measured(argv, cwd=cwd, env=child))
    medians = {name: Summary.of(s) for name, s in samples.items()}
    for name, summary in medians.items():
        bench.detail("startup", name, summary)
    python = medians["python -c pass"].wall

    rows = []
    for name in list(commands)[1:]:
        argv, cwd, child = commands[name]
        extra = medians[name].wall - python
        limited = name.endswith("--help")
        rows.append(Row(
            name, "-", "wall time", _with_cpu(medians[name]),
            f"python -c pass: {_with_cpu(medians['python -c pass'])}", f"+{extra * 1000:.0f} ms",
            f"<= +{HELP_LIMIT * 1000:.0f} ms" if limited else "",
            verdict(extra <= HELP_LIMIT) if limited else "",
        ))  # fmt: skip
        imported = imports(argv[-1], cwd, child)
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
            bench.details.append(f"{name}: slowest imports (cumulative): {imported.top(6)}")
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
