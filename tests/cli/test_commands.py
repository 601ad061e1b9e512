"""The one place errors become exit codes: what the command says when something breaks
that no part of fsartifacts expects (a bug, ours or a library's)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.fixtures.cli import fsartifacts, write_project

# A third-party fsspec filesystem with a bug, installed as a plugin is: a distribution on
# the path whose `fsspec.specs` entry point names it (fsspec registers those on import).
PLUGIN = """\
from fsspec.implementations.memory import MemoryFileSystem


class BuggyFileSystem(MemoryFileSystem):
    protocol = "buggy"
    session = None  # never opened: the bug

    def ls(self, path, detail=True, **kwargs):
        return self.session.list(path)
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a command that has the buggy plugin installed."""
    site = tmp_path_factory.mktemp("site")
    (site / "buggyfs.py").write_text(PLUGIN)
    dist = site / "buggyfs-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: buggyfs\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[fsspec.specs]\nbuggy = buggyfs:BuggyFileSystem\n")
    return {"PYTHONPATH": str(site)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = textwrap.dedent("""\
        repository:
          url: buggy://store
          artifacts:
            - name: model
              file: model.pkl
        """)
    return write_project(tmp_path_factory.mktemp("p"), config)


def internal_error_line(stderr: str) -> str:
    """The one line that says what happened, and the way on."""
    (line,) = [line for line in stderr.splitlines() if line.startswith("fsartifacts: error:")]
    assert "internal error" in line and "AttributeError" in line, stderr
    assert "rerun with -v" in line and "report it" in line, stderr
    return line


@pytest.mark.parametrize(
    "command",
    [
        # Outside any transfer: the listing of `list` meets the bug in cli.main's own try.
        ["list"],
        # Inside the runner: the failed result of the artifact is not a store failure.
        ["pull", "model", "1.0.0"],
    ],
    ids=["list", "pull"],
)
def test_a_bug_is_an_internal_error_in_one_line_and_its_traceback_at_v(
    command: list[str], plugin: dict[str, str], project: Path
) -> None:
    plain = fsartifacts(*command, cwd=project, env=plugin, timeout=60)
    assert plain.returncode == 1, plain.stderr
    assert "Traceback" not in plain.stderr, plain.stderr
    line = internal_error_line(plain.stderr)

    verbose = fsartifacts("-v", *command, cwd=project, env=plugin, timeout=60)
    assert verbose.returncode == 1, verbose.stderr
    assert "Traceback (most recent call last)" in verbose.stderr, verbose.stderr
    assert "buggyfs.py" in verbose.stderr  # where the bug is
    assert internal_error_line(verbose.stderr) == line
