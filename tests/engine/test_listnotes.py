"""Listing notes: a version's size and commit, read back from the name of an object."""

from __future__ import annotations

import pytest

from fsartifacts.engine import listnotes
from fsartifacts.engine.listnotes import Listed, Note

COMMIT = "1a2b3c4d" * 5


def test_a_note_name_reads_back_as_what_it_was_written_with() -> None:
    for record, note in [
        ({}, Note(3030)),
        ({"commit": COMMIT, "dirty": False}, Note(3030, COMMIT)),
        ({"commit": COMMIT, "dirty": True}, Note(3030, COMMIT, True)),
        ({"commit": "not a commit", "dirty": True}, Note(3030)),
    ]:
        name = listnotes.note_name("data_v1.4.0", 3030, record)
        assert name is not None and name.startswith(".data_v1.4.0.fsartifacts-listed.")
        assert listnotes.parse(name) == ("data_v1.4.0", note)


def test_a_name_too_long_for_a_file_system_drops_the_commit_then_the_note() -> None:
    long = "d" * 200
    assert listnotes.note_name(long, 7, {"commit": COMMIT}) == f".{long}.fsartifacts-listed.s7"
    assert listnotes.note_name("d" * 250, 7, {}) is None


@pytest.mark.parametrize(
    "name",
    [
        ".data_v1.4.0.fsartifacts-listed.s",  # no size
        ".data_v1.4.0.fsartifacts-listed.s01",  # not a number as written
        ".data_v1.4.0.fsartifacts-listed.s12.gXYZ",  # not a commit
        ".data_v1.4.0.fsartifacts-listed.s12\n",
        ".data_v1.4.0\x1b.fsartifacts-listed.s12",
        "data_v1.4.0.fsartifacts-listed.s12",  # not hidden
        ".data_v1.4.0.fsartifacts-listed.s\uff11\uff12",  # not ASCII digits
    ],
)
def test_what_is_not_a_note_as_written_is_none(name: str) -> None:
    assert listnotes.parse(name) is None


def test_notes_that_disagree_say_nothing_and_all_are_found_for_removal() -> None:
    entries = [
        {"name": "bkt/team/data_v1.0.0", "type": "directory"},
        {"name": "bkt/team/.data_v1.0.0.fsartifacts-listed.s10", "type": "file"},
        {"name": "bkt/team/.data_v1.0.0.fsartifacts-listed.s11", "type": "file"},
        {"name": "bkt/team/.data_v1.1.0.fsartifacts-listed.s12", "type": "file"},
        {"name": "bkt/team/.data_v1.2.0.fsartifacts-listed.s13/", "type": "directory"},
    ]
    listed = Listed.of(entries)
    assert listed.note("data_v1.0.0") is None
    assert len(listed.paths_of("data_v1.0.0")) == 2
    assert listed.note("data_v1.1.0") == Note(12)
    assert listed.note("data_v1.2.0") is None and listed.paths_of("data_v1.2.0") == ()
