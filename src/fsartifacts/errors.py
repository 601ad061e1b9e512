"""The typed errors of fsartifacts.

Every error a user can meet is an :class:`FsArtifactsError` whose message says
what went wrong and how to get past it. The CLI turns them into exit codes in
one place (``cli.main``) using :attr:`FsArtifactsError.exit_code`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class FsArtifactsError(Exception):
    """Base class: an error with a message meant for the user."""

    exit_code = EXIT_FAILED


class ConfigError(FsArtifactsError):
    """The configuration, the command line or the project version is wrong."""

    exit_code = EXIT_USAGE


class NotFoundError(FsArtifactsError):
    """An artifact, a version or a remote copy does not exist."""


class ConflictError(FsArtifactsError):
    """A different remote copy is already there and would be overwritten."""


class IntegrityError(FsArtifactsError):
    """Bytes received do not match the size or checksum the store recorded.

    ``transient`` says whether another try may help (bytes corrupted in transit)
    or not (the remote copy is not the one the lock file recorded).
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


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
