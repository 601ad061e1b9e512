"""S3 as a store: the ``repository.s3`` config to an s3fs filesystem, and what S3 does better.

Imported only when S3 is configured (or an ``s3://`` URL is used), so that
s3fs and botocore load only then.

What :class:`S3Ops` adds over the generic way:

- exclusive uploads are create-if-absent on the server (``If-None-Match: *``
  on PutObject and CompleteMultipartUpload), with a logged check-then-put
  fallback for endpoints that do not implement conditional writes;
- the sha256 travels in the object's metadata (``x-amz-meta-sha256``);
- single-part uploads are checked against the ETag S3 returns (the MD5 of
  what it stored), multipart ETags (``...-N``) are never taken for a hash;
- a download is one streamed GET read in bounded blocks, resumed with a
  ranged GET pinned to the ETag when the connection drops.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import math
import mimetypes
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import s3fs
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from fsspec.asyn import sync
from fsspec.callbacks import Callback, NoOpCallback

from .config import MiB, TransferSettings
from .errors import (
    AuthError,
    ConfigError,
    FsArtifactsError,
    IntegrityError,
    NotFoundError,
    TransferError,
)
from .storeops import StoreOps, Writable
from .stores import Store

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts (except the last)
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
PARTS_IN_FLIGHT = 4  # per file: upload memory is about part size x this x jobs
DOWNLOAD_BLOCK = MiB  # bytes handed from the event loop to the caller per read
CHECKSUM_MODES = ("when_supported", "when_required")
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys

# Error codes meaning "your credentials are the problem", not "this object".
_AUTH_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
    "403",
}
_OPAQUE_ETAG_SSE = {"aws:kms", "aws:kms:dsse"}  # their ETags are not the MD5 of the content
_MD5_ETAG = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Errors of a response body being read: the request itself had succeeded.
_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    *s3fs.core.S3_RETRYABLE_ERRORS,
    IncompleteReadError,
)


# -- configuration ------------------------------------------------------------


def open_s3_store(cfg: dict[str, Any], transfer: TransferSettings) -> Store:
    """The store ``repository.s3`` names: a fresh S3FileSystem and ``bucket[/prefix]``."""
    bucket, prefix = parse_bucket(cfg.get("bucket"))
    region = _optional_str(cfg, "region")
    profile = _optional_str(cfg, "profile")
    endpoint_url = _optional_str(cfg, "endpoint_url")
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"repository.s3.endpoint_url: {endpoint_url!r} is not a URL; "
            "give it with its scheme, e.g. http://127.0.0.1:9000"
        )
    checksums = cfg.get("checksums") or "when_supported"
    if checksums not in CHECKSUM_MODES:
        raise ConfigError(
            f"repository.s3.checksums: {checksums!r} is not one of "
            f"{', '.join(CHECKSUM_MODES)} (when_required is for S3-compatible stores "
            "that reject botocore's default checksum headers)"
        )
    if profile:
        _check_profile(profile)
    extra_args = validate_extra_args(cfg.get("extra_args") or {})
    fs = make_filesystem(
        transfer,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        checksums=checksums,
        extra_args=extra_args,
    )
    root = f"{bucket}/{prefix}" if prefix else bucket
    return Store(fs=fs, root=root, ops=S3Ops(fs, transfer), display=f"s3://{root}")


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


def validate_extra_args(extra_args: Any) -> dict[str, Any]:
    """``s3.extra_args`` as botocore will take them for PutObject and CreateMultipartUpload.

    s3fs silently drops arguments an operation does not know, so a misspelt
    ``ServerSideEncrypton`` would otherwise leave objects unencrypted.
    """
    if not isinstance(extra_args, dict):
        raise ConfigError("repository.s3.extra_args: must be a mapping of PutObject arguments")
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


def make_filesystem(
    transfer: TransferSettings,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    checksums: str = "when_supported",
    extra_args: dict[str, Any] | None = None,
) -> s3fs.S3FileSystem:
    """An S3FileSystem of its own (not from fsspec's instance cache), tuned by ``transfer``.

    One instance is shared by all transfer threads: s3fs runs every request
    on fsspec's event-loop thread, and its session set-up is locked.
    """
    config_kwargs: dict[str, Any] = {
        # botocore retries each request; s3fs's own loop is set to one try
        # below so that attempts are not multiplied.
        "retries": {"total_max_attempts": transfer.attempts, "mode": "standard"},
        "connect_timeout": transfer.timeout,
        "read_timeout": transfer.timeout,
        "max_pool_connections": max(10, transfer.jobs * (PARTS_IN_FLIGHT + 1)),
        "request_checksum_calculation": checksums,
        "response_checksum_validation": checksums,
    }
    options: dict[str, Any] = {}
    if profile:
        options["profile"] = profile  # passed on to the botocore session
    fs = s3fs.S3FileSystem(
        endpoint_url=endpoint_url,
        client_kwargs={"region_name": region} if region else {},
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
    return fs


def _optional_str(cfg: dict[str, Any], key: str) -> str | None:
    value = cfg.get(key)
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


# -- operations -----------------------------------------------------------------


class S3Ops(StoreOps):
    """StoreOps for s3fs: conditional creates, sha256 metadata, ETag checks, streamed GETs."""

    atomic_create = True
    atomic_writes = True
    records_sha256 = True

    def __init__(self, fs: Any, transfer: TransferSettings | None = None) -> None:
        super().__init__(fs, transfer)
        self._lock = threading.Lock()
        self._conditional_writes = True  # until the endpoint says it has none
        self._heads: OrderedDict[str, dict[str, Any]] = OrderedDict()  # recent HEADs by path
        # At most ``jobs`` uploads at once, however callers nest their threads
        # (artifacts x files of a folder), so memory stays ~ jobs x parts x part size.
        self._upload_slots = threading.BoundedSemaphore(max(1, self.transfer.jobs))

    # -- listings -----------------------------------------------------------------

    def listing(self, path: str) -> list[dict[str, Any]]:
        path = path.rstrip("/")
        with self._errors(path, "list"):
            try:
                entries = self.fs.ls(path, detail=True, refresh=True)
            except FileNotFoundError as exc:
                if _error_code(exc) == "NoSuchBucket":
                    raise
                return []
        # A zero-byte "folder/" marker (consoles make them) is not an entry of
        # the folder, and a file at ``path`` itself is not a folder of artifacts.
        entries = [e for e in entries if e["name"] != path + "/"]
        if len(entries) == 1 and entries[0]["name"] == path:
            return []
        return entries

    def tree(self, path: str) -> dict[str, dict[str, Any]]:
        with self._errors(path, "list"):
            return super().tree(path)

    # -- writes -------------------------------------------------------------------

    def upload(
        self,
        lpath: str,
        rpath: str,
        *,
        sha256: str,
        exclusive: bool,
        record: bool = True,
        callback: Callback | None = None,
        digests: Mapping[str, str] | None = None,
    ) -> None:
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        size = os.path.getsize(lpath)
        part = part_size_for(size, self.transfer.part_size)
        metadata = self._metadata(sha256 if record else None)
        content_type = self._content_type(lpath)
        with self._upload_slots, self._errors(rpath, "upload to"):
            if size < 2 * part:  # s3fs's own rule for one PutObject
                with open(lpath, "rb") as f:
                    data = f.read()
                # Hash the very bytes about to be sent (in memory, under two parts:
                # no second read of the file). S3 never checks the sha256 we put
                # in the metadata, and a size + mtime check would miss a rewrite
                # of the same size within one mtime tick.
                if hashlib.sha256(data).hexdigest() != sha256.lower():
                    raise IntegrityError(
                        f"{lpath} changed while it was being pushed (its sha256 is no longer "
                        f"{sha256}); nothing was uploaded. Push again once it is complete."
                    )
                callback.set_size(len(data))
                self._put_small(bucket, key, data, metadata, content_type, exclusive=exclusive)
                callback.relative_update(len(data))
                return

            def put(conditional: bool) -> None:
                callback.absolute_update(0)  # a retried upload starts over
                self.fs.put_file(
                    lpath,
                    rpath,
                    callback=callback,
                    chunksize=part,
                    max_concurrency=PARTS_IN_FLIGHT,
                    mode="create" if conditional else "overwrite",
                    ContentType=content_type,
                    **({"Metadata": metadata} if metadata else {}),
                )

            self._write(bucket, key, put, exclusive=exclusive)

    def upload_folder(
        self, files: list[tuple[str, str, str]], rpath: str, callback: Callback | None = None
    ) -> None:
        """The files of a folder artifact, ``transfer.jobs`` at a time (one client serves all)."""
        if len(files) <= 1 or self.transfer.jobs <= 1:
            super().upload_folder(files, rpath, callback)
            return

        def one(item: tuple[str, str, str]) -> None:
            lpath, relative, sha256 = item
            self.upload(
                lpath,
                f"{rpath}/{relative}",
                sha256=sha256,
                exclusive=False,
                record=False,
                callback=callback,
            )

        with ThreadPoolExecutor(max_workers=min(self.transfer.jobs, len(files))) as pool:
            for _ in pool.map(one, files):  # re-raises the first failure
                pass

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        bucket, key = self._split(rpath)
        metadata = self._metadata(hashlib.sha256(data).hexdigest())
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        with self._errors(rpath, "upload to"):
            self._put_small(bucket, key, data, metadata, content_type, exclusive=exclusive)

    def remove(self, rpath: str, *, recursive: bool = False) -> None:
        bucket, key = self._split(rpath)
        if not key:
            raise ValueError(f"refusing to remove the whole bucket {bucket!r}")
        with self._errors(rpath, "delete"):
            exists = self._head(bucket, key) is not None
            if not recursive:
                if not exists:
                    if self._children(bucket, key, limit=1):
                        raise IsADirectoryError(
                            errno.EISDIR, "a folder: remove it recursively", rpath
                        )
                    raise FileNotFoundError(errno.ENOENT, "no such object", self._url(rpath))
                self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
            else:
                keys = ([key] if exists else []) + self._children(bucket, key)
                if not keys:
                    raise FileNotFoundError(
                        errno.ENOENT, "no such object or folder", self._url(rpath)
                    )
                self._delete_keys(bucket, keys)
        self.fs.invalidate_cache(rpath)

    # -- reads --------------------------------------------------------------------

    def download(self, rpath: str, out: Writable, *, callback: Callback | None = None) -> None:
        """One streamed GET (moto and S3 both serve it at full speed), read in 1 MiB blocks.

        A dropped connection resumes with a ranged GET pinned to the ETag, so
        the bytes cannot come from two versions of the object.
        """
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        with self._errors(rpath, "download"):
            response = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
            etag, total = response.get("ETag"), response.get("ContentLength")
            callback.set_size(total)
            body, done, failures = response["Body"], 0, 0
            try:
                while True:
                    try:
                        block = sync(self.fs.loop, _read_block, body, DOWNLOAD_BLOCK)
                    except _STREAM_ERRORS as exc:
                        if total is not None and done >= total:
                            break  # every byte arrived; only the goodbye failed
                        failures += 1
                        if failures >= self.transfer.attempts:
                            raise TransferError(
                                f"downloading {self._url(rpath)} failed {failures} times "
                                f"({exc}); check the network and try again"
                            ) from exc
                        _close(self.fs.loop, body)
                        time.sleep(min(0.1 * 2**failures, 5.0))
                        log.debug("resuming %s at byte %d after %s", rpath, done, exc)
                        body = self._resume(rpath, etag, done)
                        continue
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    callback.relative_update(len(block))
            finally:
                _close(self.fs.loop, body)
        if total is not None and done != total:
            raise TransferError(
                f"downloading {self._url(rpath)}: got {done} of {total} bytes; try again"
            )

    def _resume(self, rpath: str, etag: str | None, offset: int) -> Any:
        """The rest of the object from ``offset``, provided it is still the same object."""
        bucket, key = self._split(rpath)
        try:
            response = self.fs.call_s3(
                "get_object",
                Bucket=bucket,
                Key=key,
                Range=f"bytes={offset}-",
                **({"IfMatch": etag} if etag else {}),
            )
        except OSError as exc:
            if _error_code(exc) != "PreconditionFailed":
                raise
            raise TransferError(
                f"{self._url(rpath)} was replaced while it was being downloaded; try again"
            ) from exc
        return response["Body"]

    def read_bytes(self, rpath: str) -> bytes:
        with self._errors(rpath, "download"):
            return super().read_bytes(rpath)

    def recorded_sha256(self, rpath: str, entry: dict[str, Any] | None = None) -> str | None:
        """The ``sha256`` in the object's metadata (one HEAD); None without one."""
        bucket, key = self._split(rpath)
        with self._errors(rpath, "read the metadata of"):
            head = self._head(bucket, key)
        if head is None:
            return None  # gone since it was listed: the download will say so
        digest = str(head.get("Metadata", {}).get("sha256", "")).strip().lower()
        return digest if _SHA256.fullmatch(digest) else None

    def native_checksum(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        """("md5", hex) when the ETag is the MD5 of the content: single-part, not SSE-KMS/SSE-C.

        A listing does not say how an object is encrypted (a bucket's default
        can be KMS), so that comes from a HEAD: the one recorded_sha256 made,
        or a new one.
        """
        etag = str(entry.get("ETag", "")).strip('"').lower()
        if not _MD5_ETAG.fullmatch(etag):
            return None  # multipart ("...-N") or not an MD5 at all
        path = entry["name"]
        with self._lock:
            head = self._heads.get(path)
        if head is None or str(head.get("ETag", "")).strip('"').lower() != etag:
            bucket, key = self._split(path)
            with self._errors(path, "read the metadata of"):
                head = self._head(bucket, key)
        if head is None or str(head.get("ETag", "")).strip('"').lower() != etag:
            return None  # gone or replaced since it was listed: nothing to vouch for
        return None if _opaque_etag(head) else ("md5", etag)

    # -- helpers ------------------------------------------------------------------

    def _put_small(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str] | None,
        content_type: str,
        *,
        exclusive: bool,
    ) -> None:
        """One PutObject, checked against the ETag S3 answers with."""
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        extra: dict[str, Any] = {"ContentType": content_type}
        if metadata:
            extra["Metadata"] = metadata

        def put(conditional: bool) -> None:
            response = self.fs.call_s3(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=data,
                **extra,
                **({"IfNoneMatch": "*"} if conditional else {}),
            )
            self._check_etag(bucket, key, response, md5)

        self._write(bucket, key, put, exclusive=exclusive)
        self.fs.invalidate_cache(f"{bucket}/{key}")

    def _write(
        self, bucket: str, key: str, put: Callable[[bool], None], *, exclusive: bool
    ) -> None:
        """Run ``put(conditional)`` so that an exclusive write never replaces an object."""
        if not exclusive:
            put(False)
            return
        if self._conditional_writes:
            for attempt in range(1, self.transfer.attempts + 1):
                try:
                    put(True)
                    return
                except FileExistsError as exc:
                    raise FileExistsError(
                        errno.EEXIST, "already exists", f"s3://{bucket}/{key}"
                    ) from exc
                except OSError as exc:
                    # 409: a concurrent write or delete of the key was in
                    # progress; S3 asks to retry, and the retry settles it.
                    if _error_code(exc) == "ConditionalRequestConflict":
                        if attempt < self.transfer.attempts:
                            continue
                        raise
                    if not _conditional_write_unsupported(exc):
                        raise
                    self._note_no_conditional_writes(bucket)
                    break
        if self._head(bucket, key) is not None:
            raise FileExistsError(errno.EEXIST, "already exists", f"s3://{bucket}/{key}")
        put(False)

    def _note_no_conditional_writes(self, bucket: str) -> None:
        with self._lock:
            if not self._conditional_writes:
                return
            self._conditional_writes = False
        log.info(
            "the S3 endpoint of bucket %s does not support conditional writes "
            "(If-None-Match); checking for an existing object before each upload instead, "
            "so two pushes racing for the same name could both succeed",
            bucket,
        )

    def _check_etag(self, bucket: str, key: str, response: dict[str, Any], md5: str) -> None:
        """A single-part ETag is the MD5 of what S3 stored: it must be the MD5 we sent."""
        etag = str(response.get("ETag", "")).strip('"').lower()
        if not _MD5_ETAG.fullmatch(etag) or _opaque_etag(response) or etag == md5:
            return
        deleted = True
        try:
            # Only our own write: another writer's newer object has another ETag.
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        except Exception as exc:  # the IntegrityError below matters more
            log.warning("could not delete the corrupted s3://%s/%s: %s", bucket, key, exc)
            deleted = False
        self.fs.invalidate_cache(f"{bucket}/{key}")
        raise IntegrityError(
            f"s3://{bucket}/{key}: S3 stored bytes with MD5 {etag} but {md5} was sent, so the "
            "upload was corrupted on the way"
            + ("; the bad object was deleted" if deleted else "; delete the bad object")
            + ". Push again; if it recurs, check proxies between here and the endpoint."
        )

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        """HeadObject, remembered for native_checksum; None when there is no such key."""
        try:
            head = self.fs.call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise
            return None
        with self._lock:
            self._heads[f"{bucket}/{key}"] = head
            while len(self._heads) > 1024:
                self._heads.popitem(last=False)
        return dict(head)

    def _children(self, bucket: str, key: str, limit: int | None = None) -> list[str]:
        """Every key below the folder ``key`` (all pages), or up to ``limit`` of them."""
        found: list[str] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": key.rstrip("/") + "/"}
        while True:
            page = self.fs.call_s3("list_objects_v2", **request)
            found.extend(item["Key"] for item in page.get("Contents", []))
            if (limit and len(found) >= limit) or not page.get("IsTruncated"):
                return found[:limit] if limit else found
            request["ContinuationToken"] = page["NextContinuationToken"]

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        """DeleteObjects in batches, raising on the first key S3 did not delete."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = self.fs.call_s3(
                "delete_objects",
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            failed = response.get("Errors") or []
            if failed:
                first = failed[0]
                raise OSError(
                    errno.EIO,
                    f"S3 did not delete {len(failed)} object(s), first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}",
                    f"s3://{bucket}/{first.get('Key')}",
                )

    def _metadata(self, sha256: str | None) -> dict[str, str] | None:
        user = dict(self.fs.s3_additional_kwargs.get("Metadata") or {})
        if sha256:
            user["sha256"] = sha256.lower()
        return user or None

    def _content_type(self, lpath: str) -> str:
        given = self.fs.s3_additional_kwargs.get("ContentType")
        return given or mimetypes.guess_type(lpath)[0] or "application/octet-stream"

    def _split(self, rpath: str) -> tuple[str, str]:
        bucket, key, _ = self.fs.split_path(rpath)
        return bucket, key

    @staticmethod
    def _url(rpath: str) -> str:
        return f"s3://{rpath.removeprefix('s3://')}"

    @contextlib.contextmanager
    def _errors(self, rpath: str, doing: str) -> Iterator[None]:
        """Turn credential, permission and connection failures into typed errors.

        FileExistsError and FileNotFoundError pass: the engine acts on them.
        """
        url = self._url(rpath)
        try:
            yield
        except (FsArtifactsError, FileExistsError, IsADirectoryError):
            raise
        except FileNotFoundError as exc:
            if _error_code(exc) != "NoSuchBucket":
                raise
            bucket = self._split(rpath)[0]
            raise NotFoundError(
                f"the S3 bucket {bucket!r} does not exist (or is in another account or "
                "endpoint); check repository.s3.bucket, region and endpoint_url"
            ) from exc
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
            raise AuthError(
                f"no usable AWS credentials to {doing} {url} ({exc}); set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or repository.s3.profile, "
                "or log in (aws sso login)",
                missing_credentials=True,
            ) from exc
        except PermissionError as exc:
            raise AuthError(
                f"S3 refused to let these credentials {doing} {url} ({exc}); check the "
                "profile or keys in use and their permissions on the bucket"
            ) from exc
        # Before OSError: botocore's timeouts, TLS and proxy errors are OSErrors too.
        # botocore has retried them (transfer.attempts tries in all), so they are
        # TransferErrors, which the engine does not try again.
        except BotoConnectionError as exc:
            raise TransferError(
                f"cannot reach the S3 endpoint to {doing} {url} after "
                f"{self.transfer.attempts} tries ({exc}); check the network, region and "
                "endpoint_url"
            ) from exc
        except ReadTimeoutError as exc:
            raise TransferError(
                f"the S3 endpoint did not answer in time to {doing} {url} after "
                f"{self.transfer.attempts} tries ({exc}); check the network and endpoint_url, "
                "or allow more time (transfer.timeout, FSARTIFACTS_TIMEOUT)"
            ) from exc
        except OSError as exc:
            if _error_code(exc) in _AUTH_CODES:
                raise AuthError(f"S3 refused the credentials to {doing} {url} ({exc})") from exc
            answered = _server_failure(exc)
            if answered:
                status, tries = answered
                raise TransferError(
                    f"S3 answered HTTP {status} ({_error_code(exc)}) to {doing} {url} after "
                    f"{tries} tries: {exc}; try again later"
                ) from exc
            raise
        except FlexibleChecksumError as exc:
            raise IntegrityError(
                f"the bytes received for {url} do not match the checksum S3 sent ({exc}); try again"
            ) from exc
        except BotoCoreError as exc:
            raise TransferError(f"S3 request to {doing} {url} failed: {exc}") from exc


async def _read_block(body: Any, size: int) -> bytes:
    """Up to ``size`` bytes of a response body (fewer only at its end)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = await body.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _close(loop: Any, body: Any) -> None:
    with contextlib.suppress(Exception):
        sync(loop, body.aclose)


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an exception s3fs translated, if there is one."""
    cause = exc if isinstance(exc, ClientError) else exc.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "")) or None
    return None


def _server_failure(exc: BaseException) -> tuple[int, int] | None:
    """(HTTP status, tries) when S3 answered 429 or 5xx: botocore retried those it could."""
    cause = exc if isinstance(exc, ClientError) else exc.__cause__
    if not isinstance(cause, ClientError):
        return None
    metadata = cause.response.get("ResponseMetadata", {})
    status = int(metadata.get("HTTPStatusCode") or 0)
    if status != 429 and status < 500:
        return None
    return status, int(metadata.get("RetryAttempts") or 0) + 1


def _conditional_write_unsupported(exc: BaseException) -> bool:
    """Did the endpoint refuse ``If-None-Match`` itself (rather than the write)?

    AWS answered 501 NotImplemented before it had conditional writes; some
    S3-compatible stores answer 400 naming the header.
    """
    cause = exc.__cause__
    if not isinstance(cause, ClientError):
        return False
    error = cause.response.get("Error", {})
    status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(error.get("Code", ""))
    if status == 501 or code in ("NotImplemented", "501"):
        return True
    said = " ".join(str(error.get(k, "")) for k in ("Message", "Header", "ArgumentName"))
    return code in ("InvalidArgument", "InvalidRequest", "NotSupported") and (
        "if-none-match" in said.lower()
    )


def _opaque_etag(head: dict[str, Any]) -> bool:
    """SSE-KMS and SSE-C objects have ETags that are not the MD5 of their content."""
    return head.get("ServerSideEncryption") in _OPAQUE_ETAG_SSE or bool(
        head.get("SSECustomerAlgorithm")
    )
