"""The project version, artifact pins and the LATEST rule (real files in tmp_path)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import semver

from fsartifacts.config.load import load_config
from fsartifacts.config.model import Config
from fsartifacts.errors import ConfigError
from fsartifacts.versioning import (
    artifact_version,
    is_latest_keyword,
    latest_compatible,
    parse_version,
    project_version,
    resolve_project_version,
)

V = semver.Version.parse

REPO = """
repository:
  url: file://./.artifacts
  artifacts:
    - {name: model, file: model.pkl}
    - {name: encoder, file: encoder.pkl, version: 0.3.1}
"""


def project(folder: Path, yaml_text: str = REPO, name: str = "fsartifacts.yaml") -> Config:
    (folder / name).write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    return load_config(start=folder, environ={})


# --------------------------------------------------------------------------- parsing


def test_skelebot_A6_semver_parser_accepts_prerelease_build_and_v_prefix() -> None:
    assert parse_version("1.2.3-rc.1", source="x") == semver.Version(1, 2, 3, "rc.1")
    assert parse_version("1.2.3+build.5", source="x").build == "build.5"
    assert parse_version("v1.2.3", source="x") == semver.Version(1, 2, 3)
    assert parse_version("V2.0.0-beta.2+exp.sha.5114f85", source="x") == V(
        "2.0.0-beta.2+exp.sha.5114f85"
    )
    assert parse_version(" 1.0.0\n", source="x") == V("1.0.0")
    # skelebot's parser died with IndexError on "1.2"; ours says what a version looks like
    with pytest.raises(ConfigError) as caught:
        parse_version("1.2", source="VERSION")
    assert str(caught.value).startswith("VERSION: '1.2' is not a semantic version")
    assert "1.4.0" in str(caught.value)
    # versions are hashable and fully ordered (skelebot's Semver was neither)
    assert len({V("1.0.0"), V("1.0.0"), V("1.0.1")}) == 2
    assert V("1.0.0-rc.1") < V("1.0.0") < V("1.0.1") >= V("1.0.1")


@pytest.mark.parametrize("text", ["1.2", "garbage", "", "1.2.3.4", "01.2.3", "v", "1.2.x", None])
def test_bad_versions_name_source_and_value(text: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_version(text, source="--project-version")
    message = str(caught.value)
    assert message.startswith("--project-version: ")
    assert repr(str(text).strip() if text is not None else "") in message
    assert "MAJOR.MINOR.PATCH" in message
    assert "\n" not in message


def test_skelebot_A7_latest_keyword_any_case() -> None:
    for text in ("LATEST", "latest", "Latest", "lAtEsT"):
        assert is_latest_keyword(text)
    for text in ("1.0.0", "LATES", "LATEST1", "newest", ""):
        assert not is_latest_keyword(text)


# --------------------------------------------------------------------------- project version


def test_project_version_sources_in_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "5.0.0"\n')
    config = project(tmp_path)
    assert resolve_project_version(config, environ={}) == (
        V("5.0.0"),
        f"{tmp_path.resolve() / 'pyproject.toml'} [project].version",
    )
    (tmp_path / "VERSION").write_text("4.0.0\n")
    assert resolve_project_version(config, environ={}) == (
        V("4.0.0"),
        str(tmp_path.resolve() / "VERSION"),
    )
    config = project(tmp_path, "version: 3.0.0\n" + REPO)
    version, source = resolve_project_version(config, environ={})
    assert version == V("3.0.0")
    assert source.startswith("version: in ") and source.endswith("fsartifacts.yaml")
    environ = {"FSARTIFACTS_VERSION": "v2.0.0"}
    assert resolve_project_version(config, environ=environ) == (
        V("2.0.0"),
        "$FSARTIFACTS_VERSION",
    )
    assert resolve_project_version(config, cli_version="1.0.0-rc.1", environ=environ) == (
        V("1.0.0-rc.1"),
        "--project-version",
    )
    assert project_version(config, cli_version="1.0.0", environ=environ) == V("1.0.0")


def test_empty_variable_and_flag_count_as_not_given(tmp_path: Path) -> None:
    config = project(tmp_path, "version: 3.0.0\n" + REPO)
    got = project_version(config, cli_version="", environ={"FSARTIFACTS_VERSION": ""})
    assert got == V("3.0.0")


def test_skelebot_project_reads_VERSION_not_its_version_key(tmp_path: Path) -> None:
    (tmp_path / "VERSION").write_text("1.3.0")
    skelebot = "name: p\nversion: 9.0.0\ncomponents:\n" + textwrap.indent(
        textwrap.dedent(REPO), "  "
    )
    config = project(tmp_path, skelebot, name="skelebot.yaml")
    assert config.version is None
    assert project_version(config, environ={}) == V("1.3.0")


def test_no_version_anywhere_lists_the_sources(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndynamic = ["version"]\n')
    config = project(tmp_path)
    with pytest.raises(ConfigError) as caught:
        project_version(config, environ={})
    message = str(caught.value)
    for source in ("--project-version", "$FSARTIFACTS_VERSION", "version: in fsartifacts.yaml"):
        assert source in message
    assert "VERSION" in message
    assert "pyproject.toml" in message
    assert "\n" not in message


def test_bad_version_file_names_the_file(tmp_path: Path) -> None:
    config = project(tmp_path)
    (tmp_path / "VERSION").write_text("1.2\n")
    with pytest.raises(ConfigError, match=r"VERSION: '1\.2' is not a semantic version"):
        project_version(config, environ={})
    (tmp_path / "VERSION").write_text("\n")
    with pytest.raises(ConfigError, match=r"VERSION: the file is empty"):
        project_version(config, environ={})


def test_bad_variable_and_flag_name_their_source(tmp_path: Path) -> None:
    config = project(tmp_path)
    with pytest.raises(ConfigError, match=r"^\$FSARTIFACTS_VERSION: 'one' is not"):
        project_version(config, environ={"FSARTIFACTS_VERSION": "one"})
    with pytest.raises(ConfigError, match=r"^--project-version: '2' is not"):
        project_version(config, cli_version="2", environ={})


def test_broken_pyproject_is_a_config_error(tmp_path: Path) -> None:
    config = project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project\nversion = 1")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: cannot read \[project\]\.version"):
        project_version(config, environ={})


# --------------------------------------------------------------------------- artifact pins


def test_skelebot_A10_pinned_artifact_version_wins(tmp_path: Path) -> None:
    (tmp_path / "VERSION").write_text("2.4.0")
    config = project(tmp_path)
    version = project_version(config, environ={})
    model = config.repository.artifact("model")
    encoder = config.repository.artifact("encoder")
    assert model is not None and encoder is not None
    assert artifact_version(model, version) == V("2.4.0")
    assert artifact_version(encoder, version) == V("0.3.1")


# --------------------------------------------------------------------------- LATEST


def versions(*texts: str) -> list[semver.Version]:
    return [V(t) for t in texts]


def test_latest_is_highest_of_same_major_not_above_project() -> None:
    remote = versions("0.9.0", "1.0.0", "1.2.0", "1.2.10", "1.3.0", "1.10.0", "2.0.0")
    assert latest_compatible(remote, V("1.9.0")) == V("1.3.0")
    assert latest_compatible(remote, V("1.10.0")) == V("1.10.0")
    assert latest_compatible(remote, V("1.2.5")) == V("1.2.0")
    assert latest_compatible(remote, V("2.5.0")) == V("2.0.0")
    assert latest_compatible(remote, V("3.0.0")) is None
    assert latest_compatible([], V("1.0.0")) is None
    assert latest_compatible(iter(remote), V("0.9.5")) == V("0.9.0")


def test_prereleases_count_only_with_pre() -> None:
    remote = versions("1.0.0", "1.1.0-rc.1", "1.1.0-rc.2", "1.1.0")
    assert latest_compatible(remote, V("1.1.0")) == V("1.1.0")
    assert latest_compatible(remote, V("1.0.5")) == V("1.0.0")
    only_rc = versions("1.0.0", "1.1.0-rc.1", "1.1.0-rc.2")
    assert latest_compatible(only_rc, V("1.5.0")) == V("1.0.0")
    assert latest_compatible(only_rc, V("1.5.0"), pre=True) == V("1.1.0-rc.2")


def test_prerelease_project_never_picks_its_own_final_release() -> None:
    remote = versions("1.9.0", "2.0.0-beta.1", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0")
    project_version = V("2.0.0-rc.1")
    # 2.0.0 is above 2.0.0-rc.1, and every 2.x at or below it is a pre-release
    assert latest_compatible(remote, project_version) is None
    assert latest_compatible(remote, project_version, pre=True) == V("2.0.0-rc.1")
    assert latest_compatible(versions("2.0.0-beta.1"), project_version, pre=True) == V(
        "2.0.0-beta.1"
    )


def test_build_metadata_ties_do_not_depend_on_listing_order() -> None:
    a, b = V("1.2.0+build.1"), V("1.2.0+build.2")
    first = latest_compatible([a, b], V("1.5.0"))
    second = latest_compatible([b, a], V("1.5.0"))
    assert first is not None and second is not None
    assert first.build == second.build == "build.2"


def test_precedence_sorts_versions_as_semver_compares_them() -> None:
    import functools
    import random

    from fsartifacts.versioning import precedence

    texts = ["1.0.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
             "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0-rc.01a", "0.9.9", "1.0.1",
             "1.10.0", "1.9.0", "2.0.0-0", "2.0.0-1", "2.0.0-10", "2.0.0-9", "2.0.0-a",
             "10.0.0", "1.0.0-alpha.1.1"]  # fmt: skip
    versions = [V(t) for t in texts]
    random.Random(5).shuffle(versions)
    by_semver = sorted(versions, key=functools.cmp_to_key(lambda a, b: a.compare(b)))
    assert sorted(versions, key=precedence) == by_semver
    assert precedence(V("1.0.0+build.1")) == precedence(V("1.0.0"))
