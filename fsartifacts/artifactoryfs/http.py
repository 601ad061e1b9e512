"""The HTTP side of ``artifactory://``: credentials, Sessions, retries, redirects.

One ``requests.Session`` per thread (built by :func:`new_session`), with
urllib3 retrying idempotent requests on 429/5xx and connection errors; no
credential header follows a redirect to another host; no cookies are kept.
"""

from __future__ import annotations

import base64
import http.cookiejar
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import requests.auth
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from fsartifacts.artifactoryfs.connections import use_lean_answers
from fsartifacts.redaction import shown_url
from fsartifacts.retry import BACKOFF_MAX, TIMEOUT_TRIES, pause_before_retry, retry_delay
from fsartifacts.urls import with_scheme

log = logging.getLogger("fsartifacts")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Every header that can carry a credential; none may follow a redirect to another host.
CREDENTIAL_HEADERS = ("Authorization", "X-JFrog-Art-Api", "X-Api-Key", "Cookie")
RETRY_AFTER_MAX = 120


class HeaderAuth(requests.auth.AuthBase):
    """Adds fixed credential headers; anonymous is an instance with none.

    Always giving requests an auth object also stops it from reading
    ``~/.netrc`` on its own: credentials come from one documented place.
    """

    def __init__(self, headers: dict[str, str], kind: str) -> None:
        self._headers = headers
        self._kind = kind

    def current(self) -> tuple[dict[str, str], str]:
        """(the headers to send now, how they authenticate, without the secret)."""
        return self._headers, self._kind

    @property
    def kind(self) -> str:
        return self.current()[1]

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self.current()[0])
        return request

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"


class EnvironmentAuth(HeaderAuth):
    """``$ARTIFACTORY_USER`` and ``$ARTIFACTORY_TOKEN``, read at each request.

    A token set or rotated after the filesystem was made (or taken from fsspec's
    instance cache) is the one sent; read here, never stored, it enters no pickle.
    """

    def __init__(self) -> None:
        super().__init__({}, "anonymous")

    def current(self) -> tuple[dict[str, str], str]:
        token = os.environ.get("ARTIFACTORY_TOKEN") or None
        if not token:
            return {}, "anonymous"
        user = os.environ.get("ARTIFACTORY_USER") or None
        return credential_headers(user, token, api_key=None, source="from $ARTIFACTORY_TOKEN")


