"""The one place errors become exit codes: what the command says when something breaks
that no part of fsartifacts expects (a bug, ours or a library's)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.fixtures.cli import fsartifacts, write_project

# Third-party fsspec filesystems with a bug, installed as a plugin is: a distribution on
# the path whose `fsspec.specs` entry points name them (fsspec registers those on import).
# buggy:// fails to list; buggyrm:// lists a temporary an interrupted push left, and fails
# to delete it.
PLUGIN = """\
from fsspec.implementations.memory import MemoryFileSystem


class BuggyFileSystem(MemoryFileSystem):
    protocol = "buggy"
    session = None  # never opened: the bug

    def ls(self, path, detail=True, **kwargs):
        return self.session.list(path)


class BuggyRmFileSystem(MemoryFileSystem):
    protocol = "buggyrm"
    session = None

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("buggyrm://"))

    def rm(self, path, recursive=False, maxdepth=None):
        return self.session.delete(path)

    def rm_file(self, path):
        return self.session.delete(path)


BuggyRmFileSystem().pipe_file("/store/.model_v1.0.0.pkl.fsartifacts-0123456789ab.part", b"half")
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a command that has the buggy plugin installed."""
    site = tmp_path_factory.mktemp("site")
    (site / "buggyfs.py").write_text(PLUGIN)
    dist = site / "buggyfs-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: buggyfs\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[fsspec.specs]\nbuggy = buggyfs:BuggyFileSystem\nbuggyrm = buggyfs:BuggyRmFileSystem\n"
    )
    return {"PYTHONPATH": str(site)}


def project_on(url: str, tmp_path: Path) -> Path:
    config = textwrap.dedent(f"""\
        repository:
          url: {url}
          artifacts:
            - name: model
              file: model.pkl
        """)
    return write_project(tmp_path / "p", config)


def internal_error_line(stderr: str) -> str:
    """The one line that says what happened, and the way on."""
    (line,) = [line for line in stderr.splitlines() if line.startswith("fsartifacts: error:")]
    assert "internal error" in line and "AttributeError" in line, stderr
    assert "rerun with -v" in line and "report it" in line, stderr
    return line


@pytest.mark.parametrize(
    ("url", "command"),
    [
        # Outside any transfer: the listing of `list` meets the bug in cli.main's own try.
        ("buggy://store", ["list"]),
        # Inside the runner: the failed result of the artifact is not a store failure.
        ("buggy://store", ["pull", "model", "1.0.0"]),
        # gc's failed result for one leftover, outside the runner.
        ("buggyrm://store", ["gc", "--older-than", "0s"]),
    ],
    ids=["list", "pull", "gc"],
)
def test_a_bug_is_an_internal_error_in_one_line_and_its_traceback_at_v(
    url: str, command: list[str], plugin: dict[str, str], tmp_path: Path
) -> None:
    project = project_on(url, tmp_path)
    plain = fsartifacts(*command, cwd=project, env=plugin, timeout=60)
    assert plain.returncode == 1, plain.stderr
    assert "Traceback" not in plain.stderr, plain.stderr
    line = internal_error_line(plain.stderr)

    verbose = fsartifacts("-v", *command, cwd=project, env=plugin, timeout=60)
    assert verbose.returncode == 1, verbose.stderr
    assert "Traceback (most recent call last)" in verbose.stderr, verbose.stderr
    assert "buggyfs.py" in verbose.stderr  # where the bug is
    assert internal_error_line(verbose.stderr) == line
