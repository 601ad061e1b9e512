"""S3's own limits, and the transfer settings they rule out.

Imported by the configuration as it is built, so it loads nothing of s3fs or
botocore: a part size S3 would refuse is a configuration error (exit 2) before
any request is made.
"""

from __future__ import annotations

from collections.abc import Mapping

from fsartifacts.config.model import MiB, TransferSettings
from fsartifacts.errors import ConfigError

GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts (except the last)
MAX_PART_SIZE = 5 * GiB  # and larger ones
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload


def check_transfer(transfer: TransferSettings, origin: Mapping[str, str]) -> None:
    """A part size outside S3's limits, named by where it was set (``origin``)."""
    if not MIN_PART_SIZE <= transfer.part_size <= MAX_PART_SIZE:
        raise ConfigError(
            f"{origin['part_size']}: a part size of {transfer.part_size} bytes is outside "
            f"S3's limits; give between 5MiB and 5GiB"
        )
