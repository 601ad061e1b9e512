"""The hash cache on disk: one shard file per folder of hashed files, and its bounds.

A lookup reads the shard of the file's folder only, and a command writes back only the
shards it changed, so a ``sync pull`` of one small file does not load (or rewrite) the
digests of a dataset of 100,000 files elsewhere. A shard is named after its folder
(percent-escaped, so the shards below a folder are found from the names alone; a name
too long for the filesystem is a hash, and the folder is then read from its first line).

A shard is text: a header line naming the folder, one line per file, then ``end``::

    fsartifacts-hashes 1 "/home/me/project/data"
    <sha256> <size> <mtime_ns> <inode>[ <digest name>=<hex>...] "<file name, JSON>"
    end

A shard without its header for that folder, with a line that is not of that form, or
cut short before ``end`` is ignored whole: a cache only ever saves time.

Bounds: a shard written drops the entries of files no longer in its folder, the shard
of a folder that is gone is removed, and past :data:`SHARDS_LIMIT` bytes or
:data:`SHARDS_COUNT` shards in all the least recently used are removed first.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import struct
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from fsartifacts import locks
from fsartifacts.atomic import TEMP_MARKER, atomic_write
from fsartifacts.localfiles import CACHE_LIMIT, open_small_file

log = logging.getLogger("fsartifacts")

SHARDS_LIMIT = 128 * 1024 * 1024  # bytes of all shards together
SHARDS_COUNT = 20_000  # shards in all: one per folder of hashed files
SUFFIX = ".shard"
_HEADER = b"fsartifacts-hashes 1 "
_END = b"end\n"
_NAME_MAX = 200  # an escaped folder longer than this names its shard by a hash
_LOCK = ".lock"
_LOCK_WAIT = 10.0  # seconds a save waits for another process's save, then gives up
_STALE_TEMP = 3600.0  # a temporary older than this was left by a killed save

# One entry in memory: size, mtime and inode and the sha256 packed in one bytes object,
# alone when that is all it holds (a folder may hold 100,000 files); an entry with other
# digests is a tuple of that object, then each other digest as name, value, ...
Entry = bytes | tuple[Any, ...]
Key = tuple[int, int, int]  # size, mtime_ns, inode
_PACKED = struct.Struct("<QqQ32s")


def pack_entry(key: Key, sha256: str, others: Iterable[str] = ()) -> Entry:
    """An entry of ``key`` holding ``sha256`` and the ``others`` (name, value, ...)."""
    packed = _PACKED.pack(*key, bytes.fromhex(sha256))
    extra = tuple(others)
    return (packed, *extra) if extra else packed


def _packed(entry: Entry) -> bytes:
    return entry if isinstance(entry, bytes) else entry[0]


def entry_key(entry: Entry) -> Key:
    size, mtime_ns, inode, _ = _PACKED.unpack(_packed(entry))
    return size, mtime_ns, inode


def entry_sha256(entry: Entry) -> str:
    return _packed(entry)[-32:].hex()


def entry_digests(entry: Entry) -> dict[str, str]:
    """Every digest an entry holds, by hashlib name (the sha256 among them)."""
    others = () if isinstance(entry, bytes) else entry[1:]
    return {"sha256": entry_sha256(entry), **dict(zip(others[::2], others[1::2], strict=True))}


@dataclass
class Shard:
    """The entries of one folder's files, by file name, as loaded or made in this process."""

    entries: dict[str, Entry] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)  # names given an entry by this process
    seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) of the file loaded
    used: bool = False  # a lookup found an entry in it: touched at save, as recently used


def shard_name(folder: str) -> str:
    """The file name of ``folder``'s shard."""
    raw = os.fsencode(folder)
    escaped = quote_from_bytes(raw, safe="")  # "/" too: the name is one path component
    if len(escaped) <= _NAME_MAX:
        return escaped + SUFFIX
    return "~" + hashlib.sha256(raw).hexdigest()[:40] + SUFFIX


def _header(folder: str) -> bytes:
    return _HEADER + json.dumps(folder).encode() + b"\n"


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_shard(path: Path, folder: str) -> Shard | None:
    """The shard at ``path`` if it is ``folder``'s and whole; None if it is missing,
    not a regular file, damaged or another folder's."""
    damaged = (OSError, ValueError, UnicodeDecodeError, struct.error)
    with contextlib.suppress(*damaged), open_small_file(path, CACHE_LIMIT) as f:
        if f.readline() != _header(folder):
            return None
        shard = Shard(seen=_identity(os.fstat(f.fileno())))
        for line in f:
            if line == _END:
                return shard
            name, entry = _parse(line)
            shard.entries[name] = entry
    return None


def _parse(line: bytes) -> tuple[str, Entry]:
    head, quote, name = line.partition(b' "')
    fields = head.split(b" ")
    if not quote or len(fields) < 4 or not name.endswith(b'"\n'):
        raise ValueError("not an entry line")
    sha256, size, mtime_ns, inode = fields[:4]
    others = [part for token in fields[4:] for part in token.decode().split("=", 1)]
    if len(others) % 2:
        raise ValueError("a digest without its value")
    body = name[:-2]
    # A plain name is its own JSON; one with escapes (quotes, non-ASCII) goes through json.
    text = json.loads(b'"' + body + b'"') if b"\\" in body else body.decode("ascii")
    if not isinstance(text, str) or text in ("", ".", "..") or "/" in text or "\0" in text:
        raise ValueError("not a file name")
    key = (int(size), int(mtime_ns), int(inode))
    if not others:
        return text, _PACKED.pack(*key, bytes.fromhex(sha256.decode()))
    return text, pack_entry(key, sha256.decode(), others)


