"""What S3's failures mean for fsartifacts: the typed errors, and reading error codes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from fsartifacts.errors import (
    AuthError,
    FsArtifactsError,
    IntegrityError,
    StoreNotFoundError,
    TransferError,
)
from fsartifacts.retry import TIMEOUT_TRIES

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


@contextlib.contextmanager
def typed_errors(
    url: str, doing: str, *, attempts: int, bucket_of: Callable[[], str]
) -> Iterator[None]:
    """Turn credential, permission and connection failures into typed errors.

    FileExistsError and FileNotFoundError pass: the engine acts on them.
    ``attempts`` is how often botocore tried; ``bucket_of`` names the bucket.
    """
    try:
        yield
    except (FsArtifactsError, FileExistsError, IsADirectoryError):
        raise
    except FileNotFoundError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
        bucket = bucket_of()
        raise StoreNotFoundError(
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
            f"{attempts} tries ({exc}); check the network, region and "
            "endpoint_url"
        ) from exc
    except ReadTimeoutError as exc:
        raise TransferError(
            f"the S3 endpoint did not answer in time to {doing} {url} after "
            f"{min(attempts, TIMEOUT_TRIES)} tries ({exc}); check the network and endpoint_url, "
            "or allow more time (transfer.timeout, FSARTIFACTS_TIMEOUT)"
        ) from exc
    except OSError as exc:
        if error_code(exc) in _AUTH_CODES:
            raise AuthError(f"S3 refused the credentials to {doing} {url} ({exc})") from exc
        answered = _server_failure(exc)
        if answered:
            status, tries = answered
            raise TransferError(
                f"S3 answered HTTP {status} ({error_code(exc)}) to {doing} {url} after "
                f"{tries} tries: {exc}; try again later"
            ) from exc
        raise
    except FlexibleChecksumError as exc:
        raise IntegrityError(
            f"the bytes received for {url} do not match the checksum S3 sent ({exc}); try again"
        ) from exc
    except BotoCoreError as exc:
        raise TransferError(f"S3 request to {doing} {url} failed: {exc}") from exc


def error_code(exc: BaseException) -> str | None:
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


def conditional_write_unsupported(exc: BaseException) -> bool:
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
