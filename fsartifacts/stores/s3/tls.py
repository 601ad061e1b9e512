"""The TLS set-up of the S3 client, done only where a connection uses it.

Two costs come before the first request and buy nothing on most runs:

- aiohttp builds two default TLS contexts when it is imported, each reading the
  system's CA certificates from disk (a tenth of a second together), and the S3
  client never uses either: aiobotocore hands every connection a context of its own.
  aiohttp is imported here with those two contexts *deferred*: they are the same
  contexts, and read the certificates when they first wrap a connection;
- aiobotocore builds a verifying context (certifi's bundle read) for its connector
  whatever the endpoint's scheme. An ``http://`` endpoint reached without a proxy
  makes no TLS connection, so its client is made with nothing to verify
  (:func:`verify_for`); over ``https://``, or through a proxy, verification is
  unchanged.

Importing this module imports aiohttp; the S3 modules import it before s3fs and
aiobotocore, which would otherwise import aiohttp first.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_REAL_CONTEXT = ssl.SSLContext
_LOADING = threading.Lock()


class DeferredCertsContext(ssl.SSLContext):
    """An SSLContext that reads the default CA certificates when it first wraps a
    connection (or is asked for its certificates), not when it is made."""

    def _defer(self, load: Callable[[], None]) -> None:
        with _LOADING:
            if self.__dict__.get("loaded"):
                load()
            else:
                self.__dict__.setdefault("pending", []).append(load)

    def load_pending(self) -> None:
        """Read what was deferred (once; later calls do nothing)."""
        with _LOADING:
            if self.__dict__.get("loaded"):
                return
            # Set first: the loads call the overridden methods below, which must then
            # read rather than defer again.
            self.__dict__["loaded"] = True
            for load in self.__dict__.pop("pending", []):
                load()

    @property
    def deferred(self) -> bool:
        """Whether certificates are still to be read."""
        return bool(self.__dict__.get("pending")) and not self.__dict__.get("loaded")

    def load_default_certs(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
        if self.__dict__.get("loaded"):
            return super().load_default_certs(purpose)
        self._defer(lambda: _REAL_CONTEXT.load_default_certs(self, purpose))

    def set_default_verify_paths(self) -> None:
        if self.__dict__.get("loaded"):
            return super().set_default_verify_paths()
        self._defer(lambda: _REAL_CONTEXT.set_default_verify_paths(self))

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        self.load_pending()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self.load_pending()
        return super().wrap_bio(*args, **kwargs)

    def get_ca_certs(self, binary_form: bool = False) -> Any:
        self.load_pending()
        return super().get_ca_certs(binary_form)

    def cert_store_stats(self) -> dict[str, int]:
        self.load_pending()
        return super().cert_store_stats()


@contextmanager
def deferred_default_contexts() -> Iterator[None]:
    """Within: every ``ssl.SSLContext(...)`` made (by ``ssl.create_default_context()`` too)
    is a :class:`DeferredCertsContext`. For imports only, on the importing thread."""
    made = _REAL_CONTEXT.__dict__["__new__"]

    def deferred(cls: type, *args: Any, **kwargs: Any) -> Any:
        return made.__func__(DeferredCertsContext if cls is _REAL_CONTEXT else cls, *args, **kwargs)

    _REAL_CONTEXT.__new__ = staticmethod(deferred)  # type: ignore[method-assign]
    try:
        yield
    finally:
        _REAL_CONTEXT.__new__ = made  # type: ignore[method-assign]


def verify_for(endpoint_url: str | None) -> bool | None:
    """``verify`` for the S3 client of ``endpoint_url``: False for an ``http://`` endpoint
    that no proxy of the environment stands in front of (no TLS connection is made);
    None (botocore's default, configuration and ``AWS_CA_BUNDLE`` included) otherwise."""
    if not endpoint_url or not endpoint_url.lower().startswith("http://"):
        return None
    from botocore.utils import get_environ_proxies

    # The proxies the client would take for the endpoint (NO_PROXY honoured), by its scheme.
    if get_environ_proxies(endpoint_url).get("http"):
        return None
    return False


with deferred_default_contexts():
    import aiohttp  # noqa: F401  (its default contexts made now, deferred)
