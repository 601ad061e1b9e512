"""The botocore session and client settings of the S3 store, cut to what each request
needs: a folder of small files is one request per file, and all of them are prepared,
signed and parsed on s3fs's one event-loop thread, so every millisecond botocore spends
per request is a millisecond per file.

Two of botocore's defaults cost more than they give here:

- the User-Agent header is rebuilt from a dozen components twice for every request
  (once when the request is made, once more before it is signed); a user agent given
  in the client's configuration is used as it is, so it is composed once, here;
- every timestamp of a response (``Last-Modified`` of each GET and HEAD, the
  ``LastModified`` of each entry of a listing) is parsed by dateutil's general parser;
  the two forms S3 sends (RFC 1123 in headers, ISO 8601 in XML) are read by the
  standard library's own parsers, and anything else still goes to botocore's.

Nothing here changes what is sent or verified: the same requests, signatures,
checksums and retries.
"""

from __future__ import annotations

import email.utils
import platform
from datetime import datetime
from typing import Any

# isort: split
# First, so that aiohttp (imported by aiobotocore) makes its unused TLS contexts deferred.
import fsartifacts.stores.s3.tls  # noqa: F401

# isort: split
import aiobotocore
import aiobotocore.session
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from fsartifacts import __version__


def user_agent() -> str:
    """The User-Agent of every S3 request: this tool, then the library that speaks for it
    (aiobotocore's session adds botocore's version)."""
    return (
        f"fsartifacts/{__version__} aiobotocore/{aiobotocore.__version__} "
        f"Python/{platform.python_version()}"
    )


def parse_timestamp(value: Any) -> datetime:
    """A timestamp of an S3 response as botocore would give it (timezone-aware), read by
    the standard library when it has S3's form, else by botocore."""
    if isinstance(value, str):
        try:
            if value.endswith("GMT"):  # headers: "Tue, 01 Dec 2026 20:41:00 GMT"
                parsed = email.utils.parsedate_to_datetime(value)
            else:  # listings: "2026-12-01T20:41:00.000Z"
                parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    result: datetime = botocore_parse_timestamp(value)
    return result


def new_session(profile: str | None = None) -> aiobotocore.session.AioSession:
    """An aiobotocore session (of ``profile``, else the default chain) whose clients parse
    timestamps with :func:`parse_timestamp`."""
    session = aiobotocore.session.AioSession(profile=profile)
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )
    return session
