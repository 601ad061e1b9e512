"""The README stays true: CI runs its test command, a fresh venv runs the demo and installs
the optional parts by name."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.shared import built_once

REPO = Path(__file__).resolve().parents[2]


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
        "from fsartifacts.cli.commands import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = {'fsspec', 's3fs', 'botocore', 'requests', 'yaml', 'cerberus', 'semver'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "repository",
    ["url: s3://my-bucket/models", "s3: {bucket: my-bucket/models, region: us-east-1}"],
)
def test_validate_of_an_s3_project_imports_no_s3_client(tmp_path: Path, repository: str) -> None:
    """validate checks the configuration only: the S3 client's packages are not loaded."""
    (tmp_path / "fsartifacts.yaml").write_text(
        f"version: 1.0.0\nrepository:\n  {repository}\n"
        "  artifacts:\n    - {name: model, file: model.pkl}\n"
    )
    code = (
        "import sys\n"
        "from fsartifacts.cli.commands import main\n"
        "code = main(['validate'])\n"
        "heavy = {'s3fs', 'aiobotocore', 'botocore', 'aiohttp', 'boto3'}\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.stderr.strip().splitlines()[-1] == "0 []", out.stderr


@pytest.fixture(scope="module")
def fresh_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of what a user's fresh clone installs from, after the README's demo command
    ran in it (which made its .venv); returns the checkout and the demo's output. Built
    once per run, whichever xdist workers ask for it."""

    def build(folder: Path) -> str:
        checkout = folder / "checkout"
        shutil.copytree(
            REPO / "fsartifacts",
            checkout / "fsartifacts",
            ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
        )
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, checkout / name)
        demo = subprocess.run(
            readme_commands()[0], shell=True, cwd=checkout, capture_output=True, text=True,
            timeout=900,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stdout + demo.stderr
        return demo.stdout

    folder, output = built_once(tmp_path_factory, "fresh-checkout", build)
    return folder / "checkout", output


def test_the_readme_demo_command_in_a_fresh_virtual_environment(
    fresh_checkout: tuple[Path, str],
) -> None:
    _, output = fresh_checkout
    assert "4 artifacts: 4 pushed" in output
    assert "4 artifacts: 4 pulled" in output
    assert "every pulled byte matches what was pushed" in output


def readme_extras() -> list[str]:
    """The README's install lines for the optional parts: pip install 'fsartifacts[...]'."""
    return re.findall(r"^pip install '(fsartifacts\[[a-z0-9,-]+\])'", readme_text(), re.M)


def readme_text() -> str:
    return (REPO / "README.md").read_text()


def test_the_readme_extras_install_by_name_without_a_conflict(
    fresh_checkout: tuple[Path, str],
) -> None:
    extras = readme_extras()
    assert sorted(extras) == ["fsartifacts[s3-test]", "fsartifacts[upath]"]
    checkout, _ = fresh_checkout
    python = str(checkout / ".venv" / "bin" / "python")
    # The same lines, from the working tree instead of the package index.
    wanted = ",".join(extra.removeprefix("fsartifacts[").removesuffix("]") for extra in extras)
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", f".[{wanted}]"],
        cwd=checkout, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout + check.stderr
    imports = "import boto3, moto.server, upath, fsartifacts.artifactoryfs.upath; print('ok')"
    used = subprocess.run(
        [python, "-c", imports], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert used.stdout.strip() == "ok", used.stdout + used.stderr