def _line(name: str, entry: Entry) -> str:
    if isinstance(entry, bytes):  # a sha256 alone: the usual entry, written directly
        size, mtime_ns, inode, sha256 = _PACKED.unpack(entry)
        head = f"{sha256.hex()} {size} {mtime_ns} {inode}"
    else:
        size, mtime_ns, inode = entry_key(entry)
        digests = entry_digests(entry)
        others = "".join(f" {n}={v}" for n, v in sorted(digests.items()) if n != "sha256")
        head = f"{digests['sha256']} {size} {mtime_ns} {inode}{others}"
    plain = name.isascii() and name.isprintable() and '"' not in name and "\\" not in name
    return f'{head} "{name}"\n' if plain else f"{head} {json.dumps(name)}\n"


def write_shard(path: Path, folder: str, entries: Mapping[str, Entry]) -> tuple[int, int, int]:
    """Replace the shard at ``path`` atomically by ``entries``; the identity written."""
    # A cache: not flushed to disk. A shard a crash leaves cut short lacks its last line
    # and is ignored as damaged; at worst the files are hashed again.
    with atomic_write(path, durable=False, synced=False) as f:
        out = io.TextIOWrapper(f, encoding="utf-8", newline="")
        out.write(_header(folder).decode())
        for name, entry in entries.items():
            out.write(_line(name, entry))
        out.write(_END.decode())
        out.flush()
        out.detach()
        f.flush()
        return _identity(os.fstat(f.fileno()))


def shards_on_disk(shards: Path) -> list[tuple[str, str]]:
    """(folder, shard file name) of each shard in the folder ``shards``: one listing of
    it (and the first line of each shard named by a hash, which names its folder)."""
    try:
        names = os.listdir(shards)
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(SUFFIX):
            continue
        if name.startswith("~"):  # a hashed name: its folder is on its first line
            folder = _folder_in(shards / name)
            if folder is None:
                continue
        else:
            folder = os.fsdecode(unquote_to_bytes(name[: -len(SUFFIX)]))
        if "\0" not in folder:  # (no folder's path holds a NUL: a damaged one)
            found.append((folder, name))
    return found


def _folder_in(path: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        with open_small_file(path, CACHE_LIMIT) as f:
            first = f.readline(64 * 1024)
        if first.startswith(_HEADER) and first.endswith(b"\n"):
            folder = json.loads(first[len(_HEADER) :])
            return folder if isinstance(folder, str) else None
    return None


@contextlib.contextmanager
def saving(shards: Path) -> Iterator[bool]:
    """Hold the lock of the shards' folder while one process writes shards: True, or False
    when another process's save held it past :data:`_LOCK_WAIT` (this save is skipped)."""
    path = shards / _LOCK

    def waiting(holder: str) -> None:
        log.info("waiting for %s, which %s holds while it saves the hash cache", path, holder)

    fd = locks.wait_to_take(path, bound=_LOCK_WAIT, waiting=waiting)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            locks.release(path, fd)


def save_shard(shards: Path, folder: str, shard: Shard) -> None:
    """Write ``shard`` back, merged with what another process wrote to it since it was
    loaded (this process's entries win), without the files no longer in ``folder``.
    The caller holds :func:`saving`."""
    path = shards / shard_name(folder)
    try:
        present = set(os.listdir(folder))
    except FileNotFoundError:
        present = set()
    except OSError:
        present = None  # unreadable: nothing is known to be gone
    try:
        now: tuple[int, int, int] | None = _identity(os.stat(path))
    except OSError:
        now = None
    if now is not None and now != shard.seen:
        disk = read_shard(path, folder)
        if disk is not None:
            mine = {name: shard.entries[name] for name in shard.changed}
            shard.entries = {**disk.entries, **mine}
    if present is not None:
        shard.entries = {n: e for n, e in shard.entries.items() if n in present}
    shard.changed.clear()
    if not shard.entries:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        shard.seen = None
        return
    shard.seen = write_shard(path, folder, shard.entries)


def touch(shards: Path, folder: str) -> None:
    """Mark ``folder``'s shard as just used, so the bound removes it after older ones."""
    with contextlib.suppress(OSError):
        os.utime(shards / shard_name(folder))


def bound(shards: Path, keep: Iterable[str], limit: int, count: int) -> None:
    """Remove the least recently used shards until at most ``limit`` bytes and ``count``
    shards are left (the shards of ``keep``, just written, last), and the temporaries of
    saves killed long ago."""
    kept = {shard_name(folder) for folder in keep}
    found: list[tuple[bool, int, int, str]] = []
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(shards) as listing:
        for item in listing:
            with contextlib.suppress(OSError):
                st = item.stat(follow_symlinks=False)
                if item.name.endswith(SUFFIX):
                    found.append((item.name in kept, st.st_mtime_ns, st.st_size, item.name))
                elif TEMP_MARKER in item.name and now - st.st_mtime > _STALE_TEMP:
                    os.unlink(item.path)
    total = sum(size for _, _, size, _ in found)
    found.sort()
    for n, (_, _, size, name) in enumerate(found):
        if total <= limit and len(found) - n <= count:
            return
        with contextlib.suppress(OSError):
            os.unlink(shards / name)
        total -= size
