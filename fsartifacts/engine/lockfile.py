"""``fsartifacts.lock``: what each pull resolved, so that ``--locked`` gets it again.

Plain YAML, keys sorted, one block per artifact, so that it reads well in a
diff and merges without surprises. Written atomically.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import semver

from fsartifacts import locks
from fsartifacts.atomic import temp_beside, write_atomic
from fsartifacts.errors import ConfigError, LocalError, option
from fsartifacts.escaping import has_control_characters
from fsartifacts.localfiles import LOCK_LIMIT, UnreadableFile, read_small_text

log = logging.getLogger("fsartifacts")

LOCK_NAME = "fsartifacts.lock"
WRITING_SUFFIX = ".fsartifacts-writing"  # the lock its writers take, beside it
LOCK_WAIT = 30.0  # seconds a write waits for another pull's write of the lock file
FORMAT = 1
HEADER = (
    "# fsartifacts.lock: what `fsartifacts pull` resolved, per artifact.\n"
    "# `fsartifacts pull --locked` installs exactly these copies. Commit this file.\n"
)


@dataclass(frozen=True)
class LockEntry:
    version: str | None  # None for singular artifacts
    remote: str  # the name on the store, relative to its root
    kind: str  # "file" or "folder"
    sha256: str  # of the file, or the manifest digest of a folder
    size: int
    # What the pull asked for (1.4.0, LATEST, ^1.4, @prod), None for singular artifacts:
    # ``version`` is what it resolved to, and all that ``--locked`` reads.
    requested: str | None = None
    # A partial pull's selection of a folder's files (gitignore-style patterns).
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As written to the lock file: a selection only where there is one."""
        doc = asdict(self)
        for key in ("include", "exclude"):
            if doc[key]:
                doc[key] = list(doc[key])
            else:
                del doc[key]
        return doc


