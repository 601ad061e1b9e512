"""Artifactory credentials: where they come from, and keeping them out of sight.

:func:`resolve_credentials` is called once per run and looks in this order,
the first source holding a secret winning:

1. the command line: ``-t/--token`` or ``--token-stdin`` (with ``-u/--user``);
2. ``$ARTIFACTORY_TOKEN`` (with ``$ARTIFACTORY_USER``);
3. ``~/.netrc`` (or ``$NETRC``), the entry for the host: user_pass only;
4. with ``auth.aws: true``, AWS Secrets Manager: a JSON secret with the keys
   ``user`` and ``token``, or a plain string that is the token;
5. a prompt, only when stdin is a terminal and never with ``auth.aws: true``;
6. else anonymous: a server that wants credentials then answers 401, which the
   store words as :func:`~fsartifacts.stores.artifactory.store.missing_credentials_error`
   (exit 2).

How partial sources combine. A user name from ``-u`` (or else from
``$ARTIFACTORY_USER``) is *the* user of the run: it goes with a secret that
has no user of its own (``-t``, ``--token-stdin``, ``$ARTIFACTORY_TOKEN``, a
plain-string AWS secret, the password prompt). A source that stores a user
with its secret is never split: a ``~/.netrc`` entry for another login is
passed over, and an AWS secret naming another user is an error. ``-u`` with
no secret anywhere is an error (exit 2) rather than a silent anonymous run;
``$ARTIFACTORY_USER`` alone only names the user to ask a password for.
user_pass needs a user: a secret without one is an error, or, at a terminal,
the user name is asked. ``token`` keeps a user only for messages; ``api_key``
has none. ``authType: none`` is anonymous whatever else is given.

``awsProfile`` defaults to no profile, i.e. the standard AWS chain
(``$AWS_PROFILE``, environment keys, instance roles), as skelebot does since
its default-profile fix: naming a profile, even ``default``, makes botocore
ignore the ``AWS_ACCESS_KEY_ID`` variables CI jobs usually provide.
``awsRegion`` defaults to us-east-1 and ``awsSecret`` to ``Artifactory``, as
in skelebot. The secret is read by :mod:`fsartifacts.stores.artifactory.secrets`.

No secret is ever part of a message, ``repr`` or log line: errors name the
source instead, and :func:`fsartifacts.redaction.install_secret_filter` scrubs log
records.
"""

from __future__ import annotations

import getpass
import logging
import netrc
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import AuthError, ConfigError
from fsartifacts.home import user_home
from fsartifacts.stores.artifactory.secrets import parse_aws_secret, read_aws_secret
from fsartifacts.stores.artifactory.settings import AUTH_KEY, AuthSettings, AuthType

ENV_USER = "ARTIFACTORY_USER"
ENV_TOKEN = "ARTIFACTORY_TOKEN"

