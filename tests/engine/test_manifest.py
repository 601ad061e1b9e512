"""The folder manifest: written a file at a time, read back as it was written."""

from __future__ import annotations

import json

import pytest

from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.errors import IntegrityError

SHA = "ab" * 32


def test_the_manifest_is_one_json_document_and_reads_back_the_same() -> None:
    files = (ManifestEntry('b/"q".bin', 3, SHA), ManifestEntry("a.bin", 0, "cd" * 32))
    manifest = Manifest("data", "1.0.0", files, {"commit": 'x"files": []'})
    data = manifest.to_bytes()
    assert json.loads(data) == {
        "format": "fsartifacts-manifest/1", "artifact": "data", "version": "1.0.0",
        "size": 3, "sha256": manifest.digest, "provenance": {"commit": 'x"files": []'},
        "files": [{"path": "a.bin", "size": 0, "sha256": "cd" * 32},
                  {"path": 'b/"q".bin', "size": 3, "sha256": SHA}],
    }  # fmt: skip
    assert data == (json.dumps(json.loads(data), indent=1, sort_keys=True) + "\n").encode()
    back = Manifest.from_bytes(data, "m")
    assert back.same_content(manifest) and back.provenance == manifest.provenance
    assert json.loads(Manifest("data", None, ()).to_bytes())["files"] == []


@pytest.mark.parametrize(
    "files", [[{"path": "a", "size": "x", "sha256": SHA}], [{"path": "a", "size": 1}], [7]]
)
def test_a_file_entry_that_is_not_one_makes_the_manifest_unreadable(files: list[object]) -> None:
    data = json.dumps({"format": "fsartifacts-manifest/1", "artifact": "d", "files": files})
    with pytest.raises(IntegrityError, match="the folder manifest is unreadable"):
        Manifest.from_bytes(data.encode(), "m")
