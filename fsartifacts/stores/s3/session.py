"""The botocore session and client settings of the S3 store, cut to what each request
needs: a folder of small files is one request per file, and all of them are prepared,
signed and parsed on s3fs's one event-loop thread, so every millisecond botocore spends
per request is a millisecond per file.

Three of botocore's defaults cost more than they give here:

- the User-Agent header is rebuilt from a dozen components twice for every request
  (once when the request is made, once more before it is signed); a user agent given
  in the client's configuration is used as it is, so it is composed once, here;
- every timestamp of a response (``Last-Modified`` of each GET and HEAD, the
  ``LastModified`` of each entry of a listing) is parsed by dateutil's general parser;
  the two forms S3 sends (RFC 1123 in headers, ISO 8601 in XML) are read by the
  standard library's own parsers, and anything else still goes to botocore's;
- a new session registers some 250 handlers of its own, and checks that each takes
  keyword arguments by building its full ``inspect`` signature (half of the session's
  making); a plain function or method is checked by its code's flag for ``**kwargs``,
  which is what that signature reads, and any other callable as botocore does.

Nothing here changes what is sent or verified: the same requests, signatures,
checksums and retries.
"""

from __future__ import annotations

import email.utils
import inspect
import platform
import types
from datetime import datetime
from typing import Any

# isort: split
# First, so that aiohttp (imported by aiobotocore) makes its unused TLS contexts deferred.
import fsartifacts.stores.s3.tls  # noqa: F401

# isort: split
import aiobotocore
import aiobotocore.session
from aiobotocore.hooks import AioHierarchicalEmitter
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from fsartifacts import __version__
from fsartifacts.stores.s3.models import service_loader


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


class KwargsCheckedEmitter(AioHierarchicalEmitter):
    """aiobotocore's event emitter, which checks that a plain function or method handler
    accepts ``**kwargs`` by its code's flags (see the module's docstring)."""

    def _verify_accept_kwargs(self, func: Any) -> None:
        code = _plain_code(func)
        if code is None:
            super()._verify_accept_kwargs(func)
        elif not code.co_flags & inspect.CO_VARKEYWORDS:
            raise ValueError(f"Event handler {func} must accept keyword arguments (**kwargs)")


def _plain_code(func: Any) -> types.CodeType | None:
    """The code whose flags ``inspect`` would read for ``func``'s signature, when nothing
    else can change it (no ``__signature__``), else None."""
    if isinstance(func, types.MethodType):
        func = func.__func__
    if type(func) is not types.FunctionType or "__signature__" in func.__dict__:
        return None
    return func.__code__


def new_session(profile: str | None = None) -> aiobotocore.session.AioSession:
    """An aiobotocore session (of ``profile``, else the default chain) whose clients parse
    timestamps with :func:`parse_timestamp`, whose handlers are checked by
    :class:`KwargsCheckedEmitter`, and whose models are read by
    :func:`~fsartifacts.stores.s3.models.service_loader`."""
    session = aiobotocore.session.AioSession(profile=profile, event_hooks=KwargsCheckedEmitter())
    session.register_component(
        "data_loader", service_loader(session.get_config_variable("data_path"))
    )
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )
    return session
