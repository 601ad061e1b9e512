"""The command line's options reach the options of each push and pull."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.cli.commands import main
from fsartifacts.engine.runner import Engine
from tests.fixtures.cli import write_project


@pytest.fixture
def asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The options of every push and pull the commands run (each still runs), in a
    project on a folder store."""
    config = textwrap.dedent(f"""\
        repository:
          url: {tmp_path / "store"}
          artifacts:
            - name: model
              file: model.pkl
        """)
    project = write_project(tmp_path / "p", config)
    (project / "model.pkl").write_bytes(b"weights")
    monkeypatch.chdir(project)
    monkeypatch.setenv("FSARTIFACTS_CACHE_DIR", str(tmp_path / "hash-cache"))
    seen: list[Any] = []
    push, pull = Engine.push, Engine.pull

    def spy_push(self: Engine, *args: Any) -> Any:
        seen.append(args[-1])
        return push(self, *args)

    def spy_pull(self: Engine, *args: Any) -> Any:
        seen.append(args[-1])
        return pull(self, *args)

    monkeypatch.setattr(Engine, "push", spy_push)
    monkeypatch.setattr(Engine, "pull", spy_pull)
    return seen


def test_no_resume_reaches_the_options_of_push_pull_and_both_syncs(asked: list[Any]) -> None:
    runs = [
        ["push", "model"],
        ["push", "model", "-f", "--no-resume"],
        ["sync", "push", "--no-resume"],
        ["pull", "model", "1.0.0"],
        ["pull", "model", "1.0.0", "--no-resume"],
        ["sync", "pull", "model", "--no-resume"],
    ]
    for argv in runs:
        assert main(["--no-progress", "-q", *argv]) == 0, argv
    assert [options.resume for options in asked] == [True, False, False, True, False, False]
