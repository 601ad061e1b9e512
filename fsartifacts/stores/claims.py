"""Claims: which one push may write a folder version.

A folder version is many objects, so no single create-if-absent write can
publish it. Before it touches anything under ``name_vX/``, a push takes the
version with a small claim object beside it, ``.name_vX.fsartifacts-claim``
(a random token, the host, the pid and the time). Only the holder clears
leftovers in the folder, uploads into it and writes the manifest; then it
drops the claim. A push that finds the version claimed fails at once, without
touching the folder.

How a store takes a claim is a :class:`~fsartifacts.stores.base.StoreOps`
matter: a create-if-absent write where the store has one, else an election
among uniquely named claim objects, which a candidate wins only by finding
itself alone.

A claim, temporary or upload left by a killed push is abandoned once it is
older than :data:`ABANDONED_AFTER`; pushes, prune, rm and ``gc`` sweep it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from fsartifacts.atomic import random_hex
from fsartifacts.stores.entries import entry_modified

CLAIM_MARKER = ".fsartifacts-claim"
ABANDONED_AFTER = timedelta(hours=1)
ABANDONED_AFTER_TEXT = "1 hour"
# Bytes read of a claim object at most: one is a few hundred, and an object on the store
# that only looks like one may be of any size.
CLAIM_LIMIT = 64 * 1024
# The holder rewrites its claim this often, so that only a dead push's claim grows old.
RENEW_EVERY = ABANDONED_AFTER / 12
# An election: how many times a claimer that found contenders of the same moment tries
# again, the pause before its first try again (doubled each time, at random from half
# of it to all of it), and how much older than its own (by the store's times) another
# candidate is to be a holder rather than a contender.
ELECTION_ROUNDS = 5
ELECTION_PAUSE = 0.05
CONTENDER_WINDOW = timedelta(seconds=2)

# How a claim's folder is listed: the store's listing, unless the caller lists it for more
# than the claim (what else the folder holds once the claim is taken) and lends that here.
Listing = Callable[[str], list[dict[str, Any]]]


class ClaimStore(Protocol):
    """What taking a claim needs of a store (a StoreOps)."""

    fs: Any

    @property
    def atomic_create(self) -> bool: ...

    def listing(self, path: str) -> list[dict[str, Any]]: ...

    def lists_content(self, entry: dict[str, Any], data: bytes) -> bool: ...

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None: ...

    def read_bytes(self, rpath: str, *, limit: int | None = None) -> bytes: ...

    def remove(self, rpath: str, *, recursive: bool = False) -> None: ...

    def remove_file(self, rpath: str) -> None: ...


@dataclass(frozen=True)
class Claim:
    """Who holds a folder version: written into the claim object."""

    token: str
    host: str
    pid: int
    started: datetime

    @classmethod
    def new(cls) -> Claim:
        return cls(random_hex(16), socket.gethostname(), os.getpid(), datetime.now(UTC))

    def to_bytes(self) -> bytes:
        doc = {
            "token": self.token,
            "host": self.host,
            "pid": self.pid,
            "started": self.started.isoformat(),
        }
        return (json.dumps(doc, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Claim | None:
        """The claim written in ``data``; None when it is not one (torn, or foreign)."""
        try:
            doc = json.loads(data)
            started = datetime.fromisoformat(str(doc["started"]))
            return cls(str(doc["token"]), str(doc["host"]), int(doc["pid"]), started)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def describe(self) -> str:
        when = self.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        # The host comes from the store: printable characters only.
        host = "".join(c if c.isprintable() else "?" for c in self.host)[:255]
        return f"started {when} by {host} pid {self.pid}"


@dataclass(frozen=True)
class Holder:
    """A claim object found on the store: its path, what it says, and the store's time."""

    path: str
    claim: Claim | None  # None: unreadable (torn by a kill, or not ours)
    modified: datetime | None

    def abandoned(self, older_than: timedelta = ABANDONED_AFTER) -> bool:
        """Older than ``older_than`` by the store's clock (a claim with no time never is)."""
        return self.modified is not None and datetime.now(UTC) - self.modified > older_than

    def describe(self) -> str:
        if self.claim is None:
            return "by a push whose claim is unreadable"
        text = self.claim.describe()
        if self.claim.host == socket.gethostname() and not _running(self.claim.pid):
            # Only a hint: another container can share the host name, not the pids.
            text += f"; no process {self.claim.pid} runs on this host now"
        return text


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or not a pid we can ask about: assume alive
    return True


