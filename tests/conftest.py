"""Shared test setup. Server fixtures live in their own plugin modules listed here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.moto",
    "tests.fixtures.artifactory",
    "tests.fixtures.remotes",
]


@pytest.fixture(scope="session", autouse=True)
def _a_home_of_our_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the developer's ~/.cache, ~/.netrc and FSARTIFACTS_* out of the tests, and
    the tests' hash cache out of the developer's home."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(home))
        env.delenv("XDG_CACHE_HOME", raising=False)
        env.delenv("NETRC", raising=False)
        for name in ("FSARTIFACTS_CONFIG", "FSARTIFACTS_ENV", "FSARTIFACTS_VERSION"):
            env.delenv(name, raising=False)
        yield
