"""The Artifactory store: what the server refusing access means, per credentials."""

from __future__ import annotations

import pytest

from fsartifacts.artifactoryfs.errors import ArtifactoryPermissionError
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import EXIT_FAILED, EXIT_USAGE
from fsartifacts.stores.artifactory.auth import Credentials
from fsartifacts.stores.artifactory.settings import ArtifactorySettings
from fsartifacts.stores.artifactory.store import (
    ArtifactoryStore,
    bad_credentials_error,
    missing_credentials_error,
    open_artifactory_store,
)
from fsartifacts.stores.store import Store

URL = "http://127.0.0.1:9/artifactory"  # never contacted: the store is only opened
TOKEN = Credentials("token", "alice", "t0ken-value", source="$ARTIFACTORY_TOKEN")
PASSWORD = "pw-8c1d5e2b"


def store(credentials: Credentials | None) -> ArtifactoryStore:
    settings = ArtifactorySettings(URL, "models")
    return open_artifactory_store(settings, credentials, TransferSettings())


def test_the_store_keeps_the_credentials_it_was_opened_with() -> None:
    assert store(TOKEN).credentials is TOKEN
    assert store(None).credentials is None


def test_a_401_without_credentials_says_how_to_give_them_exit_2() -> None:
    error = store(None).auth_error(ArtifactoryPermissionError("GET: HTTP 401", status=401))
    assert error.exit_code == EXIT_USAGE
    assert "requires credentials and none were given" in str(error)


def test_a_403_with_accepted_credentials_names_the_missing_permission_exit_1() -> None:
    error = store(TOKEN).auth_error(ArtifactoryPermissionError("PUT: HTTP 403", status=403))
    assert error.exit_code == EXIT_FAILED
    assert "access token of user 'alice' from $ARTIFACTORY_TOKEN was accepted" in str(error)
    assert "t0ken-value" not in str(error)


@pytest.mark.parametrize("status", [401, 0])
def test_refused_credentials_name_their_source(status: int) -> None:
    exc = ArtifactoryPermissionError("GET: HTTP 401 Authentication is required", status=status)
    error = store(TOKEN).auth_error(exc)
    assert "refused the access token of user 'alice' from $ARTIFACTORY_TOKEN" in str(error)


def test_without_a_status_the_text_of_an_error_is_not_taken_for_a_401() -> None:
    """Only the server's status says 401: a local error's words do not."""
    error = store(None).auth_error(PermissionError("401 files could not be read"))
    assert "access denied for anonymous requests" in str(error)
    assert error.exit_code == EXIT_FAILED


def test_a_store_that_knows_no_credentials_says_it_refused_access() -> None:
    plain = Store(fs=store(None).fs, root="models", ops=store(None).ops, display="memory://x")
    assert str(plain.auth_error(PermissionError("denied"))) == "the store refused access: denied"
    assert plain.credentials is None


# ------------------------------------------------------------------------------- messages


def test_missing_credentials_error_names_every_way_and_exits_2() -> None:
    error = missing_credentials_error("https://bob:hunter2@example.com/artifactory/repo/x")
    message = str(error)
    assert error.exit_code == EXIT_USAGE and error.missing_credentials
    assert "hunter2" not in message and "https://example.com/artifactory/repo/x" in message
    for way in (
        "-u",
        "-t",
        "--token-stdin",
        "$ARTIFACTORY_USER",
        "$ARTIFACTORY_TOKEN",
        "~/.netrc",
        "auth.aws",
    ):
        assert way in message


def test_bad_credentials_error_names_the_source_not_the_secret() -> None:
    creds = Credentials("user_pass", "alice", PASSWORD, "~/.netrc")
    error = bad_credentials_error("https://example.com/artifactory", creds)
    assert error.exit_code == EXIT_FAILED and not error.missing_credentials
    assert "~/.netrc" in str(error) and "alice" in str(error)
    assert PASSWORD not in str(error)


def test_bad_credentials_error_for_anonymous_is_the_missing_credentials_error() -> None:
    error = bad_credentials_error("https://example.com", Credentials("none", source="anonymous"))
    assert error.exit_code == EXIT_USAGE