_SECRET_NOUNS = {"user_pass": "password", "token": "access token", "api_key": "API key"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What to authenticate with, and where it came from (for messages)."""

    auth_type: AuthType
    user: str | None = None
    secret: str | None = field(default=None, repr=False)  # password, token or API key
    source: str = ""

    def __post_init__(self) -> None:
        if self.auth_type not in _SECRET_NOUNS and self.auth_type != "none":
            raise ValueError(f"unknown auth_type {self.auth_type!r}")

    @property
    def anonymous(self) -> bool:
        return self.auth_type == "none" or not self.secret

    def describe(self) -> str:
        """``access token from --token-stdin``: what and where, never the value."""
        if self.anonymous:
            return "no credentials (anonymous)"
        noun = _SECRET_NOUNS[self.auth_type]
        of_user = f" of user '{self.user}'" if self.user else ""
        return f"{noun}{of_user} from {self.source}"


ANONYMOUS = Credentials("none", source="anonymous")


# --------------------------------------------------------------------------- resolution


def resolve_credentials(
    auth: AuthSettings | Mapping[str, Any] | None,
    host: str,
    *,
    user: str | None = None,
    token: str | None = None,
    token_stdin: bool = False,
    stdin: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    netrc_path: str | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] | None = None,
    transfer: TransferSettings | None = None,
) -> Credentials:
    """Find the Artifactory credentials of this run, in the order of the module docstring.

    ``transfer`` bounds the wait on AWS Secrets Manager (its timeout and attempts)."""
    settings = auth if isinstance(auth, AuthSettings) else AuthSettings.from_config(auth)
    stdin = sys.stdin if stdin is None else stdin
    environ = os.environ if environ is None else environ
    if settings.auth_type == "none":
        if user or token or token_stdin:
            log.warning("authType is none: -u/-t/--token-stdin are ignored, requests go anonymous")
        return ANONYMOUS
    if token is not None and token_stdin:
        raise ConfigError("-t/--token and --token-stdin were both given: use one of them")

    if interactive is None:
        interactive = _is_terminal(stdin)
    resolver = _Resolver(settings, host, environ, interactive and not settings.aws, prompt, stdin)
    resolver.transfer = transfer or TransferSettings()
    credentials = resolver.resolve(
        cli_user=user or None,
        cli_secret=_read_token_stdin(stdin) if token_stdin else (token or None),
        cli_source="--token-stdin" if token_stdin else "--token",
        netrc_path=netrc_path,
    )
    log.debug("Artifactory credentials: %s", credentials.describe())
    return credentials


class _Resolver:
    """One resolution: the settings plus the user name pinned by -u or $ARTIFACTORY_USER."""

    def __init__(
        self,
        settings: AuthSettings,
        host: str,
        environ: Mapping[str, str],
        may_prompt: bool,
        prompt: Callable[[str], str] | None,
        stdin: TextIO,
    ) -> None:
        self.settings = settings
        self.auth_type = settings.auth_type
        self.host = host
        self.environ = environ
        self.may_prompt = may_prompt
        self.prompt = prompt
        self.stdin = stdin
        self.user: str | None = None
        self.user_source = ""
        self.transfer = TransferSettings()

    def resolve(
        self,
        *,
        cli_user: str | None,
        cli_secret: str | None,
        cli_source: str,
        netrc_path: str | None,
    ) -> Credentials:
        env_user = self.environ.get(ENV_USER) or None
        if self.auth_type != "api_key":  # an API key carries its user; any other is ignored
            if cli_user:
                self.user, self.user_source = cli_user, "-u"
            elif env_user:
                self.user, self.user_source = env_user, f"${ENV_USER}"

        if cli_secret:
            return self._with_pinned_user(cli_secret, cli_source)
        env_secret = self.environ.get(ENV_TOKEN) or None
        if env_secret:
            return self._with_pinned_user(env_secret, f"${ENV_TOKEN}")
        if self.auth_type == "user_pass":
            location = _netrc_location(netrc_path, self.environ)
            from_netrc = None if location is None else self._from_netrc(location)
            if from_netrc is not None:
                return from_netrc
        if self.settings.aws:
            return self._from_aws()
        if self.may_prompt:
            return self._from_prompt()
        if cli_user and self.auth_type != "api_key":
            noun = _SECRET_NOUNS[self.auth_type]
            raise AuthError(
                f"-u {cli_user} was given but no {noun} was found for it: add -t TOKEN or "
                f"--token-stdin, set ${ENV_TOKEN}, or add a ~/.netrc entry for {self.host} "
                f"with login {cli_user}",
                missing_credentials=True,
            )
        if self.user:
            log.info("$%s is set but no secret was found for it: going anonymous", ENV_USER)
        return ANONYMOUS

    def _with_pinned_user(self, secret: str, secret_source: str) -> Credentials:
        """A secret that has no user of its own takes the pinned user (or asks for one)."""
        if self.auth_type != "user_pass" or self.user:
            source = secret_source
            # "--token" with -u, "$ARTIFACTORY_TOKEN" with "$ARTIFACTORY_USER": one place.
            same_place = secret_source.startswith("--") == (self.user_source == "-u")
            if self.user and not same_place:
                source = f"{secret_source} (user from {self.user_source})"
            return _finished(self.auth_type, self.user, secret, source)
        if self.may_prompt:
            user = self._ask_user()
            if user:
                return _finished("user_pass", user, secret, f"{secret_source} (user from prompt)")
            log.info("No user name entered: going anonymous")
            return ANONYMOUS
        raise AuthError(
            f"{secret_source} gives a password, but authType user_pass also needs a user name: "
            f"add -u USER or set ${ENV_USER} (or, for an access token, set "
            f"{AUTH_KEY}.authType: token)",
            missing_credentials=True,
        )

    def _from_netrc(self, path: str) -> Credentials | None:
        entry = _netrc_entry(path, self.host)
        if entry is None:
            return None
        login, password = entry
        if not password:
            return None
        if login and self.user and login != self.user:
            log.debug(
                "%s: the entry for %s is for another user than %s", path, self.host, self.user
            )
            return None
        user = self.user or login
        if not user:
            log.debug("%s: the entry for %s has no login", path, self.host)
            return None
        return _finished("user_pass", user, password, _display_path(path))

    def _from_aws(self) -> Credentials:
        s = self.settings
        text = read_aws_secret(
            s.aws_secret, profile=s.aws_profile, region=s.aws_region, transfer=self.transfer
        )
        secret_user, secret = parse_aws_secret(text, s.aws_secret)
        source = f"AWS Secrets Manager (secret '{s.aws_secret}')"
        if self.auth_type == "api_key":
            return _finished("api_key", None, secret, source)
        if secret_user and self.user and secret_user != self.user:
            raise AuthError(
                f"{source} holds the credentials of user '{secret_user}', but {self.user_source} "
                f"says '{self.user}': drop {self.user_source} or point "
                f"{AUTH_KEY}.awsSecret at that user's secret",
                missing_credentials=True,
            )
        user = self.user or secret_user
        if user and not secret_user:
            source = f"{source} (user from {self.user_source})"
        if self.auth_type == "user_pass" and not user:
            raise AuthError(
                f'{source} has no "user" for authType user_pass: store the secret as JSON '
                f'{{"user": ..., "token": ...}}, add -u USER, or set {AUTH_KEY}.authType: token',
                missing_credentials=True,
            )
        return _finished(self.auth_type, user, secret, source)

    def _from_prompt(self) -> Credentials:
        user = self.user
        if self.auth_type == "user_pass" and not user:
            user = self._ask_user()
            if not user:
                log.info("No user name entered: going anonymous")
                return ANONYMOUS
        noun = _SECRET_NOUNS[self.auth_type]
        whose = f"{user}@{self.host}" if user else f"{self.host} (empty for anonymous)"
        secret = self._ask(f"Artifactory {noun} for {whose}: ", hidden=True)
        if not secret:
            log.info("No %s entered: going anonymous", noun)
            return ANONYMOUS
        return _finished(self.auth_type, user, secret, "prompt")

    def _ask_user(self) -> str:
        return self._ask(f"Artifactory user for {self.host} (empty for anonymous): ").strip()

    def _ask(self, message: str, *, hidden: bool = False) -> str:
        try:
            if self.prompt is not None:
                return self.prompt(message)
            if hidden:
                return getpass.getpass(message, stream=sys.stderr)
            # Not input(): it writes the prompt to stdout, which belongs to results.
            sys.stderr.write(message)
            sys.stderr.flush()
            return self.stdin.readline().rstrip("\r\n")
        except EOFError:
            return ""


def _finished(auth_type: AuthType, user: str | None, secret: str, source: str) -> Credentials:
    """Check a found secret can travel in an HTTP header, then wrap it."""
    if auth_type != "user_pass":
        # Tokens never contain spaces; a pasted one often ends with a newline.
        secret = secret.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in secret):
        # requests would reject the header and quote the value in its exception.
        raise AuthError(
            f"the {_SECRET_NOUNS[auth_type]} from {source} contains a line break or another "
            "control character: fix it where it is stored",
            missing_credentials=True,
        )
    if auth_type != "user_pass" and not secret.isascii():
        # Sent as is in a header, which carries no such character (a password travels
        # base64-encoded); often a typographic quote or dash that came with a paste.
        raise AuthError(
            f"the {_SECRET_NOUNS[auth_type]} from {source} contains a character that is not "
            "ASCII (a typographic quote or dash from a paste?): fix it where it is stored",
            missing_credentials=True,
        )
    if auth_type == "user_pass" and user and ":" in user:
        raise AuthError(
            f"the user name from {source} contains ':', which HTTP basic auth cannot carry",
            missing_credentials=True,
        )
    return Credentials(auth_type, user if auth_type != "api_key" else None, secret, source)


def _read_token_stdin(stdin: TextIO) -> str:
    text = stdin.read()
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise AuthError("--token-stdin read an empty token from stdin", missing_credentials=True)
    return text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# ------------------------------------------------------------------------------- ~/.netrc


def _netrc_location(netrc_path: str | None, environ: Mapping[str, str]) -> str | None:
    """The netrc file to read; None without one (no home folder, no ``$NETRC``)."""
    if netrc_path:
        return netrc_path
    if environ.get("NETRC"):
        return environ["NETRC"]
    home = user_home(environ)
    return None if home is None else os.path.join(home, ".netrc")


def _display_path(path: str) -> str:
    home = user_home()
    if home is not None and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def _netrc_entry(path: str, host: str) -> tuple[str, str] | None:
    """(login, password) for host, or the file's default entry, or None."""
    try:
        parsed = netrc.netrc(path)
    except FileNotFoundError:
        return None
    except netrc.NetrcParseError as exc:
        # Its message can quote a token of the file, i.e. perhaps a password: leave it out.
        log.warning("Ignoring %s: it cannot be parsed (line %s)", _display_path(path), exc.lineno)
        return None
    except OSError as exc:
        log.warning("Ignoring %s: %s", _display_path(path), exc.strerror or exc)
        return None
    wanted = host.lower()
    for machine, (login, _account, password) in parsed.hosts.items():
        if machine.lower() == wanted:
            return login or "", password or ""
    found = parsed.authenticators(host)  # falls back to a `default` entry
    if found is None:
        return None
    login, _account, password = found
    return login or "", password or ""
