"""Shared test setup. Server fixtures live in their own plugin modules listed here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.moto",
    "tests.fixtures.artifactory",
    "tests.fixtures.remotes",
    "tests.fixtures.dask",
]


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


def pip_cache_dir() -> Path:
    """Where pip keeps its cache for this user: $XDG_CACHE_HOME/pip, else ~/.cache/pip."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