# The variables requests takes proxies and a CA bundle from.
ENVIRONMENT_SETTINGS = (
    *(f"{scheme}_proxy" for scheme in ("http", "https", "all", "no")),
    *(f"{scheme}_PROXY" for scheme in ("HTTP", "HTTPS", "ALL", "NO")),
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


class _Session(requests.Session):
    """A Session that strips every credential header when a redirect leaves the host,
    and reads the proxy and CA-bundle variables once per host and value.

    requests itself strips only ``Authorization``; ``X-JFrog-Art-Api`` would
    follow a download redirect to a CDN or a presigned S3 URL. And for each
    request it walks the whole environment several times (every variable, for
    any ``*_proxy``): tenths of a millisecond a request, most of a second for a
    folder of 2,000 files. Here what it found is kept per host, keyed by the
    values of the variables it depends on, so a proxy set or changed later
    (read with a dozen lookups per request) still takes effect.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], tuple[dict[str, str], str | None]] = {}

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Any:  # requests' own dict of proxies, stream, verify and cert
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        text = url.decode() if isinstance(url, bytes) else str(url or "")
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        parts = urlsplit(text)
        key = (parts.scheme, parts.netloc, no_proxy, *map(os.environ.get, ENVIRONMENT_SETTINGS))
        found = self._environment.get(key)
        if found is None:
            if len(self._environment) >= 64:  # hosts and values seen: a handful in a run
                self._environment.clear()
            found = self._environment[key] = _environment_settings(text, no_proxy)
        env_proxies, bundle = found
        if proxies is not None:
            for name, value in env_proxies.items():
                proxies.setdefault(name, value)
        if (verify is True or verify is None) and bundle:
            verify = bundle
        if self.proxies:  # proxies set on the Session itself: requests' own merge
            proxies = requests.sessions.merge_setting(proxies, self.proxies)
        # requests' merge_setting for the rest, without its Mapping checks: a request's
        # value wins unless it is None.
        return {
            "proxies": proxies,
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        original = response.request.url or ""
        if self.should_strip_auth(original, prepared_request.url or ""):
            for name in CREDENTIAL_HEADERS:
                prepared_request.headers.pop(name, None)
        # Deliberately no netrc lookup for the new host (requests' default).


def _environment_settings(url: str, no_proxy: str | None) -> tuple[dict[str, str], str | None]:
    """(the proxies the environment gives ``url``, its CA bundle), as requests reads them."""
    proxies = requests.utils.get_environ_proxies(url, no_proxy=no_proxy)
    return proxies, os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


class _Retry(Retry):
    """urllib3's Retry, announcing each retry (:func:`~fsartifacts.retry.pause_before_retry`),
    giving up on a request that got no answer within the read timeout after
    :data:`~fsartifacts.retry.TIMEOUT_TRIES` tries, and lenient about ``Retry-After``: a
    fractional number of seconds is honoured and an unreadable value means "back off as
    usual" (urllib3 would fail the request with InvalidHeader)."""

    where = ""  # the URL of the last failed try, scheme and host included, for the message

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _Retry:
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            timeouts = 1 + sum(
                isinstance(h.error, urllib3.exceptions.ReadTimeoutError) for h in self.history
            )
            if timeouts >= TIMEOUT_TRIES:
                raise urllib3.exceptions.MaxRetryError(_pool, url or "", error) from error
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        if _pool is not None:
            new.where = f"{_pool.scheme}://{_pool.host}:{_pool.port}{url or ''}"
        return new

    def get_backoff_time(self) -> float:
        return retry_delay(len(self.history))

    def sleep(self, response: Any = None) -> None:
        delay = 0.0
        if self.respect_retry_after_header and response is not None:
            delay = min(self.get_retry_after(response) or 0.0, float(self.retry_after_max))
        if not delay:
            delay = self.get_backoff_time()
        last = self.history[-1] if self.history else None
        method = last.method if last is not None else "request"
        reason = _reason(last.error, last.status) if last is not None else "failed"
        tries = len(self.history) + (self.total if isinstance(self.total, int) else 0) + 1
        pause_before_retry(f"{method} {self.where}", delay, len(self.history) + 1, tries, reason)

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                return super().parse_retry_after(retry_after)
            except urllib3.exceptions.InvalidHeader:
                return 0.0
        return max(0.0, seconds) if seconds == seconds else 0.0  # NaN: no delay


def _reason(error: Exception | None, status: int | None) -> str:
    """Why a try failed, in a few words."""
    if status:
        return f"HTTP {status}"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "no answer in time (read timed out)"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "cannot connect"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return f"connection broken ({error.args[0] if error.args else error})"
    return str(error) if error else "failed"


def retry_after_seconds(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(float(RETRY_AFTER_MAX), _Retry().parse_retry_after(value))
    except ValueError:
        return None


def normalise_url(url: str) -> tuple[str, str | None, str | None]:
    """(base URL without trailing slash or userinfo, user, password from the URL)."""
    parts = urlsplit(with_scheme(url.strip()))
    user = parts.username
    password = parts.password
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return clean, user, password


def build_auth(
    *,
    user: str | None,
    password: str | None,
    token: str | None,
    api_key: str | None,
    anon: bool,
) -> HeaderAuth:
    """The auth object for explicit credentials, else $ARTIFACTORY_USER/$ARTIFACTORY_TOKEN."""
    secrets = [s for s in (password, token, api_key) if s]
    if len(secrets) > 1:
        raise ValueError("give only one of password, token and api_key")
    if anon:
        return HeaderAuth({}, "anonymous")
    if not secrets and not user:
        return EnvironmentAuth()
    if user and not secrets:
        raise ValueError(f"user {user!r} given without a password or token")
    return HeaderAuth(*credential_headers(user, password or token, api_key, source="given"))


def credential_headers(
    user: str | None, secret: str | None, api_key: str | None, *, source: str
) -> tuple[dict[str, str], str]:
    """(headers, kind) for an API key, a user with a password or token, or a Bearer token."""
    if api_key:
        return {"X-JFrog-Art-Api": api_key}, f"API key ({source})"
    if user:
        pair = base64.b64encode(f"{user}:{secret or ''}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}, f"user {user!r} ({source})"
    return {"Authorization": f"Bearer {secret or ''}"}, f"bearer token ({source})"


class _Adapter(HTTPAdapter):
    """requests' adapter, with three costs of every request taken out.

    The connection pool of a host is looked up once, not per request: requests parses
    the URL again, selects the proxy and builds urllib3's pool key and TLS settings each
    time (and twice more for the request line, which is the path unless a proxy is
    set). The pool is kept while the host, the TLS settings and the proxies are those
    of the last request and urllib3 has not closed it (a PoolManager closes the pools it
    evicts). No cookie is read from an answer: none is kept. And the answers' headers
    are read without the email package (:mod:`~fsartifacts.artifactoryfs.connections`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: tuple[tuple[Any, ...], Any] | None = None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        use_lean_answers(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return use_lean_answers(super().proxy_manager_for(proxy, **proxy_kwargs))

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> Any:  # urllib3's HTTPConnectionPool
        parts = urlsplit(request.url or "")
        key = (parts.scheme, parts.netloc, verify, cert, *sorted((proxies or {}).items()))
        last = self._last
        if last is not None and last[0] == key and last[1].pool is not None:
            return last[1]
        pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
        self._last = (key, pool)
        return pool

    def request_url(
        self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None
    ) -> str:
        # With no proxy at all the request line is the path, whatever the URL: requests
        # would parse the URL twice per request (selecting no proxy) to find that out.
        if not proxies:
            return request.path_url
        return str(super().request_url(request, dict(proxies)))

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = requests.structures.CaseInsensitiveDict(resp.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        url = req.url or ""
        response.url = url.decode("utf-8") if isinstance(url, bytes) else url
        response.request = req
        response.connection = self
        return response


def new_session(auth: HeaderAuth, attempts: int) -> requests.Session:
    """A Session for one thread: ``auth``, no cookies, ``attempts`` tries per idempotent request."""
    session = _Session()
    session.auth = auth
    session.cookies = refusing_cookie_jar()
    retry = _Retry(
        total=attempts - 1,
        redirect=False,
        backoff_max=BACKOFF_MAX,
        status_forcelist=sorted(RETRY_STATUSES),
        allowed_methods=IDEMPOTENT_METHODS,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
    )
    adapter = _Adapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "fsartifacts " + requests.utils.default_user_agent()
    session.hooks["response"].append(_log_response)
    return session


def refusing_cookie_jar() -> requests.cookies.RequestsCookieJar:
    """A cookie jar that keeps none: cookies would follow redirects to other ports of the
    same host, and nothing this filesystem talks to needs them."""
    jar = requests.cookies.RequestsCookieJar()
    jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return jar


def _log_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """``-v``: each request's method, URL (no password, no query) and status."""
    method = response.request.method if response.request is not None else "?"
    log.info("%s %s: HTTP %d", method, shown_url(response.url or ""), response.status_code)
