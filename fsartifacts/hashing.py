"""Streaming hashes: digests computed while bytes are read, copied or written.

Several digests of one stream are computed side by side in threads (hashlib
releases the GIL on large buffers); what a file's digests belong to travels
with them (:class:`FileDigests`). The cache of local files' digests is in
:mod:`fsartifacts.hashcache`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import struct
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, NamedTuple, Protocol

from fsartifacts.errors import IntegrityError
from fsartifacts.localcopy import Progress, file_descriptor, kernel_copies, kernel_copy

CHUNK = 1024 * 1024
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


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
    """One hasher fed through a queue by a thread of its own; at most ``QUEUED_CHUNKS``
    chunks wait in it (``room``), the memory bound."""

    def __init__(self, hasher: Any) -> None:
        self.hasher = hasher
        self.chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.room = threading.Semaphore(QUEUED_CHUNKS)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fsartifacts-hash", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                self.hasher.update(chunk)
                self.room.release()
        except BaseException as exc:  # handed back to the caller by finish()
            self.failure = exc
            self.room.release()
            while self.chunks.get() is not None:  # let the feeder go on to its end
                self.room.release()

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

    A feeder that must not wait for the hashing (a download's writer, which can leave
    its bytes to be read back from the disk later) gives them with :meth:`offer`.
    """

    def __init__(self, algorithms: Iterable[str] = ("sha256",)) -> None:
        self.hashers = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
        self.bytes = 0
        self._threads: list[_DigestThread] | None = None

    def update(self, data: bytes) -> None:
        """Hash ``data`` next, waiting while the digests' threads are full."""
        self._feed(data, wait=True)

    def offer(self, data: bytes) -> bool:
        """Hash ``data`` next if every digest can take it now, without waiting; False
        (nothing of it taken) when one of them is still busy with earlier chunks."""
        return self._feed(data, wait=False)

    def wait_for_room(self) -> None:
        """Wait until every digest has room for one more chunk. Only a hint for a feeder
        that then offers under a lock of its own: another may take the room first."""
        for worker in self._threads or ():
            worker.room.acquire()
            worker.room.release()

    def _feed(self, data: bytes, *, wait: bool) -> bool:
        if self._threads is None and self.bytes + len(data) > THREADED_MIN:
            self._threads = [_DigestThread(h) for h in self.hashers.values()]
            # A transfer abandoned half way (an error, a retry) never asks for its
            # digests: its threads end when it is dropped.
            weakref.finalize(self, _stop_threads, list(self._threads))
        if self._threads is None:
            self.bytes += len(data)
            for h in self.hashers.values():
                h.update(data)
            return True
        taken: list[_DigestThread] = []
        for worker in self._threads:
            if not worker.room.acquire(blocking=wait):
                for held in taken:
                    held.room.release()
                return False
            taken.append(worker)
        self.bytes += len(data)
        chunk = data if isinstance(data, bytes) else bytes(data)  # the caller may reuse its buffer
        for worker in self._threads:
            worker.chunks.put(chunk)
        return True

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
    path: str | os.PathLike[str],
    algorithms: Iterable[str] = ("sha256",),
    *,
    size: int | None = None,
) -> dict[str, str]:
    """Hex digests of ``path`` for each algorithm, reading it once.

    ``size``: its size as the caller just found it. A file of at most one chunk is then
    read by its descriptor, in one call where it still has that size (``size + 1``
    asked, ``size`` read: its end); else on to its end. A folder of 20,000 small files
    pays no file object, no size and terminal queries of its opening and no second read
    for the end, per file."""
    if size is None or size >= CHUNK:
        with open(path, "rb") as f:
            return hash_stream(f, algorithms)[1]
    fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    try:
        data = os.read(fd, size + 1)
        if len(data) != size:  # it changed since, or the read was cut short: to its end
            data += b"".join(iter(lambda: os.read(fd, CHUNK), b""))
    finally:
        os.close(fd)
    return hash_bytes(data, algorithms)


