"""The claims one run holds: taken, kept alive while held, and dropped, also on an
interrupt whose workers are not waited for."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from fsartifacts.errors import ConflictError
from fsartifacts.stores import claims
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.claims import ABANDONED_AFTER_TEXT, Claim, Holder, Listing, claim_path

log = logging.getLogger("fsartifacts")


class HeldClaims:
    """The folder versions this run holds on one store."""

    def __init__(self, ops: StoreOps) -> None:
        self.ops = ops
        # claim object path -> the claim this run holds there, and its renewal's stop switch
        self._held: dict[str, tuple[Claim, threading.Event]] = {}
        self._lock = threading.Lock()
        self._interrupted = False

    @contextlib.contextmanager
    def claimed(
        self, what: str, rpath: str, url: str, *, listing: Listing | None = None
    ) -> Iterator[Claim]:
        """Hold the folder version at ``rpath`` for the block, or fail at once when another
        push holds it: whatever writes or deletes under ``rpath`` does it inside.
        ``listing``: how an election lists the claim's folder (see StoreOps.claim)."""
        ops, path, claim = self.ops, claim_path(rpath), Claim.new()
        if not ops.atomic_create:
            log.info(
                "%s: this store has no create-if-absent write, so the version is taken by an "
                "election among claim objects (a claimer wins only alone), not atomically",
                url,
            )
        holder = self.take(path, claim, listing)
        if holder is not None and holder.abandoned():
            log.info("%s: removing the claim of an abandoned push (%s)", url, holder.describe())
            if ops.remove_holder(holder):
                holder = self.take(path, claim, listing)
        if holder is not None:
            raise ConflictError(
                f"{what}: another push of {url} is under way ({holder.describe()}); "
                "run this again once it is done. A claim left by a killed push is swept "
                f"after {ABANDONED_AFTER_TEXT}, or at once by `fsartifacts gc --older-than 0s`."
            )
        try:
            yield claim
        finally:
            self.drop(path, claim)

    def still_held(
        self, what: str, rpath: str, url: str, claim: Claim
    ) -> list[dict[str, Any]] | None:
        """Before publishing the folder version at ``rpath``: ``claim`` must still be this
        run's (an election can be lost late, to a sweep of claims it took for abandoned),
        else ConflictError. Returns the entries of the folder the version is in, listed for
        the check (what else is there beside it, such as its manifest), or None if the store
        listed another."""
        folder = rpath.rpartition("/")[0]
        seen: dict[str, list[dict[str, Any]]] = {}

        def listing(where: str) -> list[dict[str, Any]]:
            seen[where] = self.ops.listing(where)
            return seen[where]

        holder = self.ops.holder(claim_path(rpath), own=claim, listing=listing)
        if holder is None or holder.claim is None or holder.claim.token != claim.token:
            raise ConflictError(
                f"{what}: another push took {url} while this one was uploading "
                f"({holder.describe() if holder else 'its claim was removed'}); nothing was "
                "published. Run this push again once the other is done."
            )
        return seen.get(folder)

    def take(self, path: str, claim: Claim, listing: Listing | None = None) -> Holder | None:
        """Take ``claim`` on ``path`` for this run (see StoreOps.claim): None once taken.

        While it is held, a daemon thread renews it every ``claims.RENEW_EVERY``, so
        that a push slower than the abandonment age keeps its claim.
        """
        # Under the lock, so that an interrupt's release_all cannot miss a claim
        # being taken: the lock is held for one small write.
        with self._lock:
            if self._interrupted:
                raise KeyboardInterrupt
            holder = self.ops.claim(path, claim, listing=listing)
            if holder is None:
                stop = threading.Event()
                self._held[path] = (claim, stop)
                threading.Thread(
                    target=self._keep_alive, args=(path, claim, stop), daemon=True
                ).start()
            return holder

    def drop(self, path: str, claim: Claim) -> None:
        """Stop renewing ``claim`` and remove it from the store."""
        with self._lock:
            _, stop = self._held.pop(path, (claim, threading.Event()))
        stop.set()
        self.ops.release(path, claim)

    def _keep_alive(self, path: str, claim: Claim, stop: threading.Event) -> None:
        while not stop.wait(claims.RENEW_EVERY.total_seconds()):
            try:
                if not self.ops.renew(path, claim):
                    log.info("the claim %s is no longer this push's", path)
                    return
            except Exception as exc:  # the push itself will meet the store's trouble
                log.debug("could not renew the claim %s: %s", path, exc)

    def release_all(self) -> None:
        """Drop every claim this run holds and take no more: on an interrupt, whose workers
        are not waited for, so that the next push of those versions need not wait."""
        with self._lock:
            self._interrupted = True
            held, self._held = self._held, {}
        for path, (claim, stop) in held.items():
            stop.set()
            try:
                self.ops.release(path, claim)
            except Exception as exc:  # the interrupt matters more
                log.debug("could not release the claim %s: %s", path, exc)
