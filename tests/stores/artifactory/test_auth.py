"""Artifactory credential sources, their order, and redaction."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.errors import EXIT_USAGE, AuthError, ConfigError
from fsartifacts.redaction import (
    SecretFilter,
    install_secret_filter,
    redact,
    uninstall_secret_filter,
)
from fsartifacts.stores.artifactory import auth
from fsartifacts.stores.artifactory.auth import (
    Credentials,
    resolve_credentials,
)
from fsartifacts.stores.artifactory.settings import AuthSettings

HOST = "artifactory.example.com"
TOKEN = "tok-3f9a1c77e0b24d"
PASSWORD = "pw-8c1d5e2b"


def not_a_terminal() -> io.StringIO:
    return io.StringIO("")


class Prompt:
    """A scripted person at the terminal: answers in order, remembers the questions."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, question: str) -> str:
        self.questions.append(question)
        return self.answers.pop(0)


def resolve(auth_config: dict[str, Any] | None = None, **kwargs: Any) -> Credentials:
    """resolve_credentials with nothing ambient: no env, no netrc, no terminal."""
    kwargs.setdefault("environ", {})
    kwargs.setdefault("netrc_path", os.devnull)
    kwargs.setdefault("stdin", not_a_terminal())
    return resolve_credentials(auth_config, HOST, **kwargs)


def write_netrc(tmp_path: Path, text: str) -> str:
    path = tmp_path / "netrc"
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------------- Credentials


def test_credentials_repr_and_str_never_show_the_secret() -> None:
    creds = Credentials("user_pass", "alice", PASSWORD, "--token")
    for text in (repr(creds), str(creds), creds.describe(), f"{creds}", f"{creds!r}"):
        assert PASSWORD not in text
    assert "alice" in repr(creds) and "--token" in repr(creds)


def test_credentials_anonymous() -> None:
    assert Credentials("none", source="anonymous").anonymous
    assert Credentials("token", secret=None).anonymous
    assert not Credentials("token", secret=TOKEN, source="--token").anonymous


def test_credentials_reject_an_unknown_auth_type() -> None:
    with pytest.raises(ValueError):
        Credentials("bearer", secret=TOKEN)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- settings


def test_settings_defaults_follow_skelebot() -> None:
    settings = AuthSettings.from_config(None)
    assert settings == AuthSettings("user_pass", False, "Artifactory", None, "us-east-1")


def test_settings_apikey_is_an_alias_of_api_key_and_aws_accepts_expanded_strings() -> None:
    settings = AuthSettings.from_config({"authType": "apikey", "aws": "True"})
    assert settings.auth_type == "api_key"
    assert settings.aws is True


@pytest.mark.parametrize(
    ("config", "key"),
    [({"authType": "oauth"}, "authType"), ({"aws": "maybe"}, "aws")],
)
def test_settings_errors_name_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"repository\.artifactory\.auth\.{key}") as caught:
        resolve(config, token=TOKEN)
    assert caught.value.exit_code == EXIT_USAGE


# ---------------------------------------------------------------------------- the order


def test_auth_type_none_is_anonymous_whatever_is_given() -> None:
    stdin = io.StringIO(TOKEN)
    creds = resolve(
        {"authType": "none"},
        user="alice",
        token_stdin=True,
        stdin=stdin,
        environ={"ARTIFACTORY_USER": "bob", "ARTIFACTORY_TOKEN": TOKEN},
    )
    assert creds == Credentials("none", source="anonymous")
    assert stdin.tell() == 0  # stdin was not consumed


