"""The ``repository.s3`` config checked and turned into an S3FileSystem.

Imported only when S3 is configured (or an ``s3://`` URL is used), so that
s3fs and botocore load only then. :func:`fsartifacts.stores.s3.ops.open_s3_store` adds
the operations on top.
"""

from __future__ import annotations

import functools
import math
from typing import Any

# isort: split
# First, so that aiohttp (imported by s3fs) makes its unused TLS contexts deferred.
from fsartifacts.stores.s3.tls import verify_for

# isort: split
import s3fs
from botocore.exceptions import ProfileNotFound

from fsartifacts.collector import loading
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import ConfigError
from fsartifacts.retry import connect_timeout
from fsartifacts.stores.s3.refusals import check_credentials, refuse_html_answers
from fsartifacts.stores.s3.retries import watch_requests
from fsartifacts.stores.s3.session import new_session, user_agent
from fsartifacts.stores.s3.settings import (
    CHECKSUM_MODES,
    MAX_PARTS,
    MIN_PART_SIZE,
    S3Settings,
    parse_bucket,
)

PARTS_IN_FLIGHT = 4  # per file: upload memory is about part size x this x jobs


def filesystem_for(
    settings: S3Settings, transfer: TransferSettings
) -> tuple[s3fs.S3FileSystem, str]:
    """``repository.s3`` checked, as a fresh S3FileSystem and the root ``bucket[/prefix]``."""
    bucket, prefix = parse_bucket(settings.bucket)
    region = _optional_str(settings, "region")
    profile = _optional_str(settings, "profile")
    endpoint_url = _optional_str(settings, "endpoint_url")
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"repository.s3.endpoint_url: {endpoint_url!r} is not a URL; "
            "give it with its scheme, e.g. http://127.0.0.1:9000"
        )
    checksums = settings.checksums or CHECKSUM_MODES[0]
    if profile:
        _check_profile(profile)
    extra_args = validate_extra_args(settings.extra_args or {})
    fs = make_filesystem(
        transfer,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        checksums=checksums,
        extra_args=extra_args,
    )
    root = f"{bucket}/{prefix}" if prefix else bucket
    return fs, root


def validate_extra_args(extra_args: Any) -> dict[str, Any]:
    """``s3.extra_args`` as botocore will take them for PutObject and CreateMultipartUpload.

    s3fs silently drops arguments an operation does not know, so a misspelt
    ``ServerSideEncrypton`` would otherwise leave objects unencrypted.
    """
    if not isinstance(extra_args, dict):
        raise ConfigError("repository.s3.extra_args: must be a mapping of PutObject arguments")
    if not extra_args:
        return {}  # nothing to check: S3's model (a quarter of a second to read) stays unread
    from botocore.validate import ParamValidator

    put_shape, allowed = _upload_arguments()
    unknown = sorted(set(extra_args) - allowed)
    if unknown:
        raise ConfigError(
            f"repository.s3.extra_args: unknown argument(s) {', '.join(unknown)}; "
            "give arguments of S3 PutObject that also apply to multipart uploads, such as "
            "ServerSideEncryption, SSEKMSKeyId, ACL, StorageClass, Metadata, Tagging"
        )
    report = ParamValidator().validate({"Bucket": "b", "Key": "k", **extra_args}, put_shape)
    if report.has_errors():
        raise ConfigError(f"repository.s3.extra_args: {report.generate_report()}")
    return dict(extra_args)


