"""``repository.artifactory`` as typed settings: the server, the place in it, TLS, auth.

Imported by the configuration as it is built, so it loads nothing of requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fsartifacts.config.booleans import parse_boolean
from fsartifacts.errors import ConfigError

AuthType = Literal["user_pass", "token", "api_key", "none"]

DEFAULT_AWS_SECRET = "Artifactory"
DEFAULT_AWS_REGION = "us-east-1"
AUTH_KEY = "repository.artifactory.auth"
AUTH_TYPES: dict[str, AuthType] = {
    "user_pass": "user_pass",
    "token": "token",
    "api_key": "api_key",
    "apikey": "api_key",  # skelebot's spelling
    "none": "none",
}


@dataclass(frozen=True)
class AuthSettings:
    """The ``repository.artifactory.auth`` mapping with its defaults filled in."""

    auth_type: AuthType = "user_pass"
    aws: bool = False
    aws_secret: str = DEFAULT_AWS_SECRET
    aws_profile: str | None = None
    aws_region: str = DEFAULT_AWS_REGION

    @classmethod
    def from_config(cls, auth: Mapping[str, Any] | None) -> AuthSettings:
        auth = auth or {}
        raw_type = auth.get("authType") or "user_pass"
        auth_type = AUTH_TYPES.get(str(raw_type).strip().lower())
        if auth_type is None:
            raise ConfigError(
                f"{AUTH_KEY}.authType: must be one of user_pass, token, api_key (or apikey), "
                f"none; got {raw_type!r}"
            )
        return cls(
            auth_type=auth_type,
            aws=_as_bool(auth.get("aws", False), f"{AUTH_KEY}.aws"),
            aws_secret=str(auth.get("awsSecret") or DEFAULT_AWS_SECRET),
            aws_profile=str(auth["awsProfile"]) if auth.get("awsProfile") else None,
            aws_region=str(auth.get("awsRegion") or DEFAULT_AWS_REGION),
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings by their configuration keys (for ``fsartifacts validate``)."""
        return {
            "authType": self.auth_type,
            "aws": self.aws,
            "awsSecret": self.aws_secret,
            "awsProfile": self.aws_profile,
            "awsRegion": self.aws_region,
        }


def _as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or str(value).strip() == "":
        return False
    boolean = parse_boolean(str(value))
    if boolean is None:
        raise ConfigError(f"{key}: must be true or false; got {value!r}")
    return boolean


def repo_key_problem(repo: str) -> str | None:
    """Why ``repo`` cannot be an Artifactory repository key, or None."""
    key = repo.strip().strip("/")
    if not key:
        return f"{repo!r} names no repository"
    if "/" in key:
        return (
            f"{key!r} is a repository key, without '/'; put the folder inside it in "
            "repository.artifactory.path"
        )
    return None


@dataclass(frozen=True)
class ArtifactorySettings:
    """The ``repository.artifactory`` mapping, validated, with its defaults filled in."""

    url: str  # the server's base URL, such as https://host/artifactory
    repo: str  # the repository key
    path: str = ""  # the folder inside the repository that holds the artifacts
    verify: bool | str = True  # TLS verification: on, off, or a CA bundle's path
    cert: str | tuple[str, str] | None = None  # a client certificate (and its key)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def as_dict(self) -> dict[str, Any]:
        """The settings by their configuration keys (for ``fsartifacts validate``)."""
        shown: dict[str, Any] = {
            "url": self.url,
            "repo": self.repo,
            "path": self.path,
            "verify": self.verify,
        }
        if self.cert is not None:
            shown["cert"] = self.cert
        shown["auth"] = self.auth.as_dict()
        return shown