def test_command_line_wins_over_environment_and_netrc(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password netrc-pw\n")
    creds = resolve(
        user="alice",
        token=PASSWORD,
        environ={"ARTIFACTORY_USER": "bob", "ARTIFACTORY_TOKEN": "env-pw"},
        netrc_path=netrc,
    )
    assert creds == Credentials("user_pass", "alice", PASSWORD, "--token")


def test_environment_wins_over_netrc(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password netrc-pw\n")
    creds = resolve(
        environ={"ARTIFACTORY_USER": "bob", "ARTIFACTORY_TOKEN": PASSWORD}, netrc_path=netrc
    )
    assert creds == Credentials("user_pass", "bob", PASSWORD, "$ARTIFACTORY_TOKEN")


def test_user_from_the_command_line_goes_with_the_token_from_the_environment() -> None:
    creds = resolve(user="alice", environ={"ARTIFACTORY_USER": "bob", "ARTIFACTORY_TOKEN": TOKEN})
    assert (creds.user, creds.secret) == ("alice", TOKEN)
    assert creds.source == "$ARTIFACTORY_TOKEN (user from -u)"


def test_token_from_the_command_line_takes_the_user_from_the_environment() -> None:
    creds = resolve(token=PASSWORD, environ={"ARTIFACTORY_USER": "bob"})
    assert (creds.user, creds.secret) == ("bob", PASSWORD)
    assert creds.source == "--token (user from $ARTIFACTORY_USER)"


def test_token_auth_needs_no_user() -> None:
    creds = resolve({"authType": "token"}, environ={"ARTIFACTORY_TOKEN": TOKEN})
    assert creds == Credentials("token", None, TOKEN, "$ARTIFACTORY_TOKEN")


def test_api_key_auth_ignores_the_user() -> None:
    creds = resolve({"authType": "api_key"}, user="alice", token=TOKEN)
    assert creds == Credentials("api_key", None, TOKEN, "--token")


def test_tokens_are_stripped_of_pasted_whitespace_passwords_are_not() -> None:
    assert resolve({"authType": "token"}, token=f"  {TOKEN} ").secret == TOKEN
    assert resolve(user="alice", token=" pass word ").secret == " pass word "


def test_user_pass_secret_without_a_user_is_an_error_outside_a_terminal() -> None:
    with pytest.raises(AuthError, match=r"ARTIFACTORY_USER") as caught:
        resolve(environ={"ARTIFACTORY_TOKEN": PASSWORD})
    assert caught.value.exit_code == EXIT_USAGE
    assert PASSWORD not in str(caught.value)


def test_user_pass_secret_without_a_user_asks_the_user_name_at_a_terminal() -> None:
    prompt = Prompt("dave")
    creds = resolve(environ={"ARTIFACTORY_TOKEN": PASSWORD}, interactive=True, prompt=prompt)
    assert (creds.user, creds.secret) == ("dave", PASSWORD)
    assert len(prompt.questions) == 1 and HOST in prompt.questions[0]


def test_the_default_user_name_prompt_reads_stdin_and_writes_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = resolve(
        environ={"ARTIFACTORY_TOKEN": PASSWORD}, interactive=True, stdin=io.StringIO("erin\n")
    )
    assert creds.user == "erin"
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is for results
    assert "Artifactory user" in captured.err


def test_user_given_alone_with_nothing_to_go_with_it_is_an_error() -> None:
    with pytest.raises(AuthError, match=r"-u alice") as caught:
        resolve(user="alice")
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.missing_credentials


def test_environment_user_alone_goes_anonymous() -> None:
    assert resolve(environ={"ARTIFACTORY_USER": "bob"}).anonymous


def test_nothing_anywhere_is_anonymous() -> None:
    assert resolve() == Credentials("none", source="anonymous")


def test_a_control_character_in_a_secret_is_refused_without_quoting_it() -> None:
    with pytest.raises(AuthError) as caught:
        resolve(user="alice", token="abc\r\nX-Evil: 1")
    assert "abc" not in str(caught.value) and "--token" in str(caught.value)


@pytest.mark.parametrize("auth_type", ["token", "api_key"])
def test_a_character_no_http_header_can_carry_is_refused_without_quoting_it(
    auth_type: str,
) -> None:
    """A token pasted with a typographic quote: http.client cannot write it into the header
    (it failed the request as an internal error)."""
    with pytest.raises(AuthError) as caught:
        resolve({"authType": auth_type}, token="abc\u2019def")
    assert "abc" not in str(caught.value) and "ASCII" in str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE


def test_a_password_travels_encoded_so_any_character_is_accepted() -> None:
    creds = resolve(user="alice", token="pässwörd\u2019")
    assert creds == Credentials("user_pass", "alice", "pässwörd\u2019", "--token")


def test_token_and_token_stdin_together_are_a_usage_error() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(token=TOKEN, token_stdin=True, stdin=io.StringIO(TOKEN))
    assert caught.value.exit_code == EXIT_USAGE


# --------------------------------------------------------------------------- --token-stdin


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_token_stdin_strips_one_trailing_newline(ending: str) -> None:
    creds = resolve(user="alice", token_stdin=True, stdin=io.StringIO(f"p w{ending}"))
    assert creds == Credentials("user_pass", "alice", "p w", "--token-stdin")


def test_token_stdin_from_a_real_pipe() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as writer:
        writer.write(TOKEN + "\n")
    with os.fdopen(read_end) as reader:
        creds = resolve({"authType": "token"}, token_stdin=True, stdin=reader)
    assert creds == Credentials("token", None, TOKEN, "--token-stdin")


def test_token_stdin_empty_is_a_usage_error() -> None:
    with pytest.raises(AuthError, match="empty") as caught:
        resolve({"authType": "token"}, token_stdin=True, stdin=io.StringIO("\n"))
    assert caught.value.exit_code == EXIT_USAGE


# -------------------------------------------------------------------------------- ~/.netrc


def test_netrc_entry_for_the_host(tmp_path: Path) -> None:
    netrc = write_netrc(
        tmp_path,
        f"machine other.example.com login x password y\n"
        f"machine {HOST.upper()}\n  login carol\n  password {PASSWORD}\n",
    )
    creds = resolve(netrc_path=netrc)
    assert creds == Credentials("user_pass", "carol", PASSWORD, netrc)


def test_netrc_default_entry(tmp_path: Path) -> None:
    netrc = write_netrc(
        tmp_path,
        f"machine other.example.com login x password y\ndefault login carol password {PASSWORD}\n",
    )
    assert resolve(netrc_path=netrc).user == "carol"


def test_netrc_location_comes_from_NETRC(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password {PASSWORD}\n")
    creds = resolve_credentials(None, HOST, environ={"NETRC": netrc}, stdin=not_a_terminal())
    assert (creds.user, creds.secret, creds.source) == ("carol", PASSWORD, netrc)


def test_netrc_is_looked_for_in_the_home_folder_of_the_environment_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".netrc").write_text(f"machine {HOST} login carol password {PASSWORD}\n")
    creds = resolve_credentials(None, HOST, environ={"HOME": str(tmp_path)}, stdin=not_a_terminal())
    assert (creds.user, creds.secret) == ("carol", PASSWORD)
    # An empty $HOME is no home folder: no ~/.netrc is read (neither "/.netrc" nor the
    # process's own home).
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_credentials(None, HOST, environ={"HOME": ""}, stdin=not_a_terminal()).anonymous


def test_netrc_entry_of_the_same_user_as_u_is_used(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password {PASSWORD}\n")
    assert resolve(user="carol", netrc_path=netrc).secret == PASSWORD


def test_netrc_entry_of_another_user_is_not_mixed_with_u(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password {PASSWORD}\n")
    with pytest.raises(AuthError, match="-u alice"):
        resolve(user="alice", netrc_path=netrc)


def test_netrc_is_for_user_pass_only(tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password {PASSWORD}\n")
    assert resolve({"authType": "token"}, netrc_path=netrc).anonymous


def test_netrc_missing_file_is_skipped(tmp_path: Path) -> None:
    assert resolve(netrc_path=str(tmp_path / "absent")).anonymous


def test_netrc_parse_error_is_a_warning_that_quotes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password\n{PASSWORD} bogus\n")
    with caplog.at_level(logging.DEBUG, logger="fsartifacts"):
        assert resolve(netrc_path=netrc).anonymous
    assert "cannot be parsed" in caplog.text
    assert "bogus" not in caplog.text


# --------------------------------------------------------------------- AWS Secrets Manager


@pytest.fixture
def secrets_manager(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Point botocore at moto; return a function creating a uniquely named secret."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server)

    def create(value: str | bytes, region: str = "us-east-1") -> str:
        name = f"artifactory-{uuid.uuid4().hex[:8]}"
        client = boto3.client("secretsmanager", region_name=region, endpoint_url=moto_server)
        if isinstance(value, bytes):
            client.create_secret(Name=name, SecretBinary=value)
        else:
            client.create_secret(Name=name, SecretString=value)
        return name

    return create


@pytest.fixture
def aws_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts Secrets Manager reads; each one still goes to the server."""
    calls: list[str] = []
    real = auth.read_aws_secret

    def counting(secret_id: str, **kwargs: Any) -> str:
        calls.append(secret_id)
        return real(secret_id, **kwargs)

    monkeypatch.setattr(auth, "read_aws_secret", counting)
    return calls


def test_aws_json_secret(secrets_manager: Callable[..., str], aws_reads: list[str]) -> None:
    name = secrets_manager(f'{{"user": "svc", "token": "{PASSWORD}"}}', region="eu-west-1")
    creds = resolve({"aws": True, "awsSecret": name, "awsRegion": "eu-west-1"})
    assert creds == Credentials(
        "user_pass", "svc", PASSWORD, f"AWS Secrets Manager (secret '{name}')"
    )
    assert aws_reads == [name]  # exactly one read per resolution


def test_aws_plain_string_secret_is_the_token(
    secrets_manager: Callable[..., str], aws_reads: list[str]
) -> None:
    name = secrets_manager(TOKEN + "\n")
    creds = resolve({"authType": "token", "aws": True, "awsSecret": name})
    assert creds == Credentials("token", None, TOKEN, f"AWS Secrets Manager (secret '{name}')")
    assert len(aws_reads) == 1


def test_aws_all_digit_plain_secret_stays_a_string(secrets_manager: Callable[..., str]) -> None:
    name = secrets_manager("0012345")
    assert resolve({"authType": "api_key", "aws": True, "awsSecret": name}).secret == "0012345"


def test_aws_binary_secret(secrets_manager: Callable[..., str]) -> None:
    name = secrets_manager(f'{{"user": "svc", "token": "{PASSWORD}"}}'.encode())
    assert resolve({"aws": True, "awsSecret": name}).secret == PASSWORD


def test_aws_plain_secret_takes_the_user_from_u(secrets_manager: Callable[..., str]) -> None:
    name = secrets_manager(PASSWORD)
    creds = resolve({"aws": True, "awsSecret": name}, user="alice")
    assert (creds.user, creds.secret) == ("alice", PASSWORD)
    assert creds.source.endswith("(user from -u)")


def test_aws_secret_of_another_user_than_u_is_an_error(
    secrets_manager: Callable[..., str],
) -> None:
    name = secrets_manager(f'{{"user": "svc", "token": "{PASSWORD}"}}')
    with pytest.raises(AuthError, match="svc") as caught:
        resolve({"aws": True, "awsSecret": name}, user="alice")
    assert PASSWORD not in str(caught.value)


def test_aws_json_without_token_names_the_keys_not_the_values(
    secrets_manager: Callable[..., str],
) -> None:
    name = secrets_manager(f'{{"user": "svc", "password": "{PASSWORD}"}}')
    with pytest.raises(AuthError, match=r"keys: password, user") as caught:
        resolve({"aws": True, "awsSecret": name})
    assert caught.value.exit_code == EXIT_USAGE
    assert PASSWORD not in str(caught.value)


def test_aws_missing_secret_is_an_auth_error_exit_2(
    secrets_manager: Callable[..., str], aws_reads: list[str]
) -> None:
    with pytest.raises(AuthError) as caught:
        resolve({"aws": True, "awsSecret": "no-such-secret", "awsRegion": "ap-south-1"})
    message = str(caught.value)
    assert "'no-such-secret'" in message and "ap-south-1" in message
    assert "does not exist" in message and "awsSecret" in message
    assert caught.value.exit_code == EXIT_USAGE and caught.value.missing_credentials
    assert aws_reads == ["no-such-secret"]


def test_aws_without_aws_credentials_is_an_auth_error_exit_2(
    secrets_manager: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = secrets_manager(TOKEN)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable)
    with pytest.raises(AuthError, match="no AWS credentials") as caught:
        resolve({"aws": True, "awsSecret": name})
    assert caught.value.exit_code == EXIT_USAGE


def test_aws_profile_from_the_config(
    secrets_manager: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = secrets_manager(TOKEN)
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[artifacts]\naws_access_key_id = profilekey\naws_secret_access_key = profilesecret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable)
    config = {"authType": "token", "aws": True, "awsSecret": name, "awsProfile": "artifacts"}
    assert resolve(config).secret == TOKEN
    with pytest.raises(AuthError, match="profile 'nope' does not exist") as caught:
        resolve({**config, "awsProfile": "nope"})
    assert caught.value.exit_code == EXIT_USAGE


def test_aws_never_prompts_even_at_a_terminal(secrets_manager: Callable[..., str]) -> None:
    name = secrets_manager(TOKEN)
    prompt = Prompt()
    with pytest.raises(AuthError, match='no "user"'):
        resolve({"aws": True, "awsSecret": name}, interactive=True, prompt=prompt)
    assert prompt.questions == []


def test_sources_before_aws_mean_no_aws_read(aws_reads: list[str]) -> None:
    creds = resolve({"authType": "token", "aws": True}, environ={"ARTIFACTORY_TOKEN": TOKEN})
    assert creds.source == "$ARTIFACTORY_TOKEN"
    assert aws_reads == []


# -------------------------------------------------------------------------------- prompts


def test_skelebot_C2_no_prompt_without_a_terminal() -> None:
    """skelebot prompted in CI and died with EOFError; here a pipe means anonymous."""
    prompt = Prompt()
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        creds = resolve_credentials(
            None, HOST, stdin=pipe, environ={}, netrc_path=os.devnull, prompt=prompt
        )
    assert creds.anonymous
    assert prompt.questions == []


def test_prompt_at_a_terminal_asks_user_then_password() -> None:
    prompt = Prompt("alice", PASSWORD)
    creds = resolve(interactive=True, prompt=prompt)
    assert creds == Credentials("user_pass", "alice", PASSWORD, "prompt")
    assert "user" in prompt.questions[0] and "password for alice@" in prompt.questions[1]


def test_prompt_asks_only_the_password_when_the_user_is_known() -> None:
    prompt = Prompt(PASSWORD)
    creds = resolve(interactive=True, prompt=prompt, environ={"ARTIFACTORY_USER": "bob"})
    assert (creds.user, creds.secret) == ("bob", PASSWORD)
    assert len(prompt.questions) == 1


def test_prompt_for_a_token_asks_no_user() -> None:
    prompt = Prompt(TOKEN)
    creds = resolve({"authType": "token"}, interactive=True, prompt=prompt)
    assert creds == Credentials("token", None, TOKEN, "prompt")
    assert "access token" in prompt.questions[0]


def test_prompt_empty_answer_means_anonymous() -> None:
    prompt = Prompt("")
    assert resolve(interactive=True, prompt=prompt).anonymous
    assert len(prompt.questions) == 1


# ------------------------------------------------------------------------------ redaction


def test_redact_replaces_every_secret_longest_first() -> None:
    assert redact("a abc abcd x", ["abc", "abcd", ""]) == "a *** *** x"
    assert redact("nothing here", []) == "nothing here"


@pytest.fixture
def secret_filter() -> Iterator[None]:
    yield
    uninstall_secret_filter()


def test_secret_filter_scrubs_debug_logs_everywhere(
    caplog: pytest.LogCaptureFixture, secret_filter: None
) -> None:
    creds = Credentials("user_pass", "alice", "p@ss/w0rd", "--token")
    late_stream = io.StringIO()
    with caplog.at_level(logging.DEBUG):
        install_secret_filter(creds)
        # A handler added after the install, on a logger that does not propagate.
        late = logging.getLogger("late.library")
        late.propagate = False
        late_handler = logging.StreamHandler(late_stream)
        late.addHandler(late_handler)
        try:
            logging.getLogger("fsartifacts.engine.runner").debug("password is p@ss/w0rd")
            logging.getLogger("urllib3").debug("url %s", "https://alice:p%40ss%2Fw0rd@host/")
            logging.getLogger("fsartifacts").debug(
                "header %r", {"Authorization": "Basic YWxpY2U6cEBzcy93MHJk"}
            )
            try:
                raise RuntimeError("boom p@ss/w0rd")
            except RuntimeError:
                logging.getLogger("fsartifacts").exception("failed")
            late.debug("late p@ss/w0rd")
        finally:
            late.removeHandler(late_handler)
            late.propagate = True
    assert len(caplog.records) == 4
    assert "p@ss/w0rd" not in caplog.text and "p%40ss%2Fw0rd" not in caplog.text
    assert "YWxpY2U6cEBzcy93MHJk" not in caplog.text
    # msg, args, the Basic header, and the traceback's message and its quoted source line
    assert caplog.text.count("***") == 5
    assert "RuntimeError: boom ***" in caplog.text
    assert late_stream.getvalue() == "late ***\n"


def test_secret_filter_leaves_other_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "n=%d", (3,), None)
    SecretFilter(["secret"]).filter(record)
    assert record.args == (3,) and record.getMessage() == "n=3"


def test_uninstall_restores_the_record_factory(secret_filter: None) -> None:
    before = logging.getLogRecordFactory()
    install_secret_filter(Credentials("token", None, TOKEN, "--token"))
    install_secret_filter(Credentials("token", None, TOKEN, "--token"))  # idempotent
    assert logging.getLogRecordFactory() is not before
    uninstall_secret_filter()
    assert logging.getLogRecordFactory() is before


def test_resolution_logs_at_debug_show_no_secret(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    netrc = write_netrc(tmp_path, f"machine {HOST} login carol password {PASSWORD}\n")
    with caplog.at_level(logging.DEBUG):
        resolve(netrc_path=netrc)
        resolve(token=PASSWORD, user="alice")
    assert "password of user 'carol' from" in caplog.text
    assert PASSWORD not in caplog.text
