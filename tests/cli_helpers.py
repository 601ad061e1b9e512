"""Running the installed ``fsartifacts`` command, and building projects for it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "fsartifacts"
_WITHOUT_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def command_env(cwd: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the command runs in: no FSARTIFACTS_/ARTIFACTORY_ settings of the
    developer's, and a hash cache of the project's own."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FSARTIFACTS_", "ARTIFACTORY_"))
    }
    full_env["FSARTIFACTS_CACHE_DIR"] = str(cwd.parent / f".hash-cache-{cwd.name}")
    full_env.update(env or {})
    return full_env


def fsartifacts(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    unprivileged: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; the test environment must have installed the package.

    ``unprivileged`` makes file modes bind the command even when the tests run as root
    (which reads and writes through any mode): it runs without the capabilities that
    bypass them.
    """
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: install the package first (pip install -e .), as tox does")
    return subprocess.run(
        [*(_WITHOUT_DAC_OVERRIDE if unprivileged and os.geteuid() == 0 else []), str(BIN), *args],
        cwd=cwd,
        env=command_env(cwd, env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def start(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """The command started in the background (same environment as :func:`fsartifacts`)."""
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: install the package first (pip install -e .), as tox does")
    return subprocess.Popen(
        [str(BIN), *args],
        cwd=cwd,
        env=command_env(cwd, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tree_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file below ``folder`` (hidden ones included)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_project(
    root: Path, config: str, version: str = "1.0.0", name: str = "fsartifacts.yaml"
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(config)
    if version:
        (root / "VERSION").write_text(version + "\n")
    return root


# A file, a folder and a singular artifact: the project most end-to-end tests push.
THREE_ARTIFACTS = """\
    - name: model
      file: models/model.pkl
    - name: features
      file: data/features
    - name: labels
      file: labels.json
      singular: true
"""


def write_three(root: Path, seed: str, *, labels: str = '["cat", "dog"]') -> None:
    """The files of THREE_ARTIFACTS, with content that depends on ``seed``.

    ``labels`` is the singular artifact's content: constant by default, so that
    pushing another version finds it up to date.
    """
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 4000)
    (root / "data" / "features" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "features" / "a.csv").write_text(f"id,x\n1,{seed}\n")
    (root / "data" / "features" / "deep" / "b.bin").write_bytes(seed.encode() * 500)
    (root / "labels.json").write_text(labels)