@dataclass
class LockFile:
    path: Path
    store: str = ""
    artifacts: dict[str, LockEntry] | None = None
    # What :meth:`add` last wrote, and as what: while the file still holds those bytes, no
    # other process has written it since, and the next add need not parse it again (a
    # pull writes it once per artifact it installs).
    _wrote: tuple[bytes, LockFile] | None = field(default=None, repr=False, compare=False)
    # Whether a write of this run waited its whole bound: the next tries once, not again.
    _stuck: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def read(cls, root: Path) -> LockFile:
        path = root / LOCK_NAME
        lock = cls(path, artifacts={})
        try:
            text = read_small_text(path, LOCK_LIMIT)
        except FileNotFoundError:
            return lock
        except (OSError, UnicodeDecodeError) as exc:
            # The project's own file is in the way: the user fixes it, as a bad config.
            if isinstance(exc, UnicodeDecodeError):
                what = "is not UTF-8 text"
            elif isinstance(exc, UnreadableFile):
                what = str(exc.strerror)
            else:
                what = f"cannot be read ({exc.strerror})"
            raise ConfigError(
                f"{path} {what}: fsartifacts.lock must be a readable file. Restore it from "
                f"version control, or remove it and pull without {option('locked')} to write "
                "a new one."
            ) from exc
        import yaml

        from fsartifacts import yamlio

        try:
            doc: Any = yamlio.load(text) or {}
            lock.store = str(doc.get("store", ""))
            for name, entry in (doc.get("artifacts") or {}).items():
                assert lock.artifacts is not None
                remote = str(entry["remote"])
                if has_control_characters(remote):
                    raise ValueError(f"the remote name {remote!r} holds control characters")
                if "/" in remote or "\\" in remote or remote in ("", ".", ".."):
                    # Remote names are basenames in the store's root; anything else reads
                    # from elsewhere on the store.
                    raise ValueError(f"the remote name {remote!r} is not a name in the store")
                version = None if entry.get("version") is None else str(entry["version"])
                if version is not None and not _is_exact(version):
                    # A lock names the one version it resolved; a range is the config's to say.
                    raise ValueError(f"{name}: {version!r} is not an exact version")
                kind = str(entry.get("kind", "file"))
                if kind not in KINDS:
                    raise ValueError(f"{name}: {kind!r} is not a kind ({' or '.join(KINDS)})")
                lock.artifacts[str(name)] = LockEntry(
                    version=version,
                    remote=remote,
                    kind=kind,
                    sha256=str(entry["sha256"]).lower(),
                    size=int(entry.get("size", 0)),
                    requested=None if entry.get("requested") is None else str(entry["requested"]),
                    include=_patterns(entry, "include"),
                    exclude=_patterns(entry, "exclude"),
                )
        except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: not a lock file fsartifacts can read ({exc}); restore it from version "
                f"control, or delete it and pull without {option('locked')} to write a new one."
            ) from exc
        return lock

    def entry(self, artifact: str) -> LockEntry | None:
        return (self.artifacts or {}).get(artifact)

    def record(self, artifact: str, entry: LockEntry) -> None:
        if self.artifacts is None:
            self.artifacts = {}
        self.artifacts[artifact] = entry

    def check_writable(self) -> None:
        """Fail before anything is installed if :meth:`write` could not write the lock."""
        tmp = temp_beside(self.path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            tmp.unlink()
        except OSError as exc:
            raise LocalError(
                f"cannot write {self.path} ({exc.strerror}); nothing was installed. Make the "
                f"project root writable, or see what a pull would do with {option('dry_run')}."
            ) from exc

    def add(
        self,
        store: str,
        entries: Mapping[str, LockEntry],
        *,
        wait: float = LOCK_WAIT,
        stop: threading.Event | None = None,
    ) -> None:
        """Record ``entries`` in the lock file as it is now, and write it: read again and
        written under a lock between processes, so that two pulls of the project at once
        each keep what the other recorded (this one, read when the pull began, would
        write back what another pull has changed since).

        Another pull holds that lock only while it writes, a moment: one that holds it
        longer is stopped (Ctrl-Z) or hung, so after ``wait`` seconds (or once ``stop`` is
        set: the run was interrupted) this fails instead of waiting for ever."""
        guard = self.path.with_name(f".{self.path.name}{WRITING_SUFFIX}")

        def waiting(holder: str) -> None:
            log.warning("waiting for %s, which %s holds while it writes %s; Ctrl-C stops "
                        "waiting", guard, holder, self.path.name)  # fmt: skip

        with _writing(self.path):
            bound = 0.0 if self._stuck else wait
            fd = locks.wait_to_take(guard, bound=bound, waiting=waiting, stop=stop)
        if fd is None:
            self._stuck = True
            raise LocalError(
                f"{self.path} was not updated: {guard} is held by {locks.holder(guard)}, "
                f"still after {wait:g} s (stopped with Ctrl-Z, or hung?). The pulled files "
                "were installed; let that process go on (`fg`, `kill -CONT`) or end it, "
                "then pull again to record them."
            )
        try:
            if self._wrote is not None and _bytes_of(self.path) == self._wrote[0]:
                current = self._wrote[1]
            else:
                try:
                    current = LockFile.read(self.path.parent)
                except ConfigError:
                    current = self  # unreadable now: replaced, as a pull always did
            current.store = store
            for artifact, entry in entries.items():
                current.record(artifact, entry)
            self._wrote = (current.write(), current)
        finally:
            locks.release(guard, fd)

    def write(self) -> bytes:
        """Write the lock file; return the bytes written."""

        artifacts = sorted((self.artifacts or {}).items())
        rest = {"format": FORMAT, "store": self.store}
        if artifacts:
            # The dump of the whole document, one artifact's block at a time: "artifacts"
            # sorts first, and each block depends on its own entry alone.
            blocks = "".join(_artifact_block(name, entry) for name, entry in artifacts)
            text = f"{HEADER}{ARTIFACTS_KEY}:\n{blocks}{_dump(rest)}"
        else:
            text = HEADER + _dump({ARTIFACTS_KEY: {}, **rest})
        with _writing(self.path):
            data = text.encode("utf-8")
            write_atomic(self.path, data)
        return data


ARTIFACTS_KEY = "artifacts"


def _dump(doc: Mapping[str, Any]) -> str:
    from fsartifacts import yamlio

    return yamlio.dump(dict(doc), sort_keys=True, default_flow_style=False)


@functools.lru_cache(maxsize=4096)
def _artifact_block(name: str, entry: LockEntry) -> str:
    """The lines of ``name``'s entry under ``artifacts:``, as a dump of the whole lock file
    writes them. Kept: a pull writes the file once per install, and dumping every entry
    each time cost a pull of many artifacts the square of their number."""
    text = _dump({ARTIFACTS_KEY: {name: entry.to_dict()}})
    return text.removeprefix(f"{ARTIFACTS_KEY}:\n")


def _bytes_of(path: Path) -> bytes | None:
    """What the file ``path`` holds now; None when it cannot be read (or is too large)."""
    try:
        with open(path, "rb") as f:
            return f.read(LOCK_LIMIT + 1)
    except OSError:
        return None


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failure to write the lock file ``path`` as a local error saying what it means."""
    try:
        yield
    except OSError as exc:
        raise LocalError(
            f"cannot write {path} ({exc.strerror}): the pulled files were installed, "
            "but not recorded. Free the space or fix the permissions, then pull again."
        ) from exc


class InstallLog:
    """The lock entries of one pull run, each recorded in the step that installs its copy.

    The rename that puts a copy in place and the record of its entry happen under one
    lock, which :meth:`close` takes too. A run interrupted (Ctrl-C) while a worker thread
    has installed a copy but not yet returned it thus still finds it here, and no worker
    installs anything once the run has closed the log to write the lock file: what the
    lock file records is exactly what was installed.

    With ``write`` (what writes entries to the lock file), an install's entry is written
    before its step ends, while the pull still holds the lock of the destination: another
    pull of that destination installs and records only after it, so the lock file names
    the copy installed last. Left for the end of the run, this pull's entry could land
    after the other pull's, naming a copy that is no longer there. One write at a time
    takes every entry waiting: the installs that end while the file is being written
    share the next write instead of queueing one each.
    """

    def __init__(self, write: Callable[[Mapping[str, LockEntry]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one write of the lock file at a time
        self._entries: dict[str, LockEntry] = {}  # recorded, not written yet
        self._written: set[str] = set()
        self._write = write
        self._closed = False
        # Set when the run is interrupted: a write waiting for another pull's gives up.
        self.stopping = threading.Event()

    @contextlib.contextmanager
    def installing(self, artifact: str, entry: Callable[[], LockEntry | None]) -> Iterator[None]:
        """Around the rename that installs ``artifact``: once it succeeds, ``entry()``
        (what the install leaves in the lock file) is recorded before anyone can look,
        and written with ``write`` before the block ends."""
        with self._lock:
            if self._closed:
                raise LocalError(f"{artifact}: not installed, the pull was interrupted.")
            yield
            recorded = entry()
            if recorded is None:
                return
            self._entries[artifact] = recorded
        self._flush(artifact)

    def found_current(self, artifact: str, entry: LockEntry) -> None:
        """The entry of a copy found already in place, written at once with ``write``
        (called under the lock of its destination, as an install is)."""
        with self._lock:
            if self._closed:
                return
            self._entries[artifact] = entry
        self._flush(artifact)

    def _flush(self, artifact: str) -> None:
        """Write ``artifact``'s entry with every other one waiting, unless a write that
        took it is done."""
        if self._write is None:
            return
        with self._writing:
            with self._lock:
                if artifact not in self._entries:
                    return  # written by the write before (or taken by close)
                batch = dict(self._entries)
                self._entries.clear()
                self._written.update(batch)
            try:
                self._write(batch)
            except BaseException:
                with self._lock:  # not written: each waiting install tries again itself
                    self._written.difference_update(batch)
                    self._entries = {**batch, **self._entries}
                raise

    def record(self, artifact: str, entry: LockEntry) -> None:
        """The entry of a copy found already in place (or reported after its install)."""
        with self._lock:
            if not self._closed and artifact not in self._written:
                self._entries[artifact] = entry

    def close(self) -> dict[str, LockEntry]:
        """Stop the installs, and return the entries of every one that happened and is
        not written yet, once the write under way (if any) has ended: its entries are
        written, or back here if it failed."""
        with self._writing, self._lock:
            self._closed = True
            entries, self._entries = self._entries, {}
            return entries


KINDS = ("file", "folder")


def _is_exact(version: str) -> bool:
    try:
        semver.Version.parse(version)
    except ValueError:
        return False
    return True


def _patterns(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError(f"{key} must be a list of patterns, not {value!r}")
    return tuple(value)
