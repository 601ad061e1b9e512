"""The manifest of a folder artifact: every file with its size and sha256.

Written last on push, so its presence marks the folder version complete; read
first on pull, so every file is verified against it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsartifacts.engine import provenance as provenance_record
from fsartifacts.errors import IntegrityError, option

FORMAT = "fsartifacts-manifest/1"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)  # one per file: a folder may hold 100,000
class ManifestEntry:
    path: str  # relative POSIX path inside the folder
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    artifact: str
    version: str | None
    files: tuple[ManifestEntry, ...]
    # Where the version came from (see engine.provenance); not part of its content.
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def digest(self) -> str:
        """One sha256 for the whole tree: of the sorted (path, size, sha256) lines."""
        digest = hashlib.sha256()
        for f in sorted(self.files, key=_path):  # a line at a time: a folder may be large
            digest.update(f"{f.sha256}  {f.size}  {f.path}\n".encode())
        return digest.hexdigest()

    def unlisted_files(self, folder: Path) -> list[str]:
        """The files (and links) below ``folder`` that this manifest does not list, sorted."""
        listed = {f.path for f in self.files}
        found = []
        for top, dirs, names in os.walk(folder):
            rel = Path(top).relative_to(folder)
            # A link to a folder is not walked into: it is one entry, like a file.
            names += [d for d in dirs if (Path(top) / d).is_symlink()]
            found += [(rel / name).as_posix() for name in names]
        return sorted(p for p in found if p not in listed)

    def same_content(self, other: Manifest) -> bool:
        return sorted(self.files, key=_path) == sorted(other.files, key=_path)

    def to_bytes(self) -> bytes:
        """The manifest as JSON (keys sorted, indented by one), its files written one at a
        time: a folder of 100,000 files is never held as 100,000 dicts and their pieces."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "artifact": self.artifact,
            "version": self.version,
            "size": self.size,
            "sha256": self.digest,
            "files": [],
        }
        if self.provenance:
            doc["provenance"] = self.provenance
        # Any quote inside a value is escaped: the first `"files": []` is the key's own.
        head, tail = json.dumps(doc, indent=1, sort_keys=True).split('"files": []', 1)
        out = io.BytesIO()
        out.write(f'{head}"files": ['.encode())
        for n, f in enumerate(sorted(self.files, key=_path)):
            out.write(
                f'{"," if n else ""}\n  {{\n   "path": {json.dumps(f.path)},\n   "sha256": '
                f'{json.dumps(f.sha256)},\n   "size": {f.size}\n  }}'.encode()
            )
        out.write(f"{chr(10) + ' ' if self.files else ''}]{tail}\n".encode())
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Manifest:
        try:
            # Each file's object becomes its entry as it is parsed: never all held as dicts.
            doc: Any = json.loads(data, object_hook=_entry_of)
            if doc.get("format") != FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            files = tuple(f if isinstance(f, ManifestEntry) else _entry(f) for f in doc["files"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(
                f"{where}: the folder manifest is unreadable ({exc}); push that version again "
                f"with {option('force')}, or remove it with `fsartifacts rm`.",
                transient=False,
            ) from exc
        problem = malformed(files)
        if problem:
            raise IntegrityError(
                f"{where}: the folder manifest is malformed: {problem}. fsartifacts never "
                f"writes such a manifest; push that version again with {option('force')}, or "
                "remove it with `fsartifacts rm`.",
                transient=False,
            )
        return cls(
            str(doc["artifact"]),
            doc.get("version"),
            files,
            provenance_record.clean(doc.get("provenance")),
        )


def malformed(files: tuple[ManifestEntry, ...]) -> str | None:
    """What makes a list of files impossible as a folder's content, or None."""
    seen: set[str] = set()
    for entry in files:
        if entry.size < 0:
            return f"{entry.path!r} has a negative size ({entry.size})"
        if not _SHA256.fullmatch(entry.sha256):
            return f"{entry.path!r} has no valid sha256 ({entry.sha256[:80]!r})"
        if entry.path in seen:
            return f"{entry.path!r} is listed twice"
        seen.add(entry.path)
    folders = {
        "/".join(e.path.split("/")[:i]) for e in files for i in range(1, e.path.count("/") + 1)
    }
    clash = sorted(seen & folders)
    if clash:
        return f"{clash[0]!r} is listed both as a file and as a folder of other files"
    return None


def _entry(f: Any) -> ManifestEntry:
    return ManifestEntry(str(f["path"]), int(f["size"]), str(f["sha256"]).lower())


def _entry_of(doc: dict[str, Any]) -> Any:
    """A file's object read from a manifest as its entry; any other object as it is."""
    return _entry(doc) if doc.keys() == {"path", "size", "sha256"} else doc


def _path(entry: ManifestEntry) -> str:
    return entry.path
