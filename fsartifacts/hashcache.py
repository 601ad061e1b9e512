"""The cache of local file hashes.

The cache maps (path, size, mtime, inode) to the file's digests (always its
sha256; also the sha1 a store such as Artifactory wants with an upload), so
that checking an up-to-date project does not re-read its files and a push
reads a file once. Any change to the file changes at least one of those, and
the entry is simply not found.

On disk it is a folder of shards, one per folder of hashed files
(:mod:`fsartifacts.hashshards`): a lookup loads its folder's shard only, when first
asked, and ``save()`` writes back only the shards this process changed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from stat import S_ISREG

from fsartifacts import hashshards
from fsartifacts.hashing import FileDigests, FileIdentity, ReadFile, hash_bytes, hash_file
from fsartifacts.hashshards import Shard, entry_digests, entry_key, entry_sha256, pack_entry
from fsartifacts.home import user_home


def default_cache_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder of the user's hash cache; None where the user has no home folder to keep
    it in (the cache is then kept in memory for the run)."""
    env = os.environ if environ is None else environ
    if env.get("FSARTIFACTS_CACHE_DIR"):
        return Path(env["FSARTIFACTS_CACHE_DIR"]) / "hashes"
    # The XDG rule: an empty or relative $XDG_CACHE_HOME is ignored.
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = user_home(env)
        if home is None:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "fsartifacts" / "hashes"


# The one-file cache earlier versions kept beside the folder: removed at the first save.
_OLD_CACHE = "hashes.json"


