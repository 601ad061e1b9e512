"""The remote index: the store's root listed once per run, read back as versions.

Every question about what is on the store (which copies of an artifact, which
one LATEST means, whether a name is taken) is answered from one listing. A write
invalidates it, and the next question lists again.

The listing is read back once for all the questions asked of it: its entries by
path and by basename (sorted, so an artifact's names, which all start with its
stem, are one range of them), and its listing notes. ``ALL`` of many artifacts then
costs one pass over the listing, not one per artifact.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import semver

from fsartifacts.beside import Beside
from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming
from fsartifacts.engine.listnotes import Listed, Note
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.errors import FsArtifactsError, NotFoundError, StoreNotFoundError, option
from fsartifacts.stores.entries import entry_modified
from fsartifacts.stores.store import Store
from fsartifacts.versionspec import VersionSpec, resolve

Translate = Callable[[BaseException, str], FsArtifactsError]


class RemoteIndex:
    """What is on one store, from one listing of its root (thread-safe)."""

    def __init__(self, store: Store, translate: Translate) -> None:
        self.store = store
        self._translate = translate
        self._listing: list[dict[str, Any]] | None = None
        self._listing_error: FsArtifactsError | None = None
        self._store_missing: StoreNotFoundError | None = None  # one a push would create
        self._lock = threading.Lock()
        # What the current listing was read back as, and per (artifact, prefix) its copies:
        # list, find, and the notes of each ask them several times of one listing.
        self._read_back: _ReadBack | None = None
        self._read: dict[tuple[Artifact, str], list[RemoteCopy]] = {}
        # The first listing since take_first_listing() and when it was taken, kept
        # through invalidate(): what was on the store before a command's writes began.
        self._first: tuple[float, list[dict[str, Any]]] | None = None
        # Counts the listings taken and forgotten: a listing asked ahead of its first
        # question is taken only while none was since it was asked.
        self._epoch = 0

    def prefetch(self) -> None:
        """List the store's root from now on, on a thread of its own, for the first
        question to find: what the caller does until then (git asked for a push's
        provenance, the artifacts' folders walked, the modules of the transfer loaded)
        goes on beside the round trip instead of before it. A failure is kept for that
        question to raise, as its own listing would; a listing taken or forgotten in the
        meantime leaves nothing for this one to do."""
        with self._lock:
            if self._listing is not None or self._listing_error is not None:
                return
            asked = self._epoch

        def ahead() -> None:
            with self._lock:
                if self._epoch == asked:
                    with contextlib.suppress(Exception):  # kept as _listing_error, or asked again
                        self._list()

        Beside(ahead, "fsartifacts-listing")

    def listing(self) -> list[dict[str, Any]]:
        """The entries of the store's root: listed once, again after :meth:`invalidate`.

        A store that a push creates (a local folder) and that does not exist yet lists
        as empty here, for writers; :meth:`copies`, what readers use, refuses it.
        """
        with self._lock:
            return self._list()

    def _list(self) -> list[dict[str, Any]]:
        """:meth:`listing`, with the lock held."""
        if self._listing_error is not None:
            # One refused or failed listing is enough: ALL does not ask again per artifact.
            raise self._listing_error
        if self._listing is None:
            self._epoch += 1
            try:
                self._listing = self.store.ops.listing(self.store.root)
                if self._first is None:
                    self._first = (time.monotonic(), self._listing)
            except StoreNotFoundError as exc:
                if not exc.creatable:
                    self._listing_error = exc
                    raise
                self._store_missing = exc
                self._listing = []
            except (OSError, FsArtifactsError) as exc:
                # Callers outside a run (list, rm, prune, find) get a typed error too.
                self._listing_error = self._translate(exc, f"listing {self.store.display}")
                raise self._listing_error from exc
        return self._listing

    def take_first_listing(self, since: float) -> list[dict[str, Any]] | None:
        """The first listing of the store's root since this was last asked, if it was taken
        at ``since`` (``time.monotonic()``) or later, else None; the next listing is then
        the first."""
        with self._lock:
            first, self._first = self._first, None
        return first[1] if first is not None and first[0] >= since else None

    def invalidate(self) -> None:
        """Forget the listing (after a write, or to see what another writer did): the
        next question lists the store again."""
        with self._lock:
            self._epoch += 1
            self._listing = None
            self._listing_error = None
            self._store_missing = None
            self._read_back, self._read = None, {}

    def relist(self, path: str) -> list[dict[str, Any]]:
        """The entries of ``path`` (a folder of the store), listed now. The root's become
        the index's listing, as if invalidated first: a caller that must see the store as
        it is now (a push that has just taken its claim) asks no second listing of it."""
        if path.rstrip("/") != self.store.root.rstrip("/"):
            return self.store.ops.listing(path)
        self.invalidate()
        return self.listing()

    def copies(
        self, artifact: Artifact, prefix: str = "", *, creating: bool = False
    ) -> list[RemoteCopy]:
        """Every copy of ``artifact`` on the store, newest version first, each with what
        its listing note says: a folder's size (None without a note) and the commit.

        A store that is not there is refused, but for a push (``creating``), which
        creates it: there it has no copies."""
        read_back = self._read_back_of(self.listing())
        if self._store_missing is not None and not creating:
            raise self._store_missing  # reading a store that is not there is no empty answer
        with self._lock:
            found = self._read.get((artifact, prefix)) if self._read_back is read_back else None
        if found is None:
            found = _copies_in(read_back, artifact, prefix)
            with self._lock:
                if self._read_back is read_back:
                    self._read[(artifact, prefix)] = found
        return list(found)

    def starting_with(self, start: str) -> list[dict[str, Any]]:
        """The listing's entries whose basename starts with ``start``, by basename: one
        range of the read-back, not a pass over the listing."""
        return self._read_back_of(self.listing()).starting_with(start)

    def notes(self) -> Listed:
        """The listing notes the store holds now (see ``engine.listnotes``)."""
        return self._read_back_of(self.listing()).listed

    def entry(self, name: str) -> dict[str, Any] | None:
        """The listing's entry for ``name`` (relative to the root), if there is one."""
        return self._read_back_of(self.listing()).by_path.get(self.store.path(name))

    def _read_back_of(self, entries: list[dict[str, Any]]) -> _ReadBack:
        """``entries`` (the current listing) read back, once for as long as it is current."""
        with self._lock:
            if self._read_back is not None and self._read_back.entries is entries:
                return self._read_back
        read_back = _ReadBack.of(entries)
        with self._lock:
            if self._listing is entries:
                self._read_back, self._read = read_back, {}
        return read_back

    def find(
        self,
        artifact: Artifact,
        requested: VersionSpec | str,
        base: semver.Version,
        *,
        prefix: str = "",
        pre: bool = False,
    ) -> RemoteCopy:
        """The copy that ``requested`` (exact, LATEST, a range: see ``fsartifacts.versionspec``;
        an alias is the store's to resolve first) means now; ``base`` is what LATEST is
        judged against."""
        spec = requested if isinstance(requested, VersionSpec) else VersionSpec.parse(requested)
        copies = self.copies(artifact, prefix)
        if artifact.singular:
            if copies:
                return copies[0]
            raise NotFoundError(
                f"{artifact.name}: {self.store.url(naming.file_name(artifact, None, prefix))} "
                "does not exist; push it first."
            )
        chosen = resolve(spec, [c.version for c in copies if c.version], base, pre=pre)
        for copy in copies:
            if chosen is not None and copy.version == chosen and copy.version.build == chosen.build:
                return copy
        existing = ", ".join(str(c.version) for c in copies) or "none"
        hint = "" if pre else f" Pre-releases count only with {option('pre')}."
        where = self.store.url(f"{prefix}{artifact.name}_v*")
        raise NotFoundError(
            f"{artifact.name}: no {spec.describe(base)} at {where}. Versions there: "
            f"{existing}.{hint}"
        )


@dataclass(frozen=True)
class _ReadBack:
    """One listing, read back once for every question asked of it."""

    entries: list[dict[str, Any]]
    by_path: dict[str, dict[str, Any]]  # the first entry of each path, trailing "/" dropped
    names: frozenset[str]  # every basename
    basenames: list[str]  # sorted, with ``by_basename`` in the same order
    by_basename: list[dict[str, Any]]
    listed: Listed
    published: dict[str, datetime]  # see _manifest_times

    @classmethod
    def of(cls, entries: list[dict[str, Any]]) -> _ReadBack:
        by_path: dict[str, dict[str, Any]] = {}
        named: list[tuple[str, int, dict[str, Any]]] = []
        for entry in entries:
            path = entry["name"].rstrip("/")
            by_path.setdefault(path, entry)
            named.append((path.rpartition("/")[2], len(named), entry))
        named.sort(key=lambda n: (n[0], n[1]))  # the listing's order among equal names
        basenames = [base for base, _, _ in named]
        return cls(
            entries, by_path, frozenset(basenames), basenames, [e for _, _, e in named],
            Listed.of(entries), _manifest_times(entries),
        )  # fmt: skip

    def starting_with(self, stem: str) -> list[dict[str, Any]]:
        """The entries whose basename starts with ``stem``, in basename order."""
        start = bisect.bisect_left(self.basenames, stem)
        end = start
        while end < len(self.basenames) and self.basenames[end].startswith(stem):
            end += 1
        return self.by_basename[start:end]


def _copies_in(read_back: _ReadBack, artifact: Artifact, prefix: str) -> list[RemoteCopy]:
    """The copies of ``artifact`` in one listing, with their listing notes."""
    candidates = read_back.starting_with(naming.stem(artifact, prefix))
    copies = naming.scan(candidates, artifact, prefix, names=read_back.names)
    published, listed = read_back.published, read_back.listed
    read_back_copies = []
    for copy in copies:
        # A folder was published by its manifest (an object store lists it without a date).
        when = published.get(copy.name) if copy.kind == "folder" else copy.modified
        note = listed.note(copy.name, when)
        read_back_copies.append(
            dataclasses.replace(
                copy,
                note=note,
                notes=listed.paths_of(copy.name),
                size=_size(copy, note),
                modified=copy.modified or when,
            )
        )
    return read_back_copies


def _size(copy: RemoteCopy, note: Note | None) -> int | None:
    """A file's size as listed; a folder's as its push noted it (no listing has it)."""
    if copy.kind == "file":
        return copy.size
    return note.size if note is not None else None


def _manifest_times(entries: list[dict[str, Any]]) -> dict[str, datetime]:
    """When each folder version's manifest was written, by the folder's basename."""
    times = {}
    for entry in entries:
        base = entry["name"].rstrip("/").rpartition("/")[2]
        if base.endswith(naming.MANIFEST_SUFFIX) and entry.get("type") != "directory":
            when = entry_modified(entry)
            if when is not None:
                times[base.removesuffix(naming.MANIFEST_SUFFIX)] = when
    return times
