"""The home folder: where ``$HOME`` names one, else the password database; none where
neither names an absolute folder."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from fsartifacts.home import expand_home, no_home, user_home


@pytest.mark.parametrize("value", ["", "relative/home", "~"])
def test_a_HOME_that_names_no_absolute_folder_is_no_home_folder(value: str) -> None:
    # The standard library makes "~" the root folder for an empty $HOME ("/.cache").
    assert user_home({"HOME": value}) is None
    assert expand_home("~/ca.pem", {"HOME": value}) is None
    assert expand_home("~", {"HOME": value}) is None


def test_the_process_environment_is_read_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", "")
    assert user_home() is None and expand_home("~/.netrc") is None
    monkeypatch.setenv("HOME", f"{tmp_path}/")
    assert user_home() == str(tmp_path)
    assert expand_home("~/a/b") == tmp_path / "a" / "b"


def test_without_HOME_the_password_database_names_the_home_folder() -> None:
    try:
        entry = pwd.getpwuid(os.getuid())
    except KeyError:
        entry = None
    expected = entry.pw_dir.rstrip("/") or "/" if entry and entry.pw_dir.startswith("/") else None
    assert user_home({}) == expected


def test_another_users_home_folder_and_paths_without_a_tilde() -> None:
    root = pwd.getpwnam("root").pw_dir
    assert expand_home("~root/x.pem", {"HOME": ""}) == Path(root, "x.pem")
    assert expand_home("~no-such-user-here/x") is None
    assert expand_home("a/~b", {"HOME": ""}) == Path("a/~b")
    assert expand_home("/abs/x", {"HOME": ""}) == Path("/abs/x")


def test_what_is_wrong_names_the_user_or_the_variable() -> None:
    assert "no home folder of the user bob" in no_home("~bob/x")
    assert "$HOME unset, empty or relative" in no_home("~/x")
