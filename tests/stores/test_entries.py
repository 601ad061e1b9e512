"""Listing entries as the engine reads them, whatever the store calls their fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fsartifacts.engine.listnotes import Listed
from fsartifacts.stores.entries import entry_modified


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00",  # ISO 8601 with no offset: a store's local time
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.123+02:00",
        datetime(2024, 1, 1),
        datetime(2024, 1, 1, tzinfo=UTC),
        1.7e9,
    ],
)
def test_every_date_a_listing_gives_is_timezone_aware(value: object) -> None:
    when = entry_modified({"name": "m_v1.0.0.pkl", "mtime": value})
    assert when is not None and when.tzinfo is not None


def test_notes_dated_with_and_without_an_offset_compare() -> None:
    """Two notes of one version, one dated with no offset: compared, not a TypeError
    (which every question asked of such a listing raised)."""
    listed = Listed.of([
        {"name": "r/.m_v1.0.0.fsartifacts-listed.s5", "type": "file",
         "mtime": "2024-01-01T00:00:00"},
        {"name": "r/.m_v1.0.0.fsartifacts-listed.s6", "type": "file", "mtime": 1.7e9},
    ])  # fmt: skip
    assert listed.paths_of("m_v1.0.0") == (
        "r/.m_v1.0.0.fsartifacts-listed.s5",
        "r/.m_v1.0.0.fsartifacts-listed.s6",
    )
