"""The peer tools fsartifacts is measured against, found here or installed by the setup step.

- ``rclone``: Debian's package (``apt-get install -y rclone``), found on ``PATH``.
- ``aws`` (awscli) and ``dvc`` (``dvc[s3]``): pip, each into a virtualenv of its own
  under the tools folder, so neither can change the project's own dependencies.

The tools folder (``--tools DIR``; default ``~/.cache/fsartifacts-benchmarks/tools``)
is kept between runs: installing dvc takes minutes. A peer that is not there, or whose
install failed, is a :class:`Peer` with ``why_not`` set, and every row that needed it
says "not run: <why_not>": it is never dropped and never stood in for by another tool.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TOOLS = Path.home() / ".cache" / "fsartifacts-benchmarks" / "tools"
RCLONE, AWS, DVC = "rclone", "aws", "dvc"
# What pip installs for each venv peer: the major versions the benchmark's flags are for.
PIP_PEERS = {AWS: ("awscli", "awscli>=1.29,<2"), DVC: ("dvc", "dvc[s3]>=3,<4")}
INSTALL_TIMEOUT = 900  # seconds, per tool


@dataclass(frozen=True)
class Peer:
    """One peer tool: its executable, or why it cannot run here."""

    name: str
    path: str | None
    why_not: str | None = None

    def __post_init__(self) -> None:
        assert (self.path is None) != (self.why_not is None)

    @property
    def ok(self) -> bool:
        return self.path is not None


class Peers:
    """The peers of one run, looked up once (and installed by :meth:`setup`)."""

    def __init__(self, tools: Path | None = None) -> None:
        self.tools = tools if tools is not None else DEFAULT_TOOLS
        self._failed: dict[str, str] = {}  # name -> why its install failed in this run

    def _venv_bin(self, name: str) -> Path:
        return self.tools / name / "bin"

    def get(self, name: str) -> Peer:
        if name in self._failed:
            return Peer(name, None, self._failed[name])
        if name == RCLONE:
            found = shutil.which(RCLONE)
            if found:
                return Peer(name, found)
            return Peer(name, None, "rclone is not installed; apt-get install -y rclone, or "
                                    "python benchmarks/run.py --setup")  # fmt: skip
        executable = self._venv_bin(name) / name
        if executable.exists():
            return Peer(name, str(executable))
        return Peer(name, None, f"{PIP_PEERS[name][0]} is not installed in {self.tools}; "
                                "python benchmarks/run.py --setup installs it")  # fmt: skip

    def setup(self, note: Callable[[str], None]) -> None:
        """Install every missing peer; a failure is remembered as that peer's why_not.

        Runs that share the tools folder take turns (a lock file in it), so one never
        rebuilds a venv another is still installing into."""
        if not self.get(RCLONE).ok:
            self._install(RCLONE, note, self._apt_rclone)
        missing = [name for name in PIP_PEERS if not self.get(name).ok]
        if not missing:
            return
        self.tools.mkdir(parents=True, exist_ok=True)
        with open(self.tools / ".setup.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in missing:
                if not self.get(name).ok:  # another run may have installed it meanwhile
                    requirement = PIP_PEERS[name][1]
                    self._install(name, note, lambda n=name, r=requirement: self._pip(n, r))

    def _install(self, name: str, note: Callable[[str], None], step: Callable[[], None]) -> None:
        note(f"setup: installing {name}")
        try:
            step()
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            self._failed[name] = f"install failed: {exc}"
            note(f"setup: {name}: {self._failed[name]}")
            return
        if not self.get(name).ok:
            self._failed[name] = "install finished, but the tool is still not found"

    def _apt_rclone(self) -> None:
        if shutil.which("apt-get") is None:
            raise RuntimeError("no apt-get on this machine; install rclone by hand")
        if os.geteuid() != 0:
            raise RuntimeError("apt-get needs root; run: sudo apt-get install -y rclone")
        if _run(["apt-get", "install", "-y", "rclone"], check=False) != 0:
            _run(["apt-get", "update"])  # an old package list may not know the package
            _run(["apt-get", "install", "-y", "rclone"])

    def _pip(self, name: str, requirement: str) -> None:
        venv = self.tools / name
        shutil.rmtree(venv, ignore_errors=True)  # a half-made venv from an earlier failure
        venv.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement])


def _run(argv: list[str], *, check: bool = True) -> int:
    """Run an install step, its output kept; raise with its last line when it fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if check and done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines()]
        errors = [line for line in lines if line.startswith(("ERROR", "E:"))]
        last = (errors or [line for line in lines if line] or [f"exit {done.returncode}"])[-1]
        raise RuntimeError(f"{' '.join(argv[:4])}: {last}")
    return done.returncode


# -- how a peer reaches a store -------------------------------------------------------

RCLONE_S3 = "moto"  # the rclone remote name the environment below defines


def rclone_s3_env(endpoint: str, config: Path) -> dict[str, str]:
    """rclone's S3 remote ``moto:`` against ``endpoint``, defined by the environment alone
    (``config``: an empty file of its own, so no remote of the developer's leaks in).
    Credentials come from the AWS variables of the child's environment."""
    return {
        "RCLONE_CONFIG": str(config),
        f"RCLONE_CONFIG_{RCLONE_S3.upper()}_TYPE": "s3",
        f"RCLONE_CONFIG_{RCLONE_S3.upper()}_PROVIDER": "Other",
        f"RCLONE_CONFIG_{RCLONE_S3.upper()}_ENV_AUTH": "true",
        f"RCLONE_CONFIG_{RCLONE_S3.upper()}_ENDPOINT": endpoint,
        f"RCLONE_CONFIG_{RCLONE_S3.upper()}_REGION": "us-east-1",
    }


def aws_config(path: Path, concurrency: int | None = None) -> dict[str, str]:
    """An awscli config file at ``path`` (``s3.max_concurrent_requests`` when given), and the
    variable that points awscli at it."""
    lines = ["[default]", "region = us-east-1"]
    if concurrency is not None:
        lines += ["s3 =", f"  max_concurrent_requests = {concurrency}"]
    path.write_text("\n".join(lines) + "\n")
    return {"AWS_CONFIG_FILE": str(path)}


def version(peer: Peer) -> str:
    """The first line a peer prints for its version (the table names what was measured)."""
    assert peer.path is not None
    argv = [peer.path, "version"] if peer.name == RCLONE else [peer.path, "--version"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return f"its version could not be read: {exc}"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else f"exit {done.returncode}"
