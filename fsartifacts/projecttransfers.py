"""What a :class:`~fsartifacts.project.Project` moves between the project and its store:
push and pull, and their sync forms (push that is safe to repeat, pull that skips what
already matches). A pull records what it installed in ``fsartifacts.lock``, even when
the run is interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, Unpack

from fsartifacts.engine import naming
from fsartifacts.engine.lockfile import InstallLog, LockEntry, LockFile
from fsartifacts.engine.options import PullOptions, PushOptions
from fsartifacts.engine.results import Result, Results, not_installed
from fsartifacts.engine.selection import Selection
from fsartifacts.errors import ConfigError, LocalError, NotFoundError, option
from fsartifacts.projectqueries import (
    ALL,
    ProjectParts,
    Requested,
    default_request,
    parse_request,
    requested_version,
)

if TYPE_CHECKING:
    from fsartifacts.config.model import Artifact

log = logging.getLogger("fsartifacts")


class PushKeywords(TypedDict, total=False):
    """The options :meth:`Transfers.push` and :meth:`Transfers.sync_push` share."""

    force: bool
    prefix: str
    dry_run: bool
    check: bool
    message: str | None
    resume: bool


class PullKeywords(TypedDict, total=False):
    """The options :meth:`Transfers.pull` and :meth:`Transfers.sync_pull` share."""

    override: bool
    prefix: str
    pre: bool
    dry_run: bool
    locked: bool
    check: bool
    include: Sequence[str]
    exclude: Sequence[str]
    resume: bool


class Transfers(ProjectParts):
    """The pushes and pulls of a project, each a run of results, one per artifact."""

    def push(
        self,
        which: str = ALL,
        *,
        force: bool = False,
        prefix: str = "",
        dry_run: bool = False,
        check: bool = False,
        message: str | None = None,
        resume: bool = True,
        sync: bool = False,
    ) -> Results:
        """Upload artifacts as their version; a version already on the store fails
        (whatever its content) unless ``force``. ``check`` raises the first failure's error.
        Each version records its provenance (git commit, user, host, CI run...) and
        ``message``. ``resume`` (the default) continues an upload an interrupted run left
        unfinished; False starts it over. ``sync`` (sync push) makes it safe to repeat:
        an identical copy already there is up to date."""
        from fsartifacts.engine import provenance

        started = time.monotonic()

        prefix = naming.validate_prefix(prefix)
        artifacts = self.artifacts(which)  # an unknown name fails before git is asked
        engine = self.engine
        # Every push asks first what is on the store: that listing is on its way while git
        # is asked, the files are walked and the push's modules load.
        engine.index.prefetch()
        record = {} if dry_run else provenance.collect(
            self.root, message=message, environ=self._environ
        )  # fmt: skip
        options = PushOptions(
            prefix=prefix,
            force=force,
            sync=sync,
            dry_run=dry_run,
            resume=resume,
            provenance=record,
        )
        try:
            results = engine.run(
                lambda a: engine.push(a, self.artifact_version(a), options),
                artifacts,
                version_of=lambda a: None if a.singular else str(self.artifact_version(a)),
            )
        finally:
            engine.hashes.save()
        if results.ok and not dry_run:
            self._sweep(which, prefix, started)
        return results.raise_for_status() if check else results

    def pull(
        self,
        which: str = ALL,
        version: Requested = None,
        *,
        override: bool = False,
        prefix: str = "",
        pre: bool = False,
        dry_run: bool = False,
        locked: bool = False,
        skip_current: bool = False,
        check: bool = False,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        resume: bool = True,
    ) -> Results:
        """Download artifacts and record what was asked and what it resolved to in
        ``fsartifacts.lock``.

        ``version`` is exact, LATEST, a range (``^1.4``) or an alias; None asks each
        artifact for its configured range, else LATEST. ``locked`` installs exactly what
        the lock file says instead of resolving, all or nothing; ``skip_current`` (sync
        pull) leaves destinations that already match alone; ``check`` raises the first
        failure's error. ``include``/``exclude`` (gitignore-style patterns) take part of
        one folder artifact, and are recorded in the lock file for ``locked`` pulls.
        ``resume`` (the default) continues a download an interrupted run left unfinished;
        False starts it over.
        """
        prefix = naming.validate_prefix(prefix)
        asked = parse_request(version)
        engine = self.engine
        lock = LockFile.read(self.root)
        artifacts = self.artifacts(which)
        selection = self._selection(which, artifacts, include, exclude, locked)
        specs = {a.name: asked or default_request(a) for a in artifacts}
        if locked:
            unlocked = [a.name for a in artifacts if lock.entry(a.name) is None]
            if unlocked:
                raise NotFoundError(
                    f"{', '.join(unlocked)}: not in {lock.path}; pull without "
                    f"{option('locked')} first to record what to lock."
                )
        if not dry_run:
            lock.check_writable()

        # Each install is written to the lock file in its own step, under the lock of its
        # destination; the copies found up to date are written at the end of the run,
        # even if it is interrupted.
        installs = InstallLog(None if dry_run else lambda entries: self._record(
            lock, entries, engine.transfer.timeout, installs.stopping))  # fmt: skip

        def reported(result: Result) -> None:  # a copy up to date is recorded too
            if result.lock is not None and result.action != "planned":
                installs.record(result.artifact, result.lock)

        def pull_all(dry: bool, done: Callable[[Result], None] | None = None) -> Results:
            return engine.run(
                lambda a: engine.pull(
                    a,
                    specs[a.name],
                    self.artifact_version(a),
                    PullOptions(
                        prefix=prefix,
                        override=override,
                        pre=pre,
                        dry_run=dry,
                        locked=lock.entry(a.name) if locked else None,
                        skip_current=skip_current,
                        selection=selection,
                        resume=resume,
                        installs=installs,
                    ),
                ),
                artifacts,
                done,
                version_of=lambda a: requested_version(
                    a, specs[a.name], lock.entry(a.name) if locked else None
                ),
            )

        try:
            results = None
            if locked and not dry_run and len(artifacts) > 1:
                # A dry run checks every locked copy against the lock (presence, recorded
                # sha256, folder manifest) before anything is installed: all or nothing.
                checked = pull_all(True)
                if not checked.ok:
                    results = Results(
                        r if r.action == "failed" else not_installed(r) for r in checked
                    )
            if results is None:
                results = pull_all(dry_run, reported)
        except KeyboardInterrupt:
            installs.stopping.set()  # a write waiting for the lock file's lock gives up
            raise
        finally:
            # In ``finally``: after an interrupt (Ctrl-C) the lock file still records
            # every artifact installed before it, and nothing is installed after.
            installed = installs.close()
            engine.hashes.save()
            if not dry_run:
                try:
                    self._record(lock, installed, engine.transfer.timeout, installs.stopping)
                except LocalError as exc:
                    if not installs.stopping.is_set():
                        raise
                    log.warning("%s", exc)  # the interrupt is what the run ends with
        return results.raise_for_status() if check else results

    def _selection(
        self,
        which: str,
        artifacts: list[Artifact],
        include: Sequence[str],
        exclude: Sequence[str],
        locked: bool,
    ) -> Selection:
        """The files of one folder artifact a pull takes (all of them without patterns)."""
        selection = Selection.of(include, exclude)
        if not selection.partial:
            return selection
        if locked:
            raise ConfigError(
                f"{selection.describe()} cannot go with {option('locked')}: a locked pull takes "
                "the files fsartifacts.lock recorded. Pull without one of them."
            )
        if len(artifacts) != 1 or artifacts[0].name != which:
            raise ConfigError(
                f"{selection.describe()} takes files of one folder artifact: name it instead "
                f"of {which}."
            )
        return selection

    def _record(
        self,
        lock: LockFile,
        entries: Mapping[str, LockEntry],
        wait: float,
        stop: threading.Event,
    ) -> None:
        """Write ``entries`` to the lock file, waiting for another pull's write at most
        ``wait`` seconds (the transfer timeout: a holder that long without progress is
        stopped or hung), or until ``stop`` is set."""
        if entries:
            lock.add(self.store.display, entries, wait=wait, stop=stop)

    def sync_push(self, which: str = ALL, **options: Unpack[PushKeywords]) -> Results:
        """Push that is safe to repeat: an identical copy already there is up to date;
        a different one fails unless ``force``. The options are :meth:`push`'s."""
        return self.push(which, sync=True, **options)

    def sync_pull(
        self, which: str = ALL, version: Requested = None, **options: Unpack[PullKeywords]
    ) -> Results:
        """Pull that skips every artifact whose local copy already matches. The options
        are :meth:`pull`'s."""
        return self.pull(which, version, skip_current=True, **options)
