"""How every request of ``artifactory://`` goes out: prepared here, sent on the Session's adapter.

``requests.Session.request`` costs about a millisecond of CPU a request before and
after the wire: a ``Request`` turned into a ``PreparedRequest`` by merging the
Session's headers, cookies, auth, hooks and params one setting at a time (each
merge a Protocol check and a copy), the URL parsed and requoted, cookies
extracted from every answer, the redirect generator run even when redirects are
off. For a folder of 2,000 small files that is most of the client's CPU. Here a
request is prepared from what this filesystem ever sends (its own headers, the
Session's, the auth's, a body) and handed to the Session's adapter, which keeps
what matters on the wire: urllib3's pool, its retries and timeouts, proxies and
TLS. What the Session still decides is asked of it, once per host where it can
be: proxies and the CA bundle (:meth:`~fsartifacts.artifactoryfs.http.merge_environment_settings`),
and a redirect, followed by its own ``resolve_redirects`` (so its ``rebuild_auth``
strips credentials leaving the host), with a cookie jar that keeps nothing.
"""

from __future__ import annotations

import re
from typing import Any

import requests
import requests.auth
from requests.hooks import dispatch_hook
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity

from fsartifacts.artifactoryfs.http import refusing_cookie_jar

# A URL already in the form it goes on the wire: http(s), printable ASCII that needs no
# quoting. Every URL the client builds is (its paths are quoted); anything else, such
# as a Location a server sent, is prepared by requests (IDNA, requoting, its errors).
_WIRE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")


def prepare(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    data: Any = None,
    json: Any = None,
) -> requests.PreparedRequest:
    """The request requests would prepare for ``session``: its headers, then ``headers``,
    then the auth's; the body with its Content-Length (chunked when unknown)."""
    request = requests.PreparedRequest()
    request.method = method.upper()
    if _WIRE_URL.match(url):
        request.url = url
    else:
        request.prepare_url(url, None)
    merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(session.headers)
    if headers:
        for name, value in headers.items():
            if value is None:  # requests' way of removing a Session header
                merged.pop(name, None)
            else:
                merged[name] = value
    request.headers = merged
    if data is not None or json is not None or request.method not in ("GET", "HEAD"):
        request.prepare_body(data, None, json)
    if isinstance(session.auth, requests.auth.AuthBase):
        session.auth(request)
    for header in merged.items():
        _check_header(*header)
    request.hooks = session.hooks  # the log of each answer, redirects' included
    return request


def _check_header(name: str, value: Any) -> None:
    """Refuse a header that could split the request (a line break, leading whitespace) or
    that http.client cannot write (a character beyond Latin-1, which it would fail on deep
    in urllib3 as a UnicodeEncodeError), naming the header only: its value may be a
    credential, and requests' own message quotes it."""
    try:
        check_header_validity((name, value))
        if isinstance(value, str):
            value.encode("latin-1")
    except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
        raise requests.exceptions.InvalidHeader(
            f"the {name} header cannot be sent: its value holds a line break, leading "
            "whitespace or a character beyond Latin-1 (the value is not shown)"
        ) from None


def send(
    session: requests.Session,
    request: requests.PreparedRequest,
    *,
    stream: bool = False,
    allow_redirects: bool = True,
    timeout: Any = None,
    verify: bool | str = True,
    cert: Any = None,
) -> requests.Response:
    """Send ``request`` on ``session``'s adapter; follow a redirect through the Session."""
    url = request.url or ""
    settings: Any = session.merge_environment_settings(url, {}, stream, verify, cert)
    adapter = session.get_adapter(url)
    response = adapter.send(request, timeout=timeout, **settings)
    response = dispatch_hook("response", request.hooks, response)
    if allow_redirects and response.is_redirect:
        request._cookies = refusing_cookie_jar()  # type: ignore[attr-defined]
        hops = list(session.resolve_redirects(response, request, timeout=timeout, **settings))
        hops.insert(0, response)
        response = hops.pop()
        response.history = hops
    if not stream:
        _ = response.content
    return response
