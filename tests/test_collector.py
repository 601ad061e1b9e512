"""The collector is paused only while long-lived things load (a store's libraries, the
package's modules, the configuration), and is back on after."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.collector import before_exit, command_process, loading
from tests.fixtures.cli import command_env, write_api_project, write_project


class Cycle:
    """Garbage only the cyclic collector frees."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    command_process(False)
    gc.unfreeze()
    gc.enable()


def test_loading_pauses_collections_and_freezes_what_was_made() -> None:
    gc.unfreeze()
    command_process()
    with loading():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)


def test_loading_turns_the_collector_back_on_after_a_failed_import() -> None:
    with pytest.raises(ImportError), loading():
        import fsartifacts.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


def test_nested_loading_leaves_the_collector_on_once_the_outer_one_ends() -> None:
    with loading():
        with loading():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_program_stays_off() -> None:
    gc.disable()
    with loading():
        pass
    assert not gc.isenabled()


def test_before_exit_leaves_every_object_out_of_the_last_collection() -> None:
    gc.unfreeze()
    kept = [[i] for i in range(1000)]
    before_exit()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.isenabled()


def test_a_program_using_the_api_keeps_collecting_its_garbage(tmp_path: Path) -> None:
    """Freezing leaves objects out of every later collection: in a program that loads and
    pushes again and again, each freeze kept the cyclic garbage it found for good (29 of
    30 such objects after 30 pushes). Only the command's own short process freezes."""
    gc.unfreeze()
    project = Project.load(start=write_api_project(tmp_path / "p"), environ={})
    held = [Cycle()]
    gone = weakref.ref(held[0])
    gc.collect()  # it survives into the oldest generation, as a long program's garbage does
    del held  # garbage now, until the next full collection
    assert project.push("model", force=True).ok  # opens the store: its libraries load
    gc.collect()
    assert gone() is None


def test_the_command_freezes_what_its_store_loading_made(tmp_path: Path) -> None:
    gc.unfreeze()
    command_process()
    try:
        project = Project.load(start=write_api_project(tmp_path / "p"), environ={})
        assert project.push("model").ok
    finally:
        command_process(False)
    assert gc.get_freeze_count() > 0


# In a fresh interpreter that is a command's process, as the console script's: runs
# `validate` then `list` on a folder store, and prints the frames that were running
# whenever a collection started.
COLLECTIONS_DURING_COMMANDS = """\
import gc, json, sys, traceback
from fsartifacts.cli.commands import main
from fsartifacts.collector import command_process
command_process()
seen = []
def started(phase, info):
    if phase == "start":
        seen.append([f"{f.filename}:{f.name}" for f in traceback.extract_stack()[:-1]])
gc.callbacks.append(started)
codes = [main(["validate"]), main(["list"])]
gc.callbacks.remove(started)
print(json.dumps({"codes": codes, "stacks": seen}))
"""


def test_a_command_loads_its_project_and_the_engine_without_collections(tmp_path: Path) -> None:
    """The package's modules, the configuration and the engine's libraries are made once
    and kept: no collection traverses them while they are made."""
    (tmp_path / "store").mkdir()
    root = write_project(
        tmp_path / "project",
        f"repository:\n  url: {tmp_path / 'store'}\n  artifacts:\n    - {{name: m, file: m.bin}}\n",
    )
    done = subprocess.run(
        [sys.executable, "-c", COLLECTIONS_DURING_COMMANDS],
        cwd=root, env={**command_env(root), "CI": "true"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["codes"] == [0, 0]
    loading_frames = (f"{Path('fsartifacts', 'cli', 'commands.py')}:_load", "runner.py:<module>")
    during = [stack for stack in report["stacks"] if any(f.endswith(loading_frames) for f in stack)]
    assert during == []
