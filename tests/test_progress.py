"""Progress bars: on a terminal without CI only, on stderr, never mixed into results."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path
from typing import Any

import semver
from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine.runner import Engine
from fsartifacts.progress import bars, wanted
from fsartifacts.progressbars import CountsFiles, Tally
from fsartifacts.stores.url import open_url_store
from tests.fixtures.cli import BIN, write_project

MiB = 1024 * 1024


def test_wanted_only_on_a_terminal_without_ci() -> None:
    assert not wanted(disabled=False, environ={"CI": "true"})
    assert not wanted(disabled=True, environ={})
    # Under pytest stderr is captured, not a terminal.
    assert not wanted(disabled=False, environ={})


def run_with_stderr_on_a_terminal(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[str, str]:
    leader, follower = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, which leaves a bar no room at all.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.run(
            [str(BIN), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            text=True,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything is read
                break
            if not data:
                break
            chunks.append(data)
        assert proc.returncode == 0
        return proc.stdout, b"".join(chunks).decode(errors="replace")
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)


def test_a_bar_on_a_terminal_and_none_in_ci(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        "repository:\n  url: file://./store\n  artifacts:\n    - {name: model, file: model.pkl}\n",
    )
    (root / "model.pkl").write_bytes(os.urandom(3 * 1024 * 1024))
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("FSARTIFACTS_")}
    env["FSARTIFACTS_CACHE_DIR"] = str(tmp_path / "cache")

    stdout, terminal = run_with_stderr_on_a_terminal(["push", "model"], root, env)
    assert "model 1.0.0: " in terminal  # one bar for the artifact, by name and version
    # The size and the rate in binary units with their binary names, as every other output.
    assert "/3.0 MiB" in terminal
    assert re.search(r"(\d|\?) (B|KiB|MiB|GiB)/s", terminal), terminal
    assert not re.search(r"\d(k|M|G)B", terminal), terminal
    assert "\r" not in stdout  # results stay clean

    stdout, terminal = run_with_stderr_on_a_terminal(
        ["pull", "model", "LATEST"], root, {**env, "CI": "true"}
    )
    assert "pulled" in stdout
    assert terminal.strip() == ""


def test_one_bar_per_artifact_shows_its_files_and_bytes() -> None:
    stream = io.StringIO()
    bar = bars("features 1.2.0", 64 * MiB, 2000, stream=stream)
    tally = Tally(bar)
    for _ in range(412):
        share = tally.share()
        share.set_size(32 * 1024)  # a file's own size is not the bar's total
        share.relative_update(32 * 1024)
        tally.file_done(share)
    assert bar.text().startswith("features 1.2.0: 412/2000 files, 12.9/64.0 MiB, ")
    assert "features 1.2.0: 0/2000 files, 0.0/64.0 MiB" in stream.getvalue()  # shown at once
    # A transfer that starts over, or fails, takes back what it had counted.
    share = tally.share()
    share.relative_update(5 * MiB)
    share.absolute_update(0)
    share.relative_update(MiB)
    tally.undo(share)
    assert bar.text().startswith("features 1.2.0: 412/2000 files, 12.9/64.0 MiB, ")
    tally.close()


def test_without_a_bar_every_file_shares_one_silent_callback() -> None:
    """No bar shown (not a terminal, --json, CI): nothing per file is made or counted."""
    tally = Tally(NoOpCallback())
    share = tally.share()
    assert tally.share() is share
    share.set_size(1024)
    share.relative_update(1024)
    tally.file_done(share)
    tally.undo(share)
    tally.close()


def test_a_file_artifact_bar_has_no_file_count() -> None:
    bar = bars("model 1.0.0", 3 * MiB, stream=io.StringIO())
    bar.relative_update(MiB)
    assert bar.text().startswith("model 1.0.0: 1.0/3.0 MiB, ")
    bar.close()


class Recorded(CountsFiles):
    def __init__(self, label: str, size: int | None, files: int | None) -> None:
        super().__init__(size, files)
        self.label, self.closed = label, False

    def close(self) -> None:
        self.closed = True


def test_the_engine_feeds_one_bar_per_folder_from_all_its_files(tmp_path: Path) -> None:
    root = tmp_path / "project"
    for i in range(7):
        (root / "data" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / "data" / f"d{i % 3}" / f"{i}.bin").write_bytes(os.urandom(1000 + i))
    made: list[Recorded] = []

    def progress(label: str, size: int | None, files: int | None = None) -> Callback:
        made.append(Recorded(label, size, files))
        return made[-1]

    store = open_url_store("file://./store", {}, tmp_path, TransferSettings())
    engine = Engine(store, root, jobs=3, progress=progress)
    data = Artifact("data", "data")
    total = sum(1000 + i for i in range(7))
    pushed = engine.push(data, semver.Version.parse("1.0.0"))
    pulled = engine.pull(data, "1.0.0", semver.Version.parse("1.0.0"))
    assert (pushed.action, pulled.action) == ("pushed", "pulled")
    seen: list[Any] = [(b.label, b.size, b.files, b.value, b.files_done, b.closed) for b in made]
    assert seen == [("data 1.0.0", total, 7, total, 7, True)] * 2


def test_copies_advance_the_bar_as_transfers_do(tmp_path: Path) -> None:
    """A version copied on the store from an earlier one with the same content, and a pull
    served from a project file with the recorded content, fill their bar (bytes and files)
    as the upload or download they spare would have."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    for i in range(3):
        (root / "data" / f"{i}.bin").write_bytes(os.urandom(1000 + i))
    (root / "model.bin").write_bytes(os.urandom(5000))
    made: list[Recorded] = []

    def progress(label: str, size: int | None, files: int | None = None) -> Callback:
        made.append(Recorded(label, size, files))
        return made[-1]

    store = open_url_store("file://./store", {}, tmp_path, TransferSettings())
    engine = Engine(store, root, jobs=2, progress=progress)
    model, data = Artifact("model", "model.bin"), Artifact("data", "data")
    v1, v2 = semver.Version.parse("1.0.0"), semver.Version.parse("1.0.1")
    for artifact in (model, data):
        engine.push(artifact, v1)
        made.clear()
        assert engine.push(artifact, v2).action == "pushed"  # every byte copied on the store
        assert engine.pull(artifact, "1.0.1", v2).action == "pulled"  # from the project's
        seen = [(b.label, b.value, b.files_done, b.closed) for b in made]
        total, files = (5000, 1) if artifact is model else (3003, 3)
        assert seen == [(f"{artifact.name} 1.0.1", total, files, True)] * 2
