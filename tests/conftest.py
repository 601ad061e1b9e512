"""Shared test setup. Server fixtures live in their own plugin modules listed here."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.moto",
    "tests.fixtures.artifactory",
    "tests.fixtures.remotes",
    "tests.fixtures.sides",
    "tests.fixtures.dask",
]


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C raises KeyboardInterrupt in the tests however the suite was started. A shell
    without job control starts a background command (``tox &``, a CI step) with SIGINT
    ignored, and Python then installs no handler for it: the tests of what Ctrl-C does
    (``_thread.interrupt_main``, a SIGINT to this process) would see nothing happen."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _a_home_of_our_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the developer's ~/.cache, ~/.netrc and FSARTIFACTS_* out of the tests, and
    the tests' hash cache out of the developer's home."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        # pip's download cache stays where it was: the fresh-venv tests still resolve and
        # install from the package index, but need not download again the wheels tox just
        # fetched (and a cold cache is most of their time on a clean CI machine).
        env.setenv("PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR") or str(pip_cache_dir()))
        env.setenv("HOME", str(home))
        env.delenv("XDG_CACHE_HOME", raising=False)
        env.delenv("NETRC", raising=False)
        for name in ("FSARTIFACTS_CONFIG", "FSARTIFACTS_ENV", "FSARTIFACTS_VERSION"):
            env.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """A test that runs the CLI in this process leaves logging as it found it.

    ``main()`` sets up the process's logging for its run, as a command line does: the
    package's logger stops propagating and takes the level of ``-q``/``-v`` (and ``-v -v``
    replaces the root logger's handlers). Left so, later tests would capture none of the
    package's records. pytest's own capture handlers come and go with each phase of a
    test, so on the root logger only what the test added or removed is put back.
    """
    package, root = logging.getLogger("fsartifacts"), logging.getLogger()
    saved = (package.handlers[:], package.filters[:], package.level, package.propagate)
    root_handlers, root_level = root.handlers[:], root.level
    yield
    package.handlers[:], package.filters[:] = saved[0], saved[1]
    package.setLevel(saved[2])
    package.propagate = saved[3]

    def pytests(handler: logging.Handler) -> bool:
        return type(handler).__module__.startswith("_pytest")

    kept = [h for h in root.handlers if h in root_handlers or pytests(h)]
    lost = [h for h in root_handlers if h not in root.handlers and not pytests(h)]
    root.handlers[:] = kept + lost
    root.setLevel(root_level)


def pip_cache_dir() -> Path:
    """Where pip keeps its cache for this user: $XDG_CACHE_HOME/pip, else ~/.cache/pip."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
