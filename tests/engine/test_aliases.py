"""Alias names, the alias object's name and content, and what listings make of it."""

from __future__ import annotations

import json
import re

import pytest

from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming
from fsartifacts.engine.aliases import FORMAT, Alias, is_alias_object, object_name, validate_name
from fsartifacts.errors import ConfigError, IntegrityError

GOOD = ["prod", "champion", "staging", "Prod-2", "blue_green", "x"]
BAD = [
    "", "1.2.0", "v1", "V1.2.0", "v2-rc", "latest", "LATEST", "All", "none", "pro/d", "..",
    "a.b", "prod\n", "-x", "_x", "x_v1", "my_V2", "é", "a" * 65, "pr od", "@prod", "^1.4",
]  # fmt: skip


@pytest.mark.parametrize("name", GOOD)
def test_alias_names_that_are_taken(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", BAD)
def test_alias_names_that_are_refused_say_the_rule(name: str) -> None:
    with pytest.raises(ConfigError, match="an alias name is a letter") as caught:
        validate_name(name)
    assert str(caught.value).startswith(f"alias {name!r}: ")  # quoted once, escaped


def skelebot_s3_latest_candidates(names: list[str], artifact: str, major: int) -> list[str]:
    """skelebot's S3 LATEST: every key that starts with ``{name}_v{major}``."""
    return [n for n in names if n.startswith(f"{artifact}_v{major}")]


def skelebot_artifactory_candidates(paths: list[str], artifact: str, major: int) -> list[str]:
    """skelebot's Artifactory LATEST: every path that holds ``{name}_v{major}`` anywhere."""
    return [p for p in paths if f"{artifact}_v{major}" in p]


def test_no_listing_takes_an_alias_object_for_a_version() -> None:
    artifacts = [Artifact("model", "models/model.pkl"), Artifact("data", "data")]
    names = [
        object_name(f"{prefix}{a.name}", alias)
        for a in artifacts
        for prefix in ("", "exp-")
        for alias in GOOD
    ]
    entries = [{"name": f"repo/team/{n}", "type": "file", "size": 10} for n in names]
    for artifact in artifacts:
        for prefix in ("", "exp-"):
            assert naming.scan(entries, artifact, prefix) == []
        for major in range(10):
            assert not skelebot_s3_latest_candidates(names, artifact.name, major)
            # Alias names are refused when they could hold "{name}_v{major}" for any name.
            assert not skelebot_artifactory_candidates(
                [e["name"] for e in entries], artifact.name, major
            )
    assert all(is_alias_object(n) and n.startswith(".") for n in names)


def test_an_alias_object_must_name_its_own_artifact_and_alias() -> None:
    digest = "ab" * 32
    alias = Alias("model", "prod", None, None, None)
    doc = json.loads(alias.to_bytes())
    doc.update(version="1.2.0", sha256=digest, remote="model_v1.2.0.pkl")
    data = json.dumps(doc).encode()
    read = Alias.from_bytes(data, "model", "prod", "url")
    assert (str(read.version), read.sha256) == ("1.2.0", digest)
    # The same object copied under another alias's or artifact's name stands for neither.
    for artifact, name in (("model", "staging"), ("data", "prod")):
        with pytest.raises(IntegrityError, match="names another artifact or alias"):
            Alias.from_bytes(data, artifact, name, "url")
    for broken in (
        {**doc, "format": "other"},
        {**doc, "sha256": "zz"},
        {**doc, "version": "not-a-version"},
        {**doc, "remote": "../../etc/passwd"},
    ):
        with pytest.raises(IntegrityError, match="the alias object is unreadable"):
            Alias.from_bytes(json.dumps(broken).encode(), "model", "prod", "url")
    assert doc["format"] == FORMAT and re.fullmatch(r"[0-9a-f]{64}", digest)


def test_the_history_read_from_a_store_is_short_printable_text() -> None:
    # Anyone with write access to the store wrote these fields: a newline in one would add a
    # line of their choosing to `alias list --history`.
    doc = json.loads(Alias("model", "prod", None, None, None).to_bytes())
    doc["history"] = [
        {"from": None, "to": "1.0.0", "by": "evil\n\x1b[31mfake", "host": "h" * 5000, "at": "\r"}
    ]
    (move,) = Alias.from_bytes(json.dumps(doc).encode(), "model", "prod", "url").history
    assert (move.by, move.host, move.at) == ("evil[31mfake", "h" * 255, "?")
