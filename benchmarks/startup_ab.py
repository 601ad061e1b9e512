"""The fixed cost of each command, A/B: two revisions of fsartifacts, interleaved.

    python benchmarks/startup_ab.py main HEAD            # 6 runs of each, the default
    python benchmarks/startup_ab.py main~3 main --runs 10

For ``validate``, ``list``, ``push`` and ``pull`` of one small file on each store (a
folder, the local Artifactory server, moto), each revision's copy of the package (from
``git archive``, put first on ``PYTHONPATH``) runs in turn with the other, after one
untimed run each; the table gives the median user + system CPU of the whole process,
start to exit. CPU, not wall time: a busy machine inflates it less, and a command's
fixed cost (imports, configuration, client set-up, exit) is CPU.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import run_measured
from projects import artifactory_store, folder_store, s3_store, write_project
from servers import Artifactory, Moto, child_env

HERE = Path(__file__).resolve().parent
COMMANDS = ("validate", "list", "push", "pull")


def _checkout(revision: str, into: Path) -> Path:
    """The package of ``revision``, as ``git archive`` gives it, under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "fsartifacts"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True, timeout=120)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/startup_ab.py")
    parser.add_argument("a", help="the revision measured first (the baseline), e.g. main")
    parser.add_argument("b", help="the revision compared with it, e.g. HEAD")
    parser.add_argument("--runs", type=int, default=6, help="runs of each (median); default 6")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fsartifacts-startup-ab-"))
    artifactory = moto = None
    try:
        trees = {
            rev: _checkout(rev, scratch / f"tree-{i}") for i, rev in enumerate((args.a, args.b))
        }
        artifactory = Artifactory(scratch / "artifactory")
        (scratch / "aws").mkdir()
        moto = Moto(scratch / "aws")
        moto.client().create_bucket(Bucket="startup")
        (scratch / "store").mkdir()
        stores = {
            "folder": folder_store(scratch / "store"),
            "artifactory": artifactory_store(artifactory.url, artifactory.repo, "startup"),
            "s3": s3_store(moto.url, "startup", "ab", moto.env),
        }
        projects = {}
        for kind, spec in stores.items():
            root = write_project(
                scratch / f"project-{kind}", spec, [("model", "model.pkl")], "1.0.0"
            )
            (root / "model.pkl").write_bytes(b"weights" * 100)
            projects[kind] = (root, child_env({"FSARTIFACTS_CACHE_DIR": str(scratch / "cache"),
                                               **spec.env}))  # fmt: skip
        versions = itertools.count(1)

        def argv(command: str) -> list[str]:
            if command == "push":  # a new version each time: a push never finds its own
                return ["--project-version", f"1.0.{next(versions)}", "push", "model"]
            if command == "pull":
                return ["--project-version", "1.999999.0", "pull", "-o", "model"]
            return [command]

        def run(rev: str, kind: str, command: str) -> float:
            root, env = projects[kind]
            env = {**env, "PYTHONPATH": str(trees[rev])}
            return run_measured([sys.executable, "-m", "fsartifacts", *argv(command)],
                                cwd=root, env=env).cpu  # fmt: skip

        cases = [(c, k) for c in COMMANDS for k in stores if c != "validate" or k == "folder"]
        for kind in stores:  # something to pull
            run(args.a, kind, "push")
        cpu: dict[tuple[str, str, str], list[float]] = {}
        for turn in range(args.runs + 1):  # the first turn is untimed: warm caches
            for command, kind in cases:
                for rev in trees:
                    spent = run(rev, kind, command)
                    if turn:
                        cpu.setdefault((rev, command, kind), []).append(spent)
        print(f"user+sys CPU, median of {args.runs} interleaved runs")
        print(f"{'command':<22}{args.a:>12}{args.b:>12}")
        for command, kind in cases:
            a, b = (statistics.median(cpu[(rev, command, kind)]) for rev in trees)
            print(f"{command + ' (' + kind + ')':<22}{a * 1000:>10.0f}ms{b * 1000:>10.0f}ms"
                  f"  {(b - a) * 1000:+.0f} ms")  # fmt: skip
    finally:
        for server in (artifactory, moto):
            if server is not None:
                server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.chdir(HERE)
    sys.exit(main())
