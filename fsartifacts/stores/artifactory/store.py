"""``repository.artifactory`` of the configuration to a store.

The layout is skelebot's: ``{url}/{repo}/{path}/{name}_v{version}{ext}``, so
the store's root is ``{repo}`` or ``{repo}/{path}`` on an
:class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import AuthError, ConfigError
from fsartifacts.redaction import HoldsSecret
from fsartifacts.stores.artifactory.auth import (
    ENV_TOKEN,
    ENV_USER,
    Credentials,
    resolve_credentials,
)
from fsartifacts.stores.artifactory.settings import AUTH_KEY, ArtifactorySettings
from fsartifacts.stores.store import Store, ops_for
from fsartifacts.urls import with_scheme

_WAYS_TO_GIVE_CREDENTIALS = (
    "-u USER with -t TOKEN or --token-stdin; "
    f"${ENV_USER} and ${ENV_TOKEN}; "
    "a 'machine HOST login USER password SECRET' entry in ~/.netrc; "
    f"or {AUTH_KEY}.aws: true to read them from AWS Secrets Manager"
)


@dataclass
class ArtifactoryStore(Store):
    """A store on an Artifactory server, which knows the credentials it was opened with."""

    credentials: Credentials | None = None

    def auth_error(self, exc: PermissionError) -> AuthError:
        """A 401 or 403 in words that name the credentials' source and the fix.

        The filesystem's permission errors carry the HTTP status; one without a
        status was not the server's answer.
        """
        url = self.display
        status = getattr(exc, "status", None) or None
        credentials = self.credentials
        if credentials is None or credentials.anonymous:
            if status == 401:
                return missing_credentials_error(url)
            return AuthError(f"{url}: access denied for anonymous requests: {exc}")
        if status == 403 and credentials.auth_type != "api_key":
            # Artifactory took the credentials (bad ones are a 401) but this user may not do
            # this; only a bad API key is a 403 too.
            return AuthError(
                f"{url}: the {credentials.describe()} was accepted, but that user lacks "
                f"the permission for this: {str(exc).rstrip('.')}. Ask an Artifactory "
                "administrator for it, or use credentials that have it."
            )
        error = bad_credentials_error(url, credentials)
        return AuthError(f"{error} ({exc})", missing_credentials=False)


def credentials_for(
    settings: ArtifactorySettings,
    transfer: TransferSettings,
    *,
    environ: Mapping[str, str] | None = None,
    user: str | None = None,
    token: str | None = None,
    token_stdin: bool = False,
) -> Credentials:
    """The credentials of this run for the server ``settings`` names, found in order
    (:func:`~fsartifacts.stores.artifactory.auth.resolve_credentials`)."""
    url = settings.url
    host = urlsplit(with_scheme(url)).hostname or ""
    return resolve_credentials(
        settings.auth,
        host,
        environ=environ,
        transfer=transfer,
        user=user,
        token=token,
        token_stdin=token_stdin,
    )


def open_authenticated_store(
    settings: ArtifactorySettings,
    transfer: TransferSettings,
    credentials: HoldsSecret | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    user: str | None = None,
    token: str | None = None,
    token_stdin: bool = False,
) -> ArtifactoryStore:
    """The store with ``credentials`` if given, else with those :func:`credentials_for` finds."""
    if credentials is None:
        credentials = credentials_for(
            settings, transfer, environ=environ, user=user, token=token, token_stdin=token_stdin
        )
    if not isinstance(credentials, Credentials):
        raise TypeError(f"an Artifactory store takes {Credentials.__name__}, not {credentials!r}")
    return open_artifactory_store(settings, credentials, transfer)


def open_artifactory_store(
    settings: ArtifactorySettings, credentials: Credentials | None, transfer: TransferSettings
) -> ArtifactoryStore:
    """A store on the Artifactory server ``settings`` names, with ``credentials`` (None:
    anonymous).

    The filesystem is never taken from fsspec's instance cache, so a run never
    reuses one built with other (stale) credentials.
    """
    from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

    url = settings.url.strip()
    repo = settings.repo.strip().strip("/")
    path = "/".join(part for part in settings.path.split("/") if part)
    root = f"{repo}/{path}" if path else repo
    options: dict[str, Any] = {
        "url": url,
        "verify": settings.verify,
        "cert": settings.cert,
        "timeout": transfer.timeout,
        "attempts": transfer.attempts,
        "skip_instance_cache": True,
        **_auth_options(credentials),
    }
    try:
        fs = ArtifactoryFileSystem(**options)
    except ValueError as exc:
        raise ConfigError(f"repository.artifactory: {exc}") from None
    return ArtifactoryStore(
        fs=fs,
        root=root,
        ops=ops_for(fs, transfer),
        display=f"{fs.url}/{root}",
        credentials=credentials,
    )


def _auth_options(credentials: Credentials | None) -> dict[str, Any]:
    """Storage options for the credentials: user_pass is Basic, token Bearer, api_key a header."""
    if credentials is None or credentials.auth_type == "none" or not credentials.secret:
        return {"anon": True}
    if credentials.auth_type == "user_pass":
        if not credentials.user:
            raise ConfigError(
                f"Artifactory user_pass credentials from {credentials.source} have no user name"
            )
        return {"user": credentials.user, "password": credentials.secret}
    if credentials.auth_type == "token":
        return {"token": credentials.secret}
    return {"api_key": credentials.secret}


# --------------------------------------------------------------------------------- messages


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def missing_credentials_error(url: str) -> AuthError:
    """The server wants credentials and the run has none (exit 2)."""
    return AuthError(
        f"{_without_userinfo(url)} requires credentials and none were given. Give them with "
        f"{_WAYS_TO_GIVE_CREDENTIALS}; or run in a terminal to be asked.",
        missing_credentials=True,
    )


def bad_credentials_error(url: str, credentials: Credentials) -> AuthError:
    """The server refused the credentials given (exit 1); names their source, never them."""
    if credentials.anonymous:
        return missing_credentials_error(url)
    hint = ""
    if credentials.auth_type != "token":
        hint = f" If it is an access token, set {AUTH_KEY}.authType: token."
    return AuthError(
        f"{_without_userinfo(url)} refused the {credentials.describe()}: check it, or give "
        f"others ({_WAYS_TO_GIVE_CREDENTIALS}).{hint}"
    )
