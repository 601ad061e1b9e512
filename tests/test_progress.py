"""Progress bars: on a terminal without CI only, on stderr, never mixed into results."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

from fsartifacts.progress import wanted
from tests.fixtures.cli import BIN, write_project


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
    assert "model_v1.0.0.pkl" in terminal
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