class HashCache:
    """Digests of local files (always the sha256), remembered by (path, size, mtime, inode).

    ``path`` is the folder of its shards (None: kept in memory only). Thread-safe.
    ``save()`` writes what changed atomically; a cache that cannot be read or written
    is ignored (it only ever saves time, never decides). ``limit`` and ``count`` bound
    the bytes and the shards on disk.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        limit: int = hashshards.SHARDS_LIMIT,
        count: int = hashshards.SHARDS_COUNT,
    ) -> None:
        self.path = path
        self.limit, self.count = limit, count
        self._lock = threading.Lock()
        self._shards: dict[str, Shard] = {}
        # The shards on disk when first asked for, listed once: the cache folder may hold
        # 20,000 of them, and a pull of every artifact asks once an artifact. A shard that
        # another process writes since is missed, which costs a hash, never a wrong answer.
        self._on_disk: list[tuple[str, str]] | None = None
        self.hits = 0
        self.misses = 0
        self.shards_read = 0  # shards loaded from disk

    @staticmethod
    def _key(stat: os.stat_result | FileIdentity) -> tuple[int, int, int]:
        return stat.st_size, stat.st_mtime_ns, stat.st_ino

    def _shard(self, folder: str, at: Path | None = None) -> Shard:
        """``folder``'s shard, loaded from disk the first time it is asked for (the caller
        holds the lock)."""
        shard = self._shards.get(folder)
        if shard is None:
            loaded = None
            if self.path is not None:
                loaded = hashshards.read_shard(
                    at or self.path / hashshards.shard_name(folder), folder
                )
                self.shards_read += loaded is not None
            shard = self._shards[folder] = loaded or Shard()
        return shard

    def _entry_digests(self, real: str, key: tuple[int, int, int]) -> dict[str, str]:
        """Every digest the cache holds for the file ``real`` with ``key`` (caller locks)."""
        folder, name = os.path.split(real)
        shard = self._shard(folder)
        entry = shard.entries.get(name)
        if entry is None or entry_key(entry) != key:
            return {}
        shard.used = True
        return entry_digests(entry)

    def _put(self, real: str, key: tuple[int, int, int], digests: Mapping[str, str]) -> None:
        folder, name = os.path.split(real)
        shard = self._shard(folder)
        others = [x for n, v in digests.items() if n != "sha256" for x in (n, v)]
        shard.entries[name] = pack_entry(key, digests["sha256"], others)
        shard.changed.add(name)

    def sha256(self, path: str | os.PathLike[str]) -> str:
        return self.digests(path)["sha256"]

    def digests(
        self,
        path: str | os.PathLike[str],
        algorithms: Iterable[str] = ("sha256",),
        *,
        resolved: bool = False,
        read: ReadFile | None = None,
    ) -> FileDigests:
        """The sha256 of ``path`` and its digest for each of ``algorithms``.

        What the cache lacks is computed in a single read of the file (a miss);
        a hit reads nothing. The result carries the identity the digests belong to.
        ``resolved``: the caller knows ``path`` is already its real path (no link on
        the way), which spares resolving each file of a large folder again. ``read``:
        the file's bytes and its stat after them, as a copy just read it: hashed on a
        miss, and its stat taken as the file's (nothing read or stat'ed again). Digests
        ``read`` carries are those of its very bytes: taken instead of hashing them, and
        over the cache's (a file rewritten within one tick of its clock keeps its stat).
        """
        real = os.fspath(path) if resolved else os.path.realpath(path)
        stat = os.stat(real) if read is None else read.stat
        key = self._key(stat)
        wanted = list(dict.fromkeys(("sha256", *algorithms)))
        given = read.digests if read is not None and read.digests is not None else {}
        with self._lock:
            held = self._entry_digests(real, key)
            known = {name: held[name] for name in wanted if name in held}
            if len(known) == len(wanted) and all(given.get(n, v) == v for n, v in known.items()):
                self.hits += 1
                return FileDigests(known, stat)
            self.misses += 1
        stale = any(given.get(n, v) != v for n, v in known.items())
        if stale:
            known = {}  # what the cache holds is of another content than these bytes
        missing = [n for n in wanted if n not in known and n not in given]
        if read is None:
            computed = hash_file(real, missing, size=stat.st_size)
        else:
            computed = {**given, **(hash_bytes(read.data, missing) if missing else {})}
        digests = {name: known.get(name) or computed[name] for name in wanted}
        # Stat again: a file that changed while being read must not be cached (the stat
        # of ``read`` was taken after its bytes were: a write they show shows in it).
        if read is not None or self._key(os.stat(real)) == key:
            with self._lock:
                held = {} if stale else self._entry_digests(real, key)
                self._put(real, key, {**held, **digests})
        return FileDigests(digests, stat)

    def known(self, path: str | os.PathLike[str], algorithms: Iterable[str]) -> bool:
        """Whether the cache holds the digests of ``path`` for ``algorithms`` (and its
        sha256): a lookup, never a read of the file."""
        real = os.path.realpath(path)
        key = self._key(os.stat(real))
        with self._lock:
            held = self._entry_digests(real, key)
        return all(name in held for name in ("sha256", *algorithms))

    def holders(self, wanted: Collection[str], under: str | os.PathLike[str]) -> dict[str, str]:
        """{sha256: a file below ``under`` the cache says holds it}, for those of ``wanted``.

        Only files that still have the size, mtime and inode they were hashed with;
        whoever reads one still checks its bytes (the cache only saves time). Reads the
        shards of ``under`` and the folders below it only.
        """
        top = os.path.realpath(under)
        below = os.path.join(top, "")
        candidates: list[tuple[str, hashshards.Entry, str]] = []
        with self._lock:
            if self._on_disk is None:
                self._on_disk = [] if self.path is None else hashshards.shards_on_disk(self.path)
            for folder, name in self._on_disk:
                if (folder == top or folder.startswith(below)) and folder not in self._shards:
                    self._shard(folder, self.path and self.path / name)
            for folder, shard in self._shards.items():
                if folder != top and not folder.startswith(below):
                    continue
                candidates += [
                    (os.path.join(folder, name), entry, sha256)
                    for name, entry in shard.entries.items()
                    if (sha256 := entry_sha256(entry)) in wanted
                ]
        found: dict[str, str] = {}
        for path, entry, sha256 in candidates:
            if sha256 in found:
                continue
            try:
                now = os.lstat(path)
            except OSError:
                continue
            if S_ISREG(now.st_mode) and entry_key(entry) == self._key(now):
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

    def remember_stat(
        self,
        real: str,
        stat: os.stat_result | FileIdentity,
        sha256: str,
        also: Mapping[str, str] | None = None,
    ) -> None:
        """As :meth:`remember`, for a file whose real path and stat the caller has just
        taken (the walk of a folder it installs): no lookup of its own. ``also``: its other
        digests known by then (by hashlib name)."""
        with self._lock:
            self._put(real, self._key(stat), {**(also or {}), "sha256": sha256})

    def remember_found(self, real: str, files: Iterable[tuple[str, FileDigests]]) -> int:
        """As :meth:`remember_stat` for many files below the folder whose real path is
        ``real`` (nothing below it a link), each by its relative POSIX path with its digests
        (and the identity they belong to): under one hold of the lock, each folder's shard
        found once for its files in a row, not a lookup a file. How many were remembered."""
        count = 0
        folder, shard = None, Shard()
        with self._lock:
            for rel, digests in files:
                here, _, name = rel.rpartition("/")
                if here != folder:
                    folder = here
                    shard = self._shard(os.path.join(real, here) if here else real)
                identity = digests.identity
                others = (
                    [x for n, v in digests.items() if n != "sha256" for x in (n, v)]
                    if len(digests) > 1
                    else ()
                )  # (a file of a folder has its sha256 alone, nearly always)
                shard.entries[name] = pack_entry(self._key(identity), digests["sha256"], others)
                shard.changed.add(name)
                count += 1
        return count

    def save(self) -> None:
        """Write back the shards this process changed, merged with what other processes
        wrote to them meanwhile; mark the ones it used; then keep the cache in its bounds."""
        if self.path is None:
            return
        with self._lock:
            changed = [(f, s) for f, s in self._shards.items() if s.changed]
            used = [f for f, s in self._shards.items() if s.used and not s.changed]
            if not changed and not used:
                return
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                with hashshards.saving(self.path) as held:
                    if not held:
                        return  # another save holds the cache: this one is lost, as a cache may
                    for folder, shard in changed:
                        hashshards.save_shard(self.path, folder, shard)
                    for folder in used:
                        hashshards.touch(self.path, folder)
                    if changed:
                        hashshards.bound(self.path, (f for f, _ in changed), self.limit, self.count)
                        old = self.path.parent / _OLD_CACHE
                        if old.is_file() and not old.is_symlink():
                            old.unlink()
            except OSError:
                return
