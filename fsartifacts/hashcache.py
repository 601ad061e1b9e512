"""The cache of local file hashes.

The cache maps (path, size, mtime, inode) to the file's digests (always its
sha256; also the sha1 a store such as Artifactory wants with an upload), so
that checking an up-to-date project does not re-read its files and a push
reads a file once. Any change to the file changes at least one of those, and
the entry is simply not found.

The cache file is JSON: {real path: {"size", "mtime_ns", "inode", "sha256",
and any other digest by its hashlib name}}. Every entry keeps a sha256, so
versions that know only that field read the file unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import struct
import threading
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import Any

from fsartifacts.atomic import atomic_write
from fsartifacts.hashing import FileDigests, FileIdentity, hash_file
from fsartifacts.localfiles import CACHE_LIMIT, open_small_file


def default_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("FSARTIFACTS_CACHE_DIR"):
        return Path(env["FSARTIFACTS_CACHE_DIR"]) / "hashes.json"
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fsartifacts" / "hashes.json"


# One entry of the cache in memory: its size, mtime and inode and its sha256 packed in one
# bytes object, alone when that is all it holds (a project may hold 100,000 files); an
# entry with other digests is a tuple of that object, then each other digest as name,
# value, ...
_Entry = bytes | tuple[Any, ...]
_KEYS = ("size", "mtime_ns", "inode")
_PACKED = struct.Struct("<QqQ32s")
# A line as :meth:`HashCache.save` writes an entry holding a sha256 and perhaps a sha1,
# its path without escapes: read without building its dict (the rest go through json).
_LINE = re.compile(
    rb'"([^"\\]*)": \{"inode": (\d+), "mtime_ns": (-?\d+), (?:"sha1": "([0-9a-f]{40})", )?'
    rb'"sha256": "([0-9a-f]{64})", "size": (\d+)\}'
)


def _pack(key: tuple[int, int, int], sha256: str, others: Iterable[str] = ()) -> _Entry:
    packed = _PACKED.pack(*key, bytes.fromhex(sha256))
    extra = tuple(others)
    return (packed, *extra) if extra else packed


def _packed(entry: _Entry) -> bytes:
    return entry if isinstance(entry, bytes) else entry[0]


def _others(entry: _Entry) -> tuple[Any, ...]:
    """The other digests of an entry, as name, value, ..."""
    return () if isinstance(entry, bytes) else entry[1:]


def _key_of(entry: _Entry) -> tuple[int, int, int]:
    size, mtime_ns, inode, _ = _PACKED.unpack(_packed(entry))
    return size, mtime_ns, inode


def _sha256_of(entry: _Entry) -> str:
    return _packed(entry)[-32:].hex()


def _entry_of(doc: dict[str, Any]) -> _Entry | dict[str, Any]:
    """An entry read from the cache file, packed (as json parses it: each object once
    read, so the dicts are never all held); anything else (the file's top level) as is."""
    key = tuple(doc.get(k) for k in _KEYS)
    sha256 = doc.get("sha256")
    if not all(type(v) is int for v in key) or not isinstance(sha256, str):
        return doc
    others = [x for n, v in doc.items() if n not in _KEYS and n != "sha256" and isinstance(v, str)
              for x in (n, v)]  # fmt: skip
    try:
        return _pack((key[0], key[1], key[2]), sha256, others)  # type: ignore[arg-type]
    except (ValueError, struct.error):
        return doc  # not a sha256, or not a file's size: ignored


def _entry_line(path: str, entry: _Entry) -> str:
    """An entry as the cache file writes it: the JSON ``json.dumps`` would give, written
    directly where the entry holds only its sha256 (the usual case, and the costly one
    when a folder of 100,000 files was hashed)."""
    size, mtime_ns, inode = _key_of(entry)
    others = _others(entry)
    plain = path.isascii() and path.isprintable() and '"' not in path and "\\" not in path
    if not others and plain:
        return (f'"{path}": {{"inode": {inode}, "mtime_ns": {mtime_ns}, '
                f'"sha256": "{_sha256_of(entry)}", "size": {size}}}')  # fmt: skip
    doc: dict[str, Any] = dict(zip(_KEYS, (size, mtime_ns, inode), strict=True))
    doc.update(sha256=_sha256_of(entry), **dict(zip(others[::2], others[1::2], strict=True)))
    return f"{json.dumps(path)}: {json.dumps(doc, sort_keys=True)}"


def _line_entry(line: bytes) -> tuple[str, _Entry] | None:
    """The entry a line of the cache file holds, read by :data:`_LINE`; None if it is not
    such a line (json reads it then)."""
    found = _LINE.fullmatch(line)
    if found is None or not found[1].isascii():
        return None
    path, inode, mtime_ns, sha1, sha256, size = found.groups()
    key = (int(size), int(mtime_ns), int(inode))
    try:
        return path.decode(), _pack(key, sha256.decode(), ("sha1", sha1.decode()) if sha1 else ())
    except struct.error:
        return None  # out of range: json reads it, and it is ignored there


def _read_entries(path: Path) -> dict[str, _Entry]:
    """The entries of a cache file: one a line as :meth:`HashCache.save` writes them (read
    a line at a time), else the whole file as one JSON object (as older versions wrote)."""
    entries: dict[str, _Entry] = {}

    def take(doc: Any) -> None:
        if isinstance(doc, dict):
            entries.update((k, v) for k, v in doc.items() if type(v) in (bytes, tuple))

    with open_small_file(path, CACHE_LIMIT) as f:
        first = f.readline()
        if first.strip() != b"{":
            take(json.loads(first + f.read(), object_hook=_entry_of))
            return entries
        for line in f:
            line = line.rstrip(b",\r\n")
            if line == b"}":
                return entries
            read = _line_entry(line)
            if read is not None:
                entries[read[0]] = read[1]
            else:
                take(json.loads(b"{" + line + b"}", object_hook=_entry_of))
    raise ValueError(f"{path} ends before its last line")


class HashCache:
    """Digests of local files (always the sha256), remembered by (path, size, mtime, inode).

    Thread-safe. ``save()`` writes the cache atomically; a cache that cannot be
    read or written is ignored (it only ever saves time, never decides).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None:
            # A FIFO or a device in its place is refused by open_small_file, never waited on.
            with contextlib.suppress(OSError, ValueError, RecursionError):
                self._entries = _read_entries(path)

    @staticmethod
    def _key(stat: os.stat_result | FileIdentity) -> tuple[int, int, int]:
        return stat.st_size, stat.st_mtime_ns, stat.st_ino

    def sha256(self, path: str | os.PathLike[str]) -> str:
        return self.digests(path)["sha256"]

    def digests(
        self,
        path: str | os.PathLike[str],
        algorithms: Iterable[str] = ("sha256",),
        *,
        resolved: bool = False,
    ) -> FileDigests:
        """The sha256 of ``path`` and its digest for each of ``algorithms``.

        What the cache lacks is computed in a single read of the file (a miss);
        a hit reads nothing. The result carries the identity the digests belong to.
        ``resolved``: the caller knows ``path`` is already its real path (no link on
        the way), which spares resolving each file of a large folder again.
        """
        real = os.fspath(path) if resolved else os.path.realpath(path)
        stat = os.stat(real)
        key = self._key(stat)
        wanted = list(dict.fromkeys(("sha256", *algorithms)))
        with self._lock:
            known = self._known(self._entries.get(real), key, wanted)
            if len(known) == len(wanted):
                self.hits += 1
                return FileDigests(known, stat)
            self.misses += 1
        computed = hash_file(real, [n for n in wanted if n not in known], size=stat.st_size)
        digests = {name: known.get(name) or computed[name] for name in wanted}
        # Stat again: a file that changed while being read must not be cached.
        if self._key(os.stat(real)) == key:
            with self._lock:
                kept = {**self._known(self._entries.get(real), key, None), **digests}
                others = [x for n, v in kept.items() if n != "sha256" for x in (n, v)]
                self._entries[real] = _pack(key, kept["sha256"], others)
                self._dirty = True
        return FileDigests(digests, stat)

    def known(self, path: str | os.PathLike[str], algorithms: Iterable[str]) -> bool:
        """Whether the cache holds the digests of ``path`` for ``algorithms`` (and its
        sha256): a lookup, never a read of the file."""
        real = os.path.realpath(path)
        key = self._key(os.stat(real))
        wanted = list(dict.fromkeys(("sha256", *algorithms)))
        with self._lock:
            return len(self._known(self._entries.get(real), key, wanted)) == len(wanted)

    @staticmethod
    def _known(
        entry: _Entry | None, key: tuple[int, int, int], wanted: list[str] | None
    ) -> dict[str, str]:
        """The digests (of ``wanted``, or all) an entry holds for a file with ``key``."""
        if entry is None or _key_of(entry) != key:
            return {}
        others = _others(entry)
        held = {"sha256": _sha256_of(entry), **dict(zip(others[::2], others[1::2], strict=True))}
        return {name: value for name, value in held.items() if wanted is None or name in wanted}

    def holders(self, wanted: Collection[str], under: str | os.PathLike[str]) -> dict[str, str]:
        """{sha256: a file below ``under`` the cache says holds it}, for those of ``wanted``.

        Only files that still have the size, mtime and inode they were hashed with;
        whoever reads one still checks its bytes (the cache only saves time).
        """
        top = os.path.join(os.path.realpath(under), "")
        with self._lock:
            candidates = [
                (path, entry, sha256)
                for path, entry in self._entries.items()
                if path.startswith(top) and (sha256 := _sha256_of(entry)) in wanted
            ]
        found: dict[str, str] = {}
        for path, entry, sha256 in candidates:
            if sha256 in found:
                continue
            try:
                now = os.lstat(path)
            except OSError:
                continue
            if S_ISREG(now.st_mode) and self._known(entry, self._key(now), ["sha256"]):
                found[sha256] = path
        return found

    def remember(self, path: str | os.PathLike[str], sha256: str) -> None:
        """Record the sha256 of a file just written and verified, so no one hashes it again
        (unless it is gone already: the cache only ever saves time)."""
        real = os.path.realpath(path)
        try:
            self.remember_stat(real, os.stat(real), sha256)
        except FileNotFoundError:
            return

    def remember_stat(self, real: str, stat: os.stat_result | FileIdentity, sha256: str) -> None:
        """As :meth:`remember`, for a file whose real path and stat the caller has just
        taken (the walk of a folder it installs): no lookup of its own."""
        with self._lock:
            self._entries[real] = _pack(self._key(stat), sha256)
            self._dirty = True

    def save(self) -> None:
        """Write the cache, one entry at a time: never the whole file in memory at once."""
        if self.path is None or not self._dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A cache: losing the last save to a crash only costs hashing again.
            with self._lock, atomic_write(self.path, durable=False) as f:
                out = io.TextIOWrapper(f, encoding="utf-8", newline="")
                out.write("{")
                for n, path in enumerate(sorted(self._entries)):
                    out.write(f"{',' if n else ''}\n{_entry_line(path, self._entries[path])}")
                out.write("\n}\n")
                out.flush()
                out.detach()
                self._dirty = False
