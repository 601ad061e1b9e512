"""The benchmark script runs: its smallest cases, end to end, prints the table.

Speed and memory are measured by ``python benchmarks/run.py`` itself, never
asserted here: this only proves the script works (exit 0, the table's header,
the start-up rows, and a peer that is not installed shown as "not run" with the
way to install it), so it cannot rot unnoticed. It installs nothing: without
``--setup`` a quick run never does, and its tools folder is an empty one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_startup_case_prints_the_table(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSARTIFACTS_")}
    # Works whether or not the package is installed (the run falls back to -m fsartifacts).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "startup",
            "--only", "peers", "--tools", str(tmp_path / "tools")]  # fmt: skip
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| case"))
    for column in ("fsartifacts", "baseline", "ratio", "target", "verdict"):
        assert f" {column} " in header
    rows = [line for line in lines if line.startswith("| fsartifacts ")]
    assert any("--help" in row and "wall time" in row for row in rows), done.stdout
    assert any("validate" in row and "wall time" in row for row in rows), done.stdout
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    targeted = [c for c in cells if c[6]]  # the target column
    assert targeted, done.stdout  # --help has its targets: time and imports
    assert all(c[7] in ("PASS", "MISS") for c in targeted), done.stdout
    # The peers installed into the (empty) tools folder are missing, and say how to get them.
    peers = {c[2]: c[4] for c in cells_of(lines, "| peers ")}
    for peer in ("awscli", "dvc"):
        (found,) = [v for k, v in peers.items() if k.startswith(peer)]
        assert found.startswith("not run (") and "--setup" in found, done.stdout
    assert not (tmp_path / "tools").exists()  # nothing was installed


def cells_of(lines: list[str], start: str) -> list[list[str]]:
    return [[c.strip() for c in row.strip().strip("|").split("|")] for row in lines
            if row.startswith(start)]  # fmt: skip
