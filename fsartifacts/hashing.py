"""Streaming hashes, and the cache of local file hashes.

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
import hashlib
import io
import json
import os
import queue
import struct
import threading
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any, NamedTuple, Protocol

from fsartifacts.atomic import atomic_write
from fsartifacts.errors import IntegrityError
from fsartifacts.localcopy import Progress, file_descriptor, kernel_copies, kernel_copy
from fsartifacts.localfiles import CACHE_LIMIT, open_small_file

CHUNK = 1024 * 1024


class ByteSource(Protocol):
    """What :func:`hash_stream` reads from: a binary file, or anything that reads like one."""

    def read(self, size: int = -1, /) -> bytes: ...


# Past this many bytes each digest moves to a thread of its own, beside the reads or
# writes of the caller and beside the other digests: hashlib releases the GIL on
# large buffers. Below it, starting threads would cost more than it saves.
THREADED_MIN = 4 * CHUNK
# Chunks waiting for a digest's thread: memory stays at most this many chunks per digest.
QUEUED_CHUNKS = 4


class _DigestThread:
    """One hasher fed through a bounded queue by a thread of its own."""

    def __init__(self, hasher: Any) -> None:
        self.hasher = hasher
        self.chunks: queue.Queue[bytes | None] = queue.Queue(QUEUED_CHUNKS)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fsartifacts-hash", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                self.hasher.update(chunk)
        except BaseException as exc:  # handed back to the caller by finish()
            self.failure = exc
            while self.chunks.get() is not None:  # let the feeder go on to its end
                pass

    def finish(self) -> None:
        self.chunks.put(None)
        self.thread.join()
        if self.failure is not None:
            raise self.failure


def _stop_threads(threads: list[_DigestThread]) -> None:
    for worker in threads:
        if worker.thread.is_alive():
            worker.chunks.put(None)


class Digests:
    """Several digests of one stream of bytes, fed in order with :meth:`update`.

    The first ``THREADED_MIN`` bytes are hashed inline; past them each digest has a
    thread of its own, so a large file's digests are computed side by side and beside
    the caller's transfer. Call :meth:`hexdigests` (or :meth:`close`) once fed: it
    waits for the threads.
    """

    def __init__(self, algorithms: Iterable[str] = ("sha256",)) -> None:
        self.hashers = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
        self.bytes = 0
        self._threads: list[_DigestThread] | None = None

    def update(self, data: bytes) -> None:
        if self._threads is None and self.bytes + len(data) > THREADED_MIN:
            self._threads = [_DigestThread(h) for h in self.hashers.values()]
            # A transfer abandoned half way (an error, a retry) never asks for its
            # digests: its threads end when it is dropped.
            weakref.finalize(self, _stop_threads, list(self._threads))
        self.bytes += len(data)
        if self._threads is None:
            for h in self.hashers.values():
                h.update(data)
            return
        chunk = data if isinstance(data, bytes) else bytes(data)  # the caller may reuse its buffer
        for worker in self._threads:
            worker.chunks.put(chunk)

    def close(self) -> None:
        """Stop the threads (after hashing what was fed); idempotent."""
        threads, self._threads = self._threads, None
        failures = []
        for worker in threads or ():
            try:
                worker.finish()
            except BaseException as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def hexdigests(self) -> dict[str, str]:
        self.close()
        return {name: h.hexdigest() for name, h in self.hashers.items()}


def hash_stream(
    stream: ByteSource, algorithms: Iterable[str] = ("sha256",)
) -> tuple[int, dict[str, str]]:
    """(size, hex digest by algorithm) of ``stream``, read once to its end.

    The digests of a large stream are computed in threads beside the reads (see
    :class:`Digests`).
    """
    digests = Digests(algorithms)
    try:
        while chunk := stream.read(CHUNK):
            digests.update(chunk)
    finally:
        digests.close()
    return digests.bytes, digests.hexdigests()


def hash_file(
    path: str | os.PathLike[str], algorithms: Iterable[str] = ("sha256",)
) -> dict[str, str]:
    """Hex digests of ``path`` for each algorithm, reading it once."""
    with open(path, "rb") as f:
        return hash_stream(f, algorithms)[1]


class ByteSink(Protocol):
    """Where a HashingWriter passes bytes on to: a binary file, or a wrapper of one."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class HashingWriter:
    """A writable that hashes and counts what passes through it on its way to ``out``.

    With ``limit`` (the size the store lists for what is being received), the
    first write that would go past it raises instead: a store entry that never
    ends (a link to ``/dev/zero``) or is larger than listed cannot fill the disk.
    ``what`` names the source in that error.
    """

    def __init__(
        self,
        out: ByteSink,
        algorithms: Iterable[str] = ("sha256",),
        *,
        limit: int | None = None,
        what: str = "the download",
    ) -> None:
        self.out = out
        self._digests = Digests(algorithms)
        self.bytes = 0
        self.limit = limit
        self.what = what

    def write(self, data: bytes) -> int:
        self._check_limit(len(data))
        self._digests.update(data)
        self.bytes += len(data)
        return self.out.write(data)

    def copy_from(self, src: IO[bytes], progress: Progress | None = None) -> None:
        """Write the rest of the regular file ``src``, as :meth:`write` of its bytes would.

        A large one goes to an output that is a file inside the kernel, hashed behind
        the copy and written back to disk as it goes (see :mod:`fsartifacts.localcopy`);
        whatever the kernel cannot copy goes on through :meth:`write`.
        """
        start = src.tell()
        rest = os.fstat(src.fileno()).st_size - start
        dst = file_descriptor(self.out)
        if dst is not None and rest > THREADED_MIN and kernel_copies():
            self._check_limit(rest)
            self.out.flush()
            dst_at = os.lseek(dst, 0, os.SEEK_CUR)
            copied = kernel_copy(src.fileno(), dst, rest, src_at=start, dst_at=dst_at,
                                 feed=self._digests.update, progress=progress)  # fmt: skip
            self.bytes += copied
            os.lseek(dst, dst_at + copied, os.SEEK_SET)  # later writes go on after the copy
            src.seek(start + copied)
        while chunk := src.read(CHUNK):
            self.write(chunk)
            if progress is not None:
                progress.relative_update(len(chunk))

    def _check_limit(self, more: int) -> None:
        if self.limit is not None and self.bytes + more > self.limit:
            raise IntegrityError(
                f"{self.what}: the store sent more than the {self.limit} bytes it lists for "
                "it, and the download was stopped there. The copy on the store is not the one "
                "its listing describes: push it again.",
                transient=False,
            )

    def flush(self) -> None:
        self.out.flush()

    def digests(self) -> dict[str, str]:
        return self._digests.hexdigests()

    def close(self) -> None:
        """Stop the hashing threads of a write abandoned before :meth:`digests`."""
        self._digests.close()


