"""Remote names: built from (artifact, version, prefix), and read back with a full match.

A versioned file is ``{prefix}{name}_v{version}{ext}``; a versioned folder is
``{prefix}{name}_v{version}/`` completed by the sibling manifest
``{prefix}{name}_v{version}.manifest.json`` (written last, so a folder without
it is an unfinished push and invisible). Singular artifacts drop ``_v{version}``.
A name that does not match an artifact's pattern exactly is skipped, never fatal.

Every pattern here is matched with ``fullmatch`` and ASCII classes: ``$`` would
also match before a final newline, so ``model_v1.0.0.pkl`` followed by a newline
would pass for ``model_v1.0.0.pkl``, and a digit class would take Unicode digits
for ASCII ones. A remote name holding any control character is never taken
for an artifact.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

import semver

from fsartifacts.config.model import Artifact
from fsartifacts.engine.listnotes import Note
from fsartifacts.errors import ConfigError
from fsartifacts.escaping import has_control_characters
from fsartifacts.stores.entries import entry_modified, entry_size
from fsartifacts.versioning import precedence

SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")
COMPOUND_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
MANIFEST_SUFFIX = ".manifest.json"

# semver.org's grammar, with an optional leading build/pre-release; no anchors.
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER_PATTERN = (
    rf"{_NUM}\.{_NUM}\.{_NUM}"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

Kind = Literal["file", "folder"]


def validate_prefix(prefix: str | None) -> str:
    """The ``-p/--prefix`` string, checked: like names, only ``[A-Za-z0-9._-]``."""
    if not prefix:
        return ""
    if not SAFE_NAME.fullmatch(prefix) or ".." in prefix:
        raise ConfigError(
            f"--prefix {prefix!r}: a prefix may hold only letters, digits, '.', '_' and '-' "
            "(no '/', no '..'); for example --prefix retrain_"
        )
    return prefix


def remote_ext(artifact: Artifact) -> str:
    """The extension of the remote name, dot included, or "" for none.

    The artifact's ``ext:`` when given; else from the basename of ``file``: a
    known compound archive suffix (``.tar.gz``), else the last suffix.
    """
    if artifact.ext is not None:
        return artifact.ext
    base = PurePosixPath(artifact.file.replace("\\", "/").rstrip("/")).name
    lower = base.lower()
    for compound in COMPOUND_SUFFIXES:
        if lower.endswith(compound) and len(base) > len(compound):
            return base[-len(compound) :]
    return PurePosixPath(base).suffix


def file_name(artifact: Artifact, version: semver.Version | None, prefix: str = "") -> str:
    """The remote basename of a file artifact (``version`` None for singular ones)."""
    return folder_name(artifact, version, prefix) + remote_ext(artifact)


def folder_name(artifact: Artifact, version: semver.Version | None, prefix: str = "") -> str:
    """The remote basename of a folder artifact (``version`` None for singular ones)."""
    if artifact.singular or version is None:
        return stem(artifact, prefix)
    return f"{stem(artifact, prefix)}_v{version}"


def manifest_name(folder: str) -> str:
    return folder + MANIFEST_SUFFIX


@dataclass(frozen=True)
class RemoteCopy:
    """One copy of an artifact on the store, as read back from a listing."""

    artifact: str
    version: semver.Version | None  # None for singular artifacts
    name: str  # basename on the store
    path: str  # full path on the filesystem
    kind: Kind
    size: int | None = None
    modified: datetime | None = None
    entry: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Its listing note (see engine.listnotes) and the paths of its note objects, where the
    # index found them.
    note: Note | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def manifest_path(self) -> str:
        return manifest_name(self.path)

    @property
    def display_name(self) -> str:
        """The name as shown to users: a folder's with its trailing slash."""
        return self.name + ("/" if self.kind == "folder" else "")


def _basename(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def _patterns(artifact: Artifact) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The patterns of what follows the stem (:func:`stem`) in the artifact's file and
    folder names, for ``fullmatch`` from the stem's end only. They depend on the extension
    alone, so the artifacts of one listing share a few compiled patterns."""
    ext = re.escape(remote_ext(artifact))
    if artifact.singular:
        return re.compile(ext, re.ASCII), re.compile("", re.ASCII)
    version = f"_v(?P<version>{SEMVER_PATTERN})"
    return re.compile(f"{version}{ext}", re.ASCII), re.compile(version, re.ASCII)


def _match(pattern: re.Pattern[str], start: str, basename: str) -> re.Match[str] | None:
    """``pattern`` matched with the whole of ``basename`` after ``start``, which it must
    begin with."""
    if not basename.startswith(start):
        return None
    return pattern.fullmatch(basename, len(start))


def is_folder_name(basename: str, artifact: Artifact, prefix: str = "") -> bool:
    """Whether ``basename`` names a folder version of ``artifact``, complete or not."""
    return _match(_patterns(artifact)[1], stem(artifact, prefix), basename) is not None


def stem(artifact: Artifact, prefix: str = "") -> str:
    """What every remote name of ``artifact`` starts with: its files, folders, manifests."""
    return f"{prefix}{artifact.name}"


def scan(
    entries: list[dict[str, Any]],
    artifact: Artifact,
    prefix: str = "",
    *,
    names: Collection[str] | None = None,
) -> list[RemoteCopy]:
    """The copies of ``artifact`` among the entries of one listing, newest version first.

    ``names``: every basename of that listing, where ``entries`` are only some of it
    (a folder counts only beside its manifest)."""
    file_re, folder_re = _patterns(artifact)
    start = stem(artifact, prefix)
    if names is None:
        names = {_basename(e["name"]) for e in entries}
    copies: list[RemoteCopy] = []
    for entry in entries:
        base = _basename(entry["name"])
        is_dir = entry.get("type") == "directory"
        if has_control_characters(base):
            continue
        match = _match(folder_re if is_dir else file_re, start, base)
        if match is None or (is_dir and manifest_name(base) not in names):
            continue
        version = None
        if not artifact.singular:
            try:
                version = semver.Version.parse(match.group("version"))
            except ValueError:
                continue
        copies.append(
            RemoteCopy(
                artifact=artifact.name,
                version=version,
                name=base,
                path=entry["name"].rstrip("/"),
                kind="folder" if is_dir else "file",
                size=None if is_dir else entry_size(entry),
                modified=entry_modified(entry),
                entry=entry,
            )
        )
    lowest = precedence(semver.Version(0))
    copies.sort(key=lambda c: (precedence(c.version) if c.version else lowest, c.name),
                reverse=True)  # fmt: skip
    return copies
