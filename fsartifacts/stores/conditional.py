"""The writes of a store that hold against a racing writer: claim objects (who may
write a folder version) and the conditional replacement of a small object (what an
alias move is), built on them where the store has no conditional write of its own.

A mixin of :class:`~fsartifacts.stores.base.StoreOps`, which gives it the plain reads,
writes and listings (the :class:`~fsartifacts.stores.claims.ClaimStore` a claim needs);
a store overrides what it does better (S3: a conditional PUT for :meth:`write_if`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from fsartifacts.stores import claims
from fsartifacts.stores.claims import Claim, Holder, Listing


class ChangedMeanwhile(Exception):
    """A conditional replacement found the object changed since it was read, or being changed."""


class ConditionalOps:
    """Claims and conditional replacement, the generic way, over the store's own ops."""

    if TYPE_CHECKING:
        fs: Any
        atomic_create: ClassVar[bool]

        def listing(self, path: str) -> list[dict[str, Any]]: ...

        def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None: ...

        def read_bytes(self, rpath: str, *, limit: int | None = None) -> bytes: ...

        def remove(self, rpath: str, *, recursive: bool = False) -> None: ...

        def remove_file(self, rpath: str) -> None: ...

    def lists_content(self, entry: dict[str, Any], data: bytes) -> bool:
        """Whether the listing's ``entry`` shows that its object holds exactly ``data``: a
        proof, never a guess (False when the listing cannot tell), so a caller that knows
        what it wrote there need not read it back. The generic way: it cannot tell."""
        return False

    def claim(self, rpath: str, claim: Claim, *, listing: Listing | None = None) -> Holder | None:
        """Take the claim object ``rpath`` for ``claim``: None once taken, else who holds it.

        A create-if-absent write where the store has one (``atomic_create``),
        else an election, whose candidates ``listing`` lists when given; see
        :func:`fsartifacts.stores.claims.take`.
        """
        return claims.take(self, rpath, claim, listing=listing)

    def holder(
        self, rpath: str, *, own: Claim | None = None, listing: Listing | None = None
    ) -> Holder | None:
        """Who holds the claim object ``rpath`` now, or None (``own``: the caller's claim;
        ``listing``: how its folder is listed; see :func:`fsartifacts.stores.claims.holder`)."""
        return claims.holder(self, rpath, own=own, listing=listing)

    def release(self, rpath: str, claim: Claim) -> None:
        """Drop ``claim`` on ``rpath``, unless someone else's claim has replaced it."""
        claims.release(self, rpath, claim)

    def renew(self, rpath: str, claim: Claim) -> bool:
        """Rewrite ``claim`` on ``rpath`` so it stays young; False once it is not ours."""
        return claims.renew(self, rpath, claim)

    def remove_holder(self, holder: Holder) -> bool:
        """Delete the claim object ``holder`` found, if it is still that one; True if gone."""
        return claims.remove_holder(self, holder)

    # -- conditional replacement ----------------------------------------------

    @property
    def atomic_replace(self) -> bool:
        return self.atomic_create

    def read_revision(self, rpath: str) -> tuple[bytes, str] | None:
        """A small object's bytes and the revision :meth:`write_if` compares; None if absent."""
        try:
            data = self.read_bytes(rpath)
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def write_if(self, rpath: str, data: bytes, revision: str | None) -> None:
        """Replace the small object ``rpath`` with ``data`` only while it is at ``revision``
        (None: only while it does not exist); else raise :class:`ChangedMeanwhile`.

        The generic way: hold a claim on the object (create-if-absent where the store
        has it, else an election), compare, write (a rename where the store has no
        atomic writes), drop the claim.
        """
        path, claim = claims.claim_path(rpath), Claim.new()
        found = self.claim(path, claim)
        if found is not None and found.abandoned() and self.remove_holder(found):
            found = self.claim(path, claim)
        if found is not None:
            raise ChangedMeanwhile(
                f"another change of it is under way ({found.describe()}); a guard left by a "
                f"killed change is swept after {claims.ABANDONED_AFTER_TEXT}, or at once by "
                "`fsartifacts gc --older-than 0s`"
            )
        try:
            current = self.read_revision(rpath)
            if (current[1] if current else None) != revision:
                raise ChangedMeanwhile("another process changed it since it was read")
            self.write_bytes(rpath, data, exclusive=False)
        finally:
            self.release(path, claim)