def claim_path(folder_path: str) -> str:
    """The claim object of the folder version at ``folder_path``."""
    parent, _, base = folder_path.rpartition("/")
    name = f".{base}{CLAIM_MARKER}"
    return f"{parent}/{name}" if parent else name


def is_claim_name(basename: str) -> bool:
    """A claim object (or an election candidate ``...-TOKEN``) by its name."""
    head, marker, tail = basename.rpartition(CLAIM_MARKER)
    return bool(marker) and head.startswith(".") and (not tail or tail.startswith("-"))


def claimed_folder(basename: str) -> str | None:
    """The folder version a claim object's basename claims, or None."""
    if not is_claim_name(basename):
        return None
    return basename.rpartition(CLAIM_MARKER)[0][1:]


# -- taking and dropping claims --------------------------------------------------


def take(
    store: ClaimStore, rpath: str, claim: Claim, *, listing: Listing | None = None
) -> Holder | None:
    """Take the claim object ``rpath`` for ``claim``: None once taken, else who holds it.

    Where the store creates atomically this is one create-if-absent write.
    Elsewhere it is an election: the claimer writes its candidate ``rpath-TOKEN``,
    then lists the candidates, and wins only if its own is the only one. Two claimers
    cannot both find themselves alone, whatever times the store stamps: each writes
    before it lists, so the one that lists last sees the other's candidate unless it
    was withdrawn. (Ranking by the store's creation times instead let two win: a tie
    in the same millisecond, or a candidate stamped before it became visible.) A
    claimer that finds others withdraws its own; if they are contenders of the same
    moment (none of them older than :data:`CONTENDER_WINDOW` before its own, by the
    store's times) it tries again after a random pause, up to :data:`ELECTION_ROUNDS`
    times, so that two claimers who saw each other do not both give up; an older
    candidate is a holder, reported at once. ``listing``: how the election lists the
    candidates (see :func:`holder`); the store's listing must show what was written
    before it.
    """
    if store.atomic_create:
        try:
            store.write_bytes(rpath, claim.to_bytes(), exclusive=True)
            return None
        except FileExistsError:
            return holder(store, rpath) or Holder(rpath, None, None)
    mine = f"{rpath}-{claim.token}"
    own_name = mine.rpartition("/")[2]
    pause = random.Random()
    for round_ in range(1, ELECTION_ROUNDS + 1):
        store.write_bytes(mine, claim.to_bytes(), exclusive=False)
        found = _candidates(store, rpath, listing)
        own = [e for e in found if _basename(e) == own_name]
        others = [e for e in found if _basename(e) != own_name]
        if own and not others:
            return None
        with contextlib.suppress(FileNotFoundError):
            store.remove_file(mine)
        if others and (round_ == ELECTION_ROUNDS or _older(others, own)):
            return holder(store, rpath, listing=listing) or Holder(rpath, None, None)
        # Contenders of the same moment (or a listing that did not show this claimer's own
        # write yet): both withdrew; each tries again after a pause of its own.
        time.sleep(pause.uniform(0.5, 1.0) * ELECTION_PAUSE * 2 ** (round_ - 1))
    return Holder(rpath, None, None)


def _basename(entry: dict[str, Any]) -> str:
    return str(entry["name"]).rstrip("/").rpartition("/")[2]


def _candidates(store: ClaimStore, rpath: str, listing: Listing | None) -> list[dict[str, Any]]:
    """The entries of the claim object ``rpath`` and of every election candidate for it."""
    parent, _, base = rpath.rpartition("/")
    return [
        entry
        for entry in (listing or store.listing)(parent)
        if (name := _basename(entry)) == base or name.startswith(base + "-")
    ]