class FileIdentity(NamedTuple):
    """What changes when a file is written or replaced: size, mtime, inode, device, ctime
    (which no one can set back, as ``touch`` can the mtime). Named as ``os.stat`` names
    them, so either can be compared."""

    st_size: int
    st_mtime_ns: int
    st_ino: int
    st_dev: int
    st_ctime_ns: int


def file_identity(stat: os.stat_result | FileIdentity) -> FileIdentity:
    """The :class:`FileIdentity` of a file's stat."""
    return FileIdentity(stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev, stat.st_ctime_ns)


class FileDigests(Mapping[str, str]):
    """Hex digests of a local file by hashlib name, and the file's identity when hashed.

    The identity lets a later step check, without reading the file again, that it
    still has the size, mtime and inode it had when it was hashed. A push keeps one
    per file of a folder, so it holds only that: no ``os.stat_result``, no dict.
    """

    __slots__ = ("_names", "_values", "identity")

    def __init__(self, hexdigests: Mapping[str, str], stat: os.stat_result | FileIdentity) -> None:
        self._names = tuple(hexdigests)
        self._values = tuple(hexdigests.values())
        self.identity = file_identity(stat)

    @property
    def size(self) -> int:
        return self.identity.st_size

    def __getitem__(self, name: str) -> str:
        try:
            return self._values[self._names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"FileDigests({dict(self)!r}, size={self.size})"

    def unchanged(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is still the file these digests were computed from.

        A write, a replacement by rename, or a touch back to the old mtime each
        change its :func:`file_identity`. (A rewrite to the same size within one
        clock tick of the filesystem can still slip through.)
        """
        try:
            now = os.stat(path)
        except OSError:
            return False
        return file_identity(now) == self.identity


def default_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("FSARTIFACTS_CACHE_DIR"):
        return Path(env["FSARTIFACTS_CACHE_DIR"]) / "hashes.json"
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fsartifacts" / "hashes.json"


# One entry of the cache in memory: its size, mtime and inode and its sha256 packed in one
# bytes object, then each other digest as name, value, ...: a project may hold 100,000
# files, and this is a third of a tuple of ints and hex strings.
_Entry = tuple[Any, ...]
_KEYS = ("size", "mtime_ns", "inode")
_PACKED = struct.Struct("<QqQ32s")


def _pack(key: tuple[int, int, int], sha256: str, others: Iterable[str] = ()) -> _Entry:
    return (_PACKED.pack(*key, bytes.fromhex(sha256)), *others)


def _key_of(entry: _Entry) -> tuple[int, int, int]:
    size, mtime_ns, inode, _ = _PACKED.unpack(entry[0])
    return size, mtime_ns, inode


def _sha256_of(entry: _Entry) -> str:
    return str(entry[0][-32:].hex())


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


def _entry_doc(entry: _Entry) -> dict[str, Any]:
    """An entry as the cache file writes it."""
    return {**dict(zip(_KEYS, _key_of(entry), strict=True)), "sha256": _sha256_of(entry),
            **dict(zip(entry[1::2], entry[2::2], strict=True))}  # fmt: skip


def _read_entries(path: Path) -> dict[str, _Entry]:
    """The entries of a cache file: one a line as :meth:`HashCache.save` writes them (read
    a line at a time), else the whole file as one JSON object (as older versions wrote)."""
    entries: dict[str, _Entry] = {}

    def take(doc: Any) -> None:
        if isinstance(doc, dict):
            entries.update((k, v) for k, v in doc.items() if type(v) is tuple)

    with open_small_file(path, CACHE_LIMIT) as f:
        first = f.readline()
        if first.strip() != b"{":
            take(json.loads(first + f.read(), object_hook=_entry_of))
            return entries
        for line in f:
            line = line.rstrip(b",\r\n")
            if line == b"}":
                return entries
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
    def _key(stat: os.stat_result) -> tuple[int, int, int]:
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
        computed = hash_file(real, [name for name in wanted if name not in known])
        digests = {name: known.get(name) or computed[name] for name in wanted}
        # Stat again: a file that changed while being read must not be cached.
        if self._key(os.stat(real)) == key:
            with self._lock:
                kept = {**self._known(self._entries.get(real), key, None), **digests}
                others = [x for n, v in kept.items() if n != "sha256" for x in (n, v)]
                self._entries[real] = _pack(key, kept["sha256"], others)
                self._dirty = True
        return FileDigests(digests, stat)

    @staticmethod
    def _known(
        entry: _Entry | None, key: tuple[int, int, int], wanted: list[str] | None
    ) -> dict[str, str]:
        """The digests (of ``wanted``, or all) an entry holds for a file with ``key``."""
        if entry is None or _key_of(entry) != key:
            return {}
        held = {"sha256": _sha256_of(entry), **dict(zip(entry[1::2], entry[2::2], strict=True))}
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
            key = self._key(os.stat(real))
        except FileNotFoundError:
            return
        with self._lock:
            self._entries[real] = _pack(key, sha256)
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
                    doc = json.dumps(_entry_doc(self._entries[path]), sort_keys=True)
                    out.write(f"{',' if n else ''}\n{json.dumps(path)}: {doc}")
                out.write("\n}\n")
                out.flush()
                out.detach()
                self._dirty = False