@functools.cache
def _upload_arguments() -> tuple[Any, frozenset[str]]:
    """PutObject's input shape, and the arguments CreateMultipartUpload takes too."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    put_shape = model.operation_model("PutObject").input_shape
    mpu_shape = model.operation_model("CreateMultipartUpload").input_shape
    # Checksums are the `checksums` key's business: an algorithm set here
    # would need part checksums s3fs does not send when completing uploads.
    common = set(put_shape.members) & set(mpu_shape.members)
    return put_shape, frozenset(common - {"Bucket", "Key", "ChecksumAlgorithm"})


def part_size_for(size: int, part_size: int) -> int:
    """The multipart part size for a file of ``size`` bytes.

    At least S3's 5 MiB minimum, and large enough that the file fits in
    10,000 parts (s3fs grows the part size only when none is given).
    """
    return max(part_size, MIN_PART_SIZE, math.ceil(size / MAX_PARTS))


class S3FileSystem(s3fs.S3FileSystem):
    """s3fs's filesystem whose client announces and bounds its retries (see s3_retries),
    refuses unusable credentials and answers that are not S3's (see s3.refusals), on a
    session of its own whose clients parse responses faster (see s3.session)."""

    attempts = 5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("session") is None:
            # The profile goes to the session s3fs would otherwise make with it.
            kwargs["session"] = new_session(kwargs.pop("profile", None))
        super().__init__(*args, **kwargs)

    async def set_session(self, refresh: bool = False, kwargs: dict[str, Any] | None = None) -> Any:
        if self._s3 is None:
            # The first request makes the client: botocore reads S3's models and builds
            # its handlers, all kept for the process's life.
            with loading():
                client = await super().set_session(refresh, kwargs or {})
        else:
            client = await super().set_session(refresh, kwargs or {})
        if getattr(client, "_fsartifacts_watched", None) is not True:
            await check_credentials(self.session)
            watch_requests(client, self.attempts)
            refuse_html_answers(client)
            client._fsartifacts_watched = True
        return client


def make_filesystem(
    transfer: TransferSettings,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    checksums: str = "when_supported",
    extra_args: dict[str, Any] | None = None,
) -> s3fs.S3FileSystem:
    """An :class:`S3FileSystem` of its own (not from fsspec's instance cache), tuned by
    ``transfer``.

    One instance is shared by all transfer threads: s3fs runs every request
    on fsspec's event-loop thread, and its session set-up is locked.
    """
    config_kwargs: dict[str, Any] = {
        # botocore retries each request; s3fs's own loop is set to one try
        # below so that attempts are not multiplied.
        "retries": {"total_max_attempts": transfer.attempts, "mode": "standard"},
        "connect_timeout": connect_timeout(transfer.timeout),
        "read_timeout": transfer.timeout,
        "max_pool_connections": max(10, transfer.jobs * (PARTS_IN_FLIGHT + 1)),
        "request_checksum_calculation": checksums,
        "response_checksum_validation": checksums,
        # Given, it is sent as it is: botocore would compose it twice per request.
        "user_agent": user_agent(),
        # Every request is built here from checked values (``extra_args`` are validated
        # against PutObject's model once, when the configuration is read): botocore's
        # check of each request's parameters against the model, on the event loop every
        # request shares, would find nothing.
        "parameter_validation": False,
    }
    if checksums == "when_supported" and (endpoint_url or "").lower().startswith("http://"):
        # Over plain HTTP botocore signs each body's sha256, a second hash of every part
        # on the event loop that sends the others (a third of a push's CPU past start-up
        # on moto). Over HTTPS it sends a streamed body unsigned once a checksum travels
        # with it; here one does too: each part's CRC32 goes in a signed header, which
        # the store checks, and the file's sha256 in the signed metadata is checked by
        # every pull.
        config_kwargs["s3"] = {"payload_signing_enabled": False}
    options: dict[str, Any] = {}
    if profile:
        options["profile"] = profile  # passed on to the botocore session
    client_kwargs: dict[str, Any] = {"region_name": region} if region else {}
    verify = verify_for(endpoint_url)
    if verify is not None:
        client_kwargs["verify"] = verify
    fs = S3FileSystem(
        endpoint_url=endpoint_url,
        client_kwargs=client_kwargs,
        config_kwargs=config_kwargs,
        # Merged into every call and filtered per operation by s3fs: reaches
        # PutObject and CreateMultipartUpload, and SSE-C keys reach reads too.
        s3_additional_kwargs=dict(extra_args or {}),
        max_concurrency=PARTS_IN_FLIGHT,
        default_block_size=max(transfer.part_size, MIN_PART_SIZE),
        skip_instance_cache=True,
        **options,
    )
    fs.retries = 1
    fs.attempts = transfer.attempts
    return fs


def _optional_str(settings: S3Settings, key: str) -> str | None:
    value = getattr(settings, key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"repository.s3.{key}: must be a string, not {value!r}")
    return value


def _check_profile(profile: str) -> None:
    import botocore.session

    try:
        botocore.session.Session(profile=profile).get_scoped_config()
    except ProfileNotFound as exc:
        raise ConfigError(
            f"repository.s3.profile: the AWS profile {profile!r} is not in the AWS config "
            "or credentials files; create it (aws configure --profile NAME) or remove the key"
        ) from exc