def _older(others: list[dict[str, Any]], own: list[dict[str, Any]]) -> bool:
    """Whether a candidate of ``others`` was there well before this claimer's own (by the
    store's times, as listed): a holder, not a contender of the same moment."""
    mine = entry_modified(own[0]) if own else None
    if mine is None:
        return False
    return any(
        when is not None and when < mine - CONTENDER_WINDOW for when in map(entry_modified, others)
    )


def holder(
    store: ClaimStore, rpath: str, *, own: Claim | None = None, listing: Listing | None = None
) -> Holder | None:
    """The claim object that holds ``rpath`` now, or None.

    ``own`` is the caller's claim. Its election candidate (``rpath-TOKEN``, a name no
    other push writes) still there means the caller holds the version: it won alone,
    and every later claimer has seen it and withdrawn; so it is neither read back nor
    ranked. So is a claim object whose listed entry shows the caller's claim byte for
    byte (``lists_content``: the token is random, so no other claim has those bytes).
    Otherwise the holder shown is the earliest candidate by the store's creation time
    (ties by name; a lone candidate without a request for its time, which costs one
    apiece on some stores). ``listing`` lists the claim's folder in place of the
    store's listing: a caller that needs that folder's entries too lists it once for
    both."""
    candidates = _candidates(store, rpath, listing)
    if own is not None:
        mine = f"{rpath.rpartition('/')[2]}-{own.token}"
        for entry in candidates:
            if _basename(entry) == mine or store.lists_content(entry, own.to_bytes()):
                return Holder(entry["name"].rstrip("/"), own, entry_modified(entry))
    if len(candidates) > 1:
        candidates.sort(key=lambda e: (_created(store, e), e["name"]))
    for entry in candidates:
        path = entry["name"].rstrip("/")
        try:
            data = store.read_bytes(path, limit=CLAIM_LIMIT)
        except FileNotFoundError:
            continue  # released since the listing
        return Holder(path, Claim.from_bytes(data), entry_modified(entry))
    return None


def release(store: ClaimStore, rpath: str, claim: Claim) -> None:
    """Drop ``claim`` on ``rpath``, unless someone else's claim has replaced it."""
    mine = _own_object(store, rpath, claim)
    with contextlib.suppress(FileNotFoundError):
        # An election candidate's name is this claim's alone: nobody else writes there.
        if not store.atomic_create or _still_ours(store, mine, claim):
            store.remove_file(mine)


def renew(store: ClaimStore, rpath: str, claim: Claim) -> bool:
    """Rewrite ``claim``'s object, so the store's time says its push is alive; False when
    it is no longer ours (swept, or taken by another push) and was left alone."""
    mine = _own_object(store, rpath, claim)
    try:
        if not _still_ours(store, mine, claim):
            return False
    except FileNotFoundError:
        return False
    store.write_bytes(mine, claim.to_bytes(), exclusive=False)
    return True


def _own_object(store: ClaimStore, rpath: str, claim: Claim) -> str:
    """The object ``claim`` wrote: the claim itself, or its candidate in an election."""
    return rpath if store.atomic_create else f"{rpath}-{claim.token}"


def _still_ours(store: ClaimStore, path: str, claim: Claim) -> bool:
    found = Claim.from_bytes(store.read_bytes(path, limit=CLAIM_LIMIT))
    return found is not None and found.token == claim.token


def remove_holder(store: ClaimStore, found: Holder) -> bool:
    """Delete the claim object ``found``, if it still says the same; True when it is gone."""
    try:
        if Claim.from_bytes(store.read_bytes(found.path, limit=CLAIM_LIMIT)) != found.claim:
            return False  # taken again since it was found: not abandoned any more
        store.remove_file(found.path)
    except FileNotFoundError:
        pass
    return True


def _created(store: ClaimStore, entry: dict[str, Any]) -> datetime:
    """When the store created ``entry``, by its own clock where it keeps that time."""
    when: Any = entry.get("created")
    if not isinstance(when, datetime):
        try:
            when = store.fs.created(entry["name"].rstrip("/"))
        except (NotImplementedError, OSError, ValueError, KeyError, AttributeError):
            when = None
    if isinstance(when, datetime):
        return when if when.tzinfo else when.astimezone()
    return entry_modified(entry) or datetime.max.replace(tzinfo=UTC)
