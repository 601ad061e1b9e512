"""``repository.s3`` as typed settings, S3's own limits, and the transfer settings they
rule out.

Imported by the configuration as it is built, so it loads nothing of s3fs or
botocore: a part size S3 would refuse is a configuration error (exit 2) before
any request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fsartifacts.errors import ConfigError
from fsartifacts.sizes import GiB, MiB

MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts (except the last)
MAX_PART_SIZE = 5 * GiB  # and larger ones
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
# botocore's checksum modes; when_required is for S3-compatible stores that reject
# its default checksum headers.
CHECKSUM_MODES = ("when_supported", "when_required")


def parse_bucket(spec: Any) -> tuple[str, str]:
    """``my-bucket/optional/key/prefix`` (or an ``s3://`` URL) to (bucket, prefix).

    Empty segments go, so ``bkt/`` is the bucket ``bkt`` and keys never start
    with ``/`` (skelebot wrote ``/model_v2.0.0.pkl`` for ``bkt-c/``).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("repository.s3.bucket: required, e.g. my-bucket or my-bucket/models")
    text = spec.strip()
    for scheme in ("s3://", "s3a://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    parts = [part for part in text.split("/") if part]
    if not parts:
        raise ConfigError(f"repository.s3.bucket: {spec!r} names no bucket")
    return parts[0], "/".join(parts[1:])


def normal_bucket(spec: str) -> str:
    """The bucket and its key prefix as one path: ``s3://my-bucket/models/`` as
    ``my-bucket/models``."""
    return "/".join(part for part in parse_bucket(spec) if part)


def check_part_size(part_size: int, origin: Mapping[str, str]) -> None:
    """A part size outside S3's limits, named by where it was set (``origin``)."""
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise ConfigError(
            f"{origin['part_size']}: a part size of {part_size} bytes is outside "
            f"S3's limits; give between 5MiB and 5GiB"
        )


@dataclass(frozen=True)
class S3Settings:
    """The ``repository.s3`` mapping, validated; None where the configuration says nothing."""

    bucket: str  # ``my-bucket`` or ``my-bucket/key/prefix``
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    checksums: str | None = None  # botocore's checksum mode; None is when_supported
    extra_args: Mapping[str, Any] | None = None  # PutObject arguments for every upload

    def as_dict(self) -> dict[str, Any]:
        """The settings given, by their configuration keys (for ``fsartifacts validate``)."""
        shown: dict[str, Any] = {"bucket": self.bucket}
        for key in ("region", "profile", "endpoint_url", "checksums"):
            if getattr(self, key) is not None:
                shown[key] = getattr(self, key)
        if self.extra_args is not None:
            shown["extra_args"] = dict(self.extra_args)
        return shown
