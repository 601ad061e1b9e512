"""The typed errors of fsartifacts.

Every error a user can meet is an :class:`FsArtifactsError` whose message says
what went wrong and how to get past it. The CLI turns them into exit codes in
one place (``cli.main``) using :attr:`FsArtifactsError.exit_code`.
"""

from __future__ import annotations

import errno

from fsartifacts.redaction import redact_urls

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# How each front end spells an option that a message suggests as the way out:
# (the command line, the Python API). A message holds ``option(name)`` where the
# option goes, so a Python caller is never told to pass a command-line flag.
OPTION_SPELLINGS: dict[str, tuple[str, str]] = {
    "force": ("-f/--force", "force=True"),
    "pre": ("--pre", "pre=True"),
    "locked": ("--locked", "locked=True"),
    "dry_run": ("--dry-run", "dry_run=True"),
    "include": ("--include ", "include="),  # followed by the pattern
    "exclude": ("--exclude ", "exclude="),
    "verbose": ("-v", "the 'fsartifacts' logger at INFO"),
}


def option(name: str) -> str:
    """The placeholder for option ``name`` in an error message (see OPTION_SPELLINGS)."""
    if name not in OPTION_SPELLINGS:
        raise KeyError(f"no spelling for option {name!r}")
    return f"{{option:{name}}}"


class FsArtifactsError(Exception):
    """Base class: an error with a message meant for the user.

    ``str()`` is the message as the Python API shows it; the CLI shows
    ``render(cli=True)``, which spells suggested options as flags.
    """

    exit_code = EXIT_FAILED

    def render(self, *, cli: bool) -> str:
        text = super().__str__()
        for name, (flag, keyword) in OPTION_SPELLINGS.items():
            text = text.replace(option(name), flag if cli else keyword)
        # Messages quote configured values, and a URL may carry a password.
        return redact_urls(text)

    def __str__(self) -> str:
        return self.render(cli=False)


class ConfigError(FsArtifactsError):
    """The configuration, the command line or the project version is wrong."""

    exit_code = EXIT_USAGE


class NotPushable(ConfigError):
    """An artifact's file, or an entry of its folder, is neither a regular file nor a
    folder (a FIFO, a socket, a device, a link inside a folder): the project holds
    something that cannot be pushed, which only changing the project gets past."""


class NotFoundError(FsArtifactsError):
    """An artifact, a version or a remote copy does not exist."""


class StoreNotFoundError(NotFoundError):
    """The store itself (a bucket, a repository, a folder) does not exist, or its address
    is not a store at all (a web server where an Artifactory was expected): not an empty
    store. The configuration names it, and only fixing it gets past this: a configuration
    error (exit 2), unlike a version missing from a store that exists.

    ``creatable`` says a push makes it (a local folder), so only reads fail.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, creatable: bool = False) -> None:
        super().__init__(message)
        self.creatable = creatable


class ConflictError(FsArtifactsError):
    """A copy is already on the store and would be overwritten (for push, any copy of
    the version; for sync push, one with other content), or another push holds it."""


class IntegrityError(FsArtifactsError):
    """Bytes received do not match the size or checksum the store recorded.

    ``transient`` says whether another try may help (bytes corrupted in transit)
    or not (the remote copy is not the one the lock file recorded).

    ``received`` identifies what arrived (its size and sha256): when the next
    try receives the very same wrong bytes, they were not corrupted in transit
    but are what the store holds, and ``damaged`` is the message to stop with.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = True,
        received: str | None = None,
        damaged: str | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.received = received
        self.damaged = damaged


class AuthError(FsArtifactsError):
    """The store refused the credentials (or wants some and none were given).

    ``exit_code`` is 2 when no credentials were given at all (a usage problem the
    user fixes by supplying them) and 1 when the given ones were refused.
    """

    def __init__(self, message: str, *, missing_credentials: bool = False) -> None:
        super().__init__(message)
        self.missing_credentials = missing_credentials
        self.exit_code = EXIT_USAGE if missing_credentials else EXIT_FAILED


class LocalError(FsArtifactsError):
    """A file or folder of the project cannot be read or written."""


class TransferError(FsArtifactsError):
    """A transfer failed for a reason outside the user's data (network, server)."""


class RangesNotServed(TransferError):
    """The store answered a ranged read with something other than the range asked for
    (the whole file, as some proxies and CDNs do): it does not serve ranges, and the file
    is to be downloaded in one stream instead. Raised before any of the answer's bytes
    are written."""


class InternalError(FsArtifactsError):
    """An exception no part of fsartifacts expects: a bug (ours, a library's, a plugin
    filesystem's), not a failure of the store, the network or a local file.

    Store and system failures arrive as FsArtifactsError or OSError; anything else is
    this. The original exception is its ``__cause__``: its traceback is what a report
    needs, and ``-v`` shows it.
    """

    def __init__(self, what: str, cause: BaseException) -> None:
        detail = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(
            f"{what + ': ' if what else ''}internal error ({detail}): a bug, not a failure "
            f"the store reported; rerun with {option('verbose')} to see its traceback, and "
            "report it"
        )
        self.__cause__ = cause


def typed_error(exc: BaseException, what: str = "") -> FsArtifactsError:
    """What an exception that reached no more precise handler means, for ``what``.

    Stores and the system fail with an FsArtifactsError or an OSError (worded by its
    own message); anything else is a bug, an :class:`InternalError`.
    """
    if isinstance(exc, FsArtifactsError):
        return exc
    if isinstance(exc, OSError):
        detail = str(exc) or type(exc).__name__
        return TransferError(f"{what}: {detail}" if what else detail)
    return InternalError(what, exc)


def no_room(exc: OSError) -> str | None:
    """The way out of a write that found no room for its bytes (a full disk, a quota, a
    file larger than the filesystem or the process's file size limit takes), as the start
    of a sentence; None for any other failure."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "Free some space on that disk"
    if exc.errno == errno.EFBIG:
        return (
            "The file is larger than that filesystem, or this process's file size limit "
            "(ulimit -f), takes: raise the limit or use another disk"
        )
    return None
