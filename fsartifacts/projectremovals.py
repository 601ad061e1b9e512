"""What a :class:`~fsartifacts.project.Project` deletes from its store: one version
(rm), all but the newest of each major (prune), and what interrupted pushes left
behind (gc, and the sweep after a push, prune or rm that went well).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from fsartifacts.engine import naming
from fsartifacts.errors import ConfigError, ConflictError
from fsartifacts.projectqueries import ALL, ProjectParts
from fsartifacts.versionspec import VersionSpec

if TYPE_CHECKING:
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.engine.results import Results


class RemoteRemovals(ProjectParts):
    """The deletions of a project, each a run of results like a transfer."""

    def rm(self, name: str, version: str, *, prefix: str = "", dry_run: bool = False) -> Results:
        """Delete one remote version of one artifact (exact version; singular: its copy)."""
        started = time.monotonic()
        (artifact,) = self.artifacts(name)
        engine = self.engine
        spec = VersionSpec.parse(version)
        if not artifact.singular and spec.kind != "exact":
            raise ConfigError(
                f"rm takes an exact version, not {spec}: name the version to delete "
                f"(`fsartifacts list {artifact.name}` shows them)."
            )
        copy = engine.find(
            artifact, spec, self.artifact_version(artifact),
            prefix=naming.validate_prefix(prefix), pre=True,
        )  # fmt: skip
        pointing = engine.aliases.pointing_at(
            artifact, copy.version, naming.validate_prefix(prefix)
        )
        if pointing:
            names = ", ".join(f"@{a}" for a in pointing)
            raise ConflictError(
                f"{artifact.name} {copy.version}: {names} points at it, so it is not deleted. "
                f"Move the alias first (`fsartifacts alias set {artifact.name} VERSION "
                f"{pointing[0]}`) or remove it (`fsartifacts alias rm {artifact.name} "
                f"{pointing[0]}`)."
            )
        # Through run(), as every transfer: a store error becomes a failed result (and
        # its typed error), not an exception past the CLI.
        results = engine.run(
            lambda c: engine.remove(c, dry_run=dry_run), engine.with_folder_sizes([copy])
        )
        if results.ok and not dry_run:
            self._sweep(name, prefix, started)
        return results

    def prune_plan(self, which: str = ALL, *, keep: int, prefix: str = "") -> list[RemoteCopy]:
        """What ``prune --keep`` would delete: all but the newest ``keep`` of each major."""
        if keep < 1:
            raise ConfigError(f"keep={keep}: keep at least 1 version of each major.")
        prefix = naming.validate_prefix(prefix)
        return self.engine.with_folder_sizes(
            [
                copy
                for artifact in self.artifacts(which)
                for copy in self.engine.prune_plan(artifact, keep, prefix)
            ]
        )

    def prune(
        self, which: str = ALL, *, keep: int, prefix: str = "", dry_run: bool = False
    ) -> Results:
        """Delete all but the newest ``keep`` versions of each major, per artifact."""
        started = time.monotonic()
        engine = self.engine
        doomed = self.prune_plan(which, keep=keep, prefix=prefix)
        results = engine.run(lambda copy: engine.remove(copy, dry_run=dry_run), doomed)
        if results.ok and not dry_run:
            self._sweep(which, prefix, started)
        return results

    def gc(
        self,
        which: str = ALL,
        *,
        prefix: str = "",
        older_than: timedelta | None = None,
        dry_run: bool = False,
    ) -> Results:
        """List, and unless ``dry_run`` remove, what interrupted pushes left on the store
        (claims, temporaries, unfinished folders, multipart uploads) idle for ``older_than``
        (default: an hour)."""
        from fsartifacts.engine import leftovers
        from fsartifacts.stores.claims import ABANDONED_AFTER

        return leftovers.collect(
            self.store, self.artifacts(which), translate=self.engine.translate,
            prefix=naming.validate_prefix(prefix),
            older_than=ABANDONED_AFTER if older_than is None else older_than, dry_run=dry_run,
        )  # fmt: skip

    def _sweep(self, which: str, prefix: str, started: float) -> None:
        """After a push, prune or rm that went well (begun at ``started``, by
        ``time.monotonic()``): remove the leftovers that are provably abandoned. (After a
        failure the store may be unwell: no more requests.)"""
        from fsartifacts.engine import leftovers

        leftovers.sweep(
            self.store,
            self.artifacts(which),
            prefix=naming.validate_prefix(prefix),
            journals=self.engine.context.journals,
            seen=self.engine.index.take_first_listing(started),  # what the command found
        )
