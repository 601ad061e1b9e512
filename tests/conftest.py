"""Shared test setup. Server fixtures live in their own plugin modules listed here."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.fixtures_moto",
    "tests.fixtures_artifactory",
    "tests.fixtures_remotes",
]
