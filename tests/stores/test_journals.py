"""Upload journals are hostile input: anything but a journal this version wrote for the
same target is discarded, never followed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.stores.journals import UploadJournal, UploadJournals

TARGET = "bucket/models/model_v1.0.0.pkl"
JOURNAL = UploadJournal(TARGET, "upload-1", 3 * 5242880, 1_700_000_000_123_456_789,
                        "ab" * 32, 5242880, "cd" * 32)  # fmt: skip


def test_a_journal_reads_back_as_written_and_matches_only_the_same_upload(tmp_path: Path) -> None:
    journals = UploadJournals.of_project(tmp_path)
    journals.write(JOURNAL)
    assert journals.read(TARGET) == JOURNAL
    assert journals.uploads() == {(TARGET, "upload-1")}
    other_id = UploadJournal(**{**JOURNAL.__dict__, "upload_id": "upload-2"})
    assert JOURNAL.matches(other_id)
    assert not JOURNAL.matches(UploadJournal(**{**JOURNAL.__dict__, "mtime_ns": 1}))
    journals.discard(TARGET)
    assert journals.read(TARGET) is None


def tampered(body: dict[str, Any]) -> list[bytes]:
    changes: list[dict[str, Any]] = [
        {"size": True},
        {"size": -1},
        {"size": "15728640"},
        {"part_size": 0},
        {"sha256": "AB" * 32},
        {"upload_id": "id with spaces"},
        {"upload_id": ""},
        {"target": "bucket/another.pkl"},
        {"format": 2},
    ]
    bodies = [json.dumps({**body, **change}).encode() for change in changes]
    raw = json.dumps(body).encode()
    return [*bodies, raw[: len(raw) // 2], b"[]", b"\xff\xfe", b"{" * 100_000]


@pytest.mark.parametrize("index", range(13))
def test_a_tampered_or_truncated_journal_is_discarded(index: int, tmp_path: Path) -> None:
    journals = UploadJournals.of_project(tmp_path)
    journals.write(JOURNAL)
    path = journals.path(TARGET)
    path.write_bytes(tampered(json.loads(path.read_bytes()))[index])
    assert journals.uploads() == set()
    assert journals.read(TARGET) is None
    assert not path.exists()


def test_a_project_that_cannot_hold_the_journal_only_loses_the_resumption(tmp_path: Path) -> None:
    (tmp_path / ".fsartifacts").write_text("a file where the folder would be")
    journals = UploadJournals.of_project(tmp_path)
    journals.write(JOURNAL)  # logged, not raised
    assert journals.read(TARGET) is None


@pytest.mark.parametrize("linked", [".fsartifacts", ".fsartifacts/uploads"])
def test_a_journal_folder_linked_out_of_the_project_is_never_written(
    linked: str, tmp_path: Path
) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / linked).parent.mkdir(parents=True)
    outside.mkdir()
    (root / linked).symlink_to(outside)  # as a hostile checkout can hold it
    journals = UploadJournals.of_project(root)
    with journals.owned(TARGET) as owned:
        assert owned is None  # the upload goes on, without a journal
    assert list(outside.iterdir()) == []
