"""What the S3 client refuses before a request goes out or its answer is read: credentials
that cannot travel in a header, and answers that are not S3's.

Both are the configuration's to fix (exit 2), and are found on the client's first use,
so no command mistakes them for something else: a key with a line break in it (pasted
with its newline) fails in the HTTP layer as a "header injection" with no word of which
setting holds it, and an endpoint that answers every request with a 200 HTML page (a
captive portal, the URL of a web server) lists as an empty bucket and even takes pushes.
"""

from __future__ import annotations

from typing import Any

from fsartifacts.errors import ConfigError, StoreNotFoundError
from fsartifacts.escaping import has_control_characters

# Where each way botocore finds credentials keeps each part: (access key, secret, token).
_SETTINGS = {
    "env": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    "shared-credentials-file": (
        "aws_access_key_id in the AWS credentials file",
        "aws_secret_access_key in the AWS credentials file",
        "aws_session_token in the AWS credentials file",
    ),
    "config-file": (
        "aws_access_key_id in the AWS config file",
        "aws_secret_access_key in the AWS config file",
        "aws_session_token in the AWS config file",
    ),
}
_PARTS = ("access key id", "secret access key", "session token")


async def check_credentials(session: Any) -> None:
    """Refuse credentials of ``session`` (aiobotocore's) that hold control characters (a
    line break, a tab) or surrounding spaces, naming the setting that holds them and
    never their value."""
    credentials = await session.get_credentials()
    if credentials is None:
        return  # none at all: the first request says so, with the ways to give them
    frozen = await credentials.get_frozen_credentials()
    method = str(getattr(credentials, "method", "") or "")
    for n, value in enumerate((frozen.access_key, frozen.secret_key, frozen.token)):
        if value and (has_control_characters(value) or value != value.strip()):
            setting = _SETTINGS.get(method, (None,) * 3)[n] or (
                f"the AWS {_PARTS[n]} (from {method or 'the credential chain'})"
            )
            raise ConfigError(
                f"{setting} holds a line break, a tab or spaces around it (copied with "
                "them?); set it again without them"
            )


def refuse_html_answers(client: Any) -> None:
    """Make ``client`` refuse any answer whose body is an HTML page: S3 answers in XML (or
    with no body), so the endpoint is not S3, whatever the status says. The body is what
    tells: a header does not (some S3-compatible servers label an empty answer
    ``text/html``, and an object's own type is whatever it was pushed with), and the
    body of an object being downloaded is never looked at. A 429 or 5xx page is no such
    sign: a proxy words the failure of the S3 behind it so (nginx's 502, a load
    balancer's 503), and it is tried again as S3's own would be."""
    endpoint = str(client.meta.endpoint_url)

    def refuse(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        answer = response_dict or {}
        status = int(answer.get("status_code") or 0)
        if status >= 500 or status == 429:
            return
        body = answer.get("body")
        if isinstance(body, bytes | bytearray) and _is_html(body):
            raise StoreNotFoundError(
                f"{endpoint} answered with an HTML page, not S3's API (a web server, a "
                "captive portal or a proxy's page): this is not an S3 endpoint; check "
                "repository.s3.endpoint_url (and the network)"
            )

    client.meta.events.register("before-parse.s3", refuse)


def _is_html(body: bytes | bytearray) -> bool:
    start = bytes(body[:256]).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))
