"""The README's two commands stay true: CI runs the test one, a fresh venv runs the demo."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    section = (REPO / "README.md").read_text().split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_readme_gives_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert "fsartifacts demo" in commands[0]
    assert "tox" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_help_does_not_import_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from fsartifacts.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = {'fsspec', 's3fs', 'botocore', 'requests', 'yaml', 'cerberus', 'semver'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_readme_demo_command_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    # What a user's fresh clone needs to install: the package and its metadata.
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO / "src", checkout / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, checkout / name)
    demo = subprocess.run(
        readme_commands()[0], shell=True, cwd=checkout, capture_output=True, text=True, timeout=900
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "4 artifacts: 4 pushed" in demo.stdout
    assert "4 artifacts: 4 pulled" in demo.stdout
    assert "every pulled byte matches what was pushed" in demo.stdout