def hash_bytes(data: bytes, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
    """Hex digests of ``data`` (bytes already in memory) for each algorithm."""
    return {name: hashlib.new(name, data).hexdigest() for name in dict.fromkeys(algorithms)}


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
        """Write the rest of the regular file ``src``, as :meth:`write` of its bytes would
        (see :meth:`copy_fd`); ``src`` is left at its end."""
        start = src.tell()
        rest = os.fstat(src.fileno()).st_size - start
        src.seek(start + self.copy_fd(src.fileno(), start, rest, progress))

    def copy_fd(self, src: int, start: int, rest: int, progress: Progress | None = None) -> int:
        """Write the regular file open as ``src`` from ``start`` to its end (``rest`` bytes
        when it is the size it had), as :meth:`write` of its bytes would; what was copied.

        Read at offsets (its position is neither used nor moved). A large one goes to an
        output that is a file inside the kernel, hashed behind the copy and written back
        to disk as it goes (see :mod:`fsartifacts.localcopy`); whatever the kernel cannot
        copy goes on through :meth:`write`.
        """
        copied = 0
        dst = file_descriptor(self.out)
        if dst is not None and rest > THREADED_MIN and kernel_copies():
            self._check_limit(rest)
            self.out.flush()
            dst_at = os.lseek(dst, 0, os.SEEK_CUR)
            copied = kernel_copy(src, dst, rest, src_at=start, dst_at=dst_at,
                                 feed=self._digests.update, progress=progress)  # fmt: skip
            self.bytes += copied
            os.lseek(dst, dst_at + copied, os.SEEK_SET)  # later writes go on after the copy
        # What is left asked for in one read, and one byte more: a short read is the end
        # of the file, so a small file costs one read, not three and a CHUNK-sized buffer.
        want = min(CHUNK, max(rest - copied, 0) + 1)
        while chunk := os.pread(src, want, start + copied):
            self.write(chunk)
            copied += len(chunk)
            if progress is not None:
                progress.relative_update(len(chunk))
            if len(chunk) < want:
                break
            want = CHUNK
        return copied

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


# A FileIdentity packed: size, mtime, inode, device, ctime.
_IDENTITY = struct.Struct("<QqQQq")
# The tuples of digest names in use, one of each: ("sha256",) for nearly every file.
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


class FileDigests(Mapping[str, str]):
    """Hex digests of a local file by hashlib name, and the file's identity when hashed.

    The identity lets a later step check, without reading the file again, that it
    still has the size, mtime and inode it had when it was hashed. A push keeps one
    per file of a folder, so it holds only that, packed: no ``os.stat_result``, no
    dict, no tuple of ints (a packed identity is a third of its :class:`FileIdentity`),
    and the digests' names shared by every file hashed for the same ones.
    """

    __slots__ = ("_identity", "_names", "_values")

    def __init__(self, hexdigests: Mapping[str, str], stat: os.stat_result | FileIdentity) -> None:
        names = tuple(hexdigests)
        self._names = _NAMES.setdefault(names, names)
        self._values = tuple(hexdigests.values())
        self._identity = _IDENTITY.pack(*file_identity(stat))

    @property
    def identity(self) -> FileIdentity:
        return self._identity_now()

    @property
    def size(self) -> int:
        return self._size_now()

    def _identity_now(self) -> FileIdentity:
        return FileIdentity(*_IDENTITY.unpack(self._identity))

    def _size_now(self) -> int:
        return int(_IDENTITY.unpack_from(self._identity)[0])

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
        return _IDENTITY.pack(*file_identity(now)) == self._identity


class ReadFile(NamedTuple):
    """The whole of a small file as one read found it, and the file's fstat taken after
    that read (so any write whose bytes the read could have seen shows in it).
    ``digests``: those of ``data`` by hashlib name, when the reader computed them already
    (an upload that hashes the very bytes it sends): taken as they are, never again."""

    data: bytes
    stat: os.stat_result
    digests: Mapping[str, str] | None = None


def read_whole(path: str, size: int) -> ReadFile | None:
    """The file ``path`` (found ``size`` bytes long) in one read and its fstat after it;
    None when it cannot be read so or is no longer that long, for the caller's usual read
    to report or handle."""
    try:
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, size + 1)
        st = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return ReadFile(data, st) if len(data) == size == st.st_size else None


class DigestsOnUse(FileDigests):
    """The digests of a file found but not read yet, computed by ``compute`` when they are
    first read, in the thread that reads them: the files of a folder are then hashed by
    the workers that send them, side by side, instead of all of them first, one after
    another. Until then its identity is ``found`` (the file as it was listed), so a file
    changed since is still told from it; ``size_found`` is its size then.
    """

    __slots__ = ("_compute", "copied", "size_found")

    def __init__(
        self, found: os.stat_result, compute: Callable[[ReadFile | None], FileDigests]
    ) -> None:
        self._names, self._values = (), ()
        self._identity = _IDENTITY.pack(*file_identity(found))
        self._compute: Callable[[ReadFile | None], FileDigests] | None = compute
        self.size_found = found.st_size
        self.copied = False  # its digests were taken from a copy's (see copied_as)

    @property
    def pending(self) -> bool:
        """Whether the digests are still to be computed."""
        return self._compute is not None

    def hashed(self, read: ReadFile | None = None) -> DigestsOnUse:
        """Compute the digests now if they are not yet (each is computed once); self.
        ``read``: the file's bytes as a copy of it just read them, hashed instead of
        reading it again."""
        compute = self._compute
        if compute is not None:
            done = compute(read)
            self._names, self._values, self._identity = done._names, done._values, done._identity
            self._compute = None
        return self

    def copied_as(
        self, names: tuple[str, ...], values: tuple[str, ...], identity: tuple[int, ...]
    ) -> bool:
        """Take the digests (``values``, by hashlib ``names``) that a copy of the file
        computed from the very bytes it read and wrote, ``identity`` the file's
        (:class:`FileIdentity` fields) after that read, in place of computing them: True.
        False, still pending, when they are computed already or the file read is not the
        one that was found (another inode or device: it was replaced since, and hashing
        it says so). Nothing is remembered in a cache: :attr:`copied` tells whoever keeps
        one which digests to record."""
        if self._compute is None:
            return False
        found = _IDENTITY.unpack(self._identity)
        if identity[2] != found[2] or identity[3] != found[3]:
            return False
        self._names = _NAMES.setdefault(names, names)
        self._values = values
        self._identity = _IDENTITY.pack(*identity)
        self._compute = None
        self.copied = True
        return True

    @property
    def identity(self) -> FileIdentity:
        return self.hashed()._identity_now()

    @property
    def size(self) -> int:
        return self.hashed()._size_now()

    def __getitem__(self, name: str) -> str:
        return FileDigests.__getitem__(self.hashed(), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.hashed()._names)

    def __len__(self) -> int:
        return len(self.hashed()._names)
