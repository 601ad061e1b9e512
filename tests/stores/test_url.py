"""From configuration to store: URLs, relative folders, and storage options."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import ConfigError
from fsartifacts.stores.url import open_url_store
from tests.fixtures.cli import fsartifacts, write_project


def test_relative_folder_urls_are_from_the_project_root(tmp_path: Path) -> None:
    for url in ("file://./store", "./store", "store"):
        store = open_url_store(url, {}, tmp_path, TransferSettings())
        assert store.root == str(tmp_path / "store")
        assert store.display == (tmp_path / "store").as_uri()


def test_credentials_in_a_url_are_not_displayed(tmp_path: Path) -> None:
    store = open_url_store("memory://user:pw@bucket/x", {}, tmp_path, TransferSettings())
    assert "pw" not in store.display


def test_an_unknown_protocol_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"repository\.url"):
        open_url_store("nosuchproto://x/y", {}, tmp_path, TransferSettings())


def test_an_artifactory_url_with_its_base_url_as_the_url_option(
    tmp_path: Path, artifactory_repo
) -> None:
    # `url` is both url_to_fs's own parameter and the Artifactory storage option.
    config = (
        "repository:\n"
        f"  url: artifactory://{artifactory_repo.name}/team\n"
        f"  options: {{url: '{artifactory_repo.url}', anon: true}}\n"
        "  artifacts:\n    - {name: model, file: model.pkl}\n"
    )
    root = write_project(tmp_path / "p", config)
    (root / "model.pkl").write_bytes(b"weights")
    pushed = fsartifacts("push", "model", cwd=root)
    assert pushed.returncode == 0, pushed.stderr
    pulled = fsartifacts("pull", "model", "LATEST", cwd=root)
    assert pulled.returncode == 0, pulled.stderr
    assert (root / "model_v1.0.0.pkl").read_bytes() == b"weights"


def test_options_are_checked_where_the_signature_is_the_whole_truth(tmp_path: Path) -> None:
    from fsartifacts.stores.url import check_url_store

    with pytest.raises(ConfigError, match=r"repository\.options\.colour: file:// .*auto_mkdir"):
        check_url_store("file:///tmp/x", {"colour": "blue"})
    with pytest.raises(ConfigError, match=r"repository\.options\.bucket: memory://"):
        check_url_store("memory://x", {"bucket": "b"})
    check_url_store("file:///tmp/x", {"auto_mkdir": True, "use_listings_cache": False})
    # s3fs hands what it does not name to botocore's session (profile=...), so it is not judged.
    check_url_store("s3://bucket/x", {"profile": "dev", "anon": True})
    check_url_store("artifactory://repo/x", {"url": "http://h/artifactory", "anon": True})
    with pytest.raises(ConfigError, match=r"repository\.options\.tokn"):
        check_url_store("artifactory://repo/x", {"url": "http://h/artifactory", "tokn": "t"})
