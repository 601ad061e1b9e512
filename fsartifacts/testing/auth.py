"""Authentication of the local Artifactory server, as Artifactory answers it.

Basic ``user:password`` (the token or API key also work as the password), ``Bearer
<token>`` and the ``X-JFrog-Art-Api`` header (or legacy ``X-Api-Key``). Missing
credentials give 401 "Authentication is required" with a Basic challenge, wrong ones
401 "Bad credentials", and a wrong API-key header 403. With nothing configured, every
request is accepted and acts as the Basic user it names, or "anonymous".
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message

from fsartifacts.testing.model import ArtifactoryError

ANONYMOUS = "anonymous"
TOKEN_USER = "admin"  # who a token or API key stands for when no user name is configured
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Artifactory Realm"'}


@dataclass(frozen=True)
class Credentials:
    """What the server accepts; nothing configured means anonymous access for all."""

    user: str | None = None
    password: str | None = None
    token: str | None = None
    api_key: str | None = None

    @property
    def enabled(self) -> bool:
        return any(s is not None for s in (self.password, self.token, self.api_key))

    def __repr__(self) -> str:  # never show the secrets
        return f"Credentials(user={self.user!r}, enabled={self.enabled})"


def _same_secret(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def authenticate(headers: Mapping[str, str] | Message, creds: Credentials) -> str:
    """The user name a request acts as, or the 401/403 Artifactory answers."""
    authorization = (headers.get("Authorization") or "").strip()
    scheme, _, value = authorization.partition(" ")
    if not creds.enabled:  # anonymous access: whatever was sent is fine
        user = _basic_user(value) if scheme.lower() == "basic" else None
        return user or ANONYMOUS
    api_key = headers.get("X-JFrog-Art-Api") or headers.get("X-Api-Key")
    if api_key is not None:
        if _same_secret(api_key.strip(), creds.api_key):
            return creds.user or TOKEN_USER
        # 403, not 401, so that clients do not keep prompting (as Artifactory does).
        raise ArtifactoryError(403, "Bad credentials")
    if not authorization:
        raise ArtifactoryError(401, "Authentication is required", headers=_CHALLENGE)
    if scheme.lower() == "basic":
        decoded = _decode_basic(value)
        if decoded is not None:
            user, password = decoded
            user_ok = creds.user is None or hmac.compare_digest(user.encode(), creds.user.encode())
            secrets = (creds.password, creds.token, creds.api_key)
            if user_ok and any(_same_secret(password, secret) for secret in secrets):
                return user
        raise ArtifactoryError(401, "Bad credentials", headers=_CHALLENGE)
    if scheme.lower() == "bearer":
        if _same_secret(value.strip(), creds.token):
            return creds.user or TOKEN_USER
        raise ArtifactoryError(401, "Bad credentials", headers=_CHALLENGE)
    raise ArtifactoryError(401, "Authentication is required", headers=_CHALLENGE)


def _decode_basic(value: str) -> tuple[str, str] | None:
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = text.partition(":")
    return (user, password) if colon else None


def _basic_user(value: str) -> str | None:
    decoded = _decode_basic(value)
    return decoded[0] if decoded and decoded[0] else None
