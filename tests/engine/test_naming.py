"""Remote names: built and read back with an anchored match (SPEC 4)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import semver

from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming
from fsartifacts.engine.install import contained
from fsartifacts.errors import ConfigError, IntegrityError

V = semver.Version.parse


def entries(*names: str, root: str = "bucket/models") -> list[dict]:
    out = []
    for name in names:
        kind = "directory" if name.endswith("/") else "file"
        out.append(
            {
                "name": f"{root}/{name.rstrip('/')}",
                "type": kind,
                "size": 0 if kind == "directory" else 10,
            }
        )
    return out


@pytest.mark.parametrize(
    ("file", "ext", "expected"),
    [
        ("models/xgb-model.pkl", None, ".pkl"),
        ("model.tar.gz", None, ".tar.gz"),
        ("out/data.TAR.ZST", None, ".TAR.ZST"),
        ("models/model", None, ""),
        ("./model.pkl", None, ".pkl"),
        ("models/v1.2/model.pkl", None, ".pkl"),
        ("data/embeddings.v2/", None, ".v2"),
        ("model.tar.gz", ".tar", ".tar"),
        (".tar.gz", None, ".gz"),
    ],
)
def test_remote_ext(file: str, ext: str | None, expected: str) -> None:
    assert naming.remote_ext(Artifact("m", file, ext=ext)) == expected


def test_skelebot_B5_extension_from_the_basename_not_the_first_dot() -> None:
    # skelebot took file.split(".")[1]: "./model.pkl" became "model_v1.0.0./model".
    for file in ("./model.pkl", "models/v1.2/model.pkl"):
        assert naming.file_name(Artifact("model", file), V("1.0.0")) == "model_v1.0.0.pkl"
    assert naming.file_name(Artifact("model", "model.tar.gz"), V("1.0.0")) == "model_v1.0.0.tar.gz"
    # The per-artifact ext reproduces skelebot's name where compatibility needs it.
    compat = Artifact("model", "model.tar.gz", ext=".tar")
    assert naming.file_name(compat, V("1.0.0")) == "model_v1.0.0.tar"


def test_names_with_prefix_singular_and_folders() -> None:
    model = Artifact("model", "m.pkl")
    assert naming.file_name(model, V("1.4.0"), "retrain_") == "retrain_model_v1.4.0.pkl"
    assert naming.folder_name(Artifact("data", "data"), V("2.0.0-rc.1")) == "data_v2.0.0-rc.1"
    single = Artifact("labels", "labels.json", singular=True)
    assert naming.file_name(single, V("1.0.0")) == "labels.json"
    assert naming.manifest_name("data_v1.0.0") == "data_v1.0.0.manifest.json"


@pytest.mark.parametrize("prefix", ["a/b", "..", "x..y", "sp ace", "ü"])
def test_bad_prefix_is_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match="--prefix"):
        naming.validate_prefix(prefix)


def test_good_prefix() -> None:
    assert naming.validate_prefix("retrain_2024.v1-") == "retrain_2024.v1-"
    assert naming.validate_prefix(None) == ""


def test_skelebot_A4_anchored_match_skips_other_artifacts() -> None:
    # skelebot matched "model_v1" as a substring, so "mymodel_v1.4.0.pkl" won.
    found = naming.scan(
        entries("mymodel_v1.4.0.pkl", "model_v1.1.0.pkl", "model_v1.2.0.pkl.bak"),
        Artifact("model", "model.pkl"),
    )
    assert [str(c.version) for c in found] == ["1.1.0"]


def test_skelebot_A5_extension_is_part_of_the_match() -> None:
    # skelebot stripped the extension after choosing: a sibling .json won LATEST.
    found = naming.scan(
        entries("model_v1.0.5.json", "model_v1.0.4.pkl", "model_v1.0.6.pkl.sha256"),
        Artifact("model", "model.pkl"),
    )
    assert [c.name for c in found] == ["model_v1.0.4.pkl"]


def test_skelebot_A6_malformed_names_are_skipped_never_fatal() -> None:
    found = naming.scan(
        entries(
            "model_v1.0.1-rc1.pkl",  # a valid pre-release
            "model_v1.2.pkl",
            "model_vlatest.pkl",
            "model_v01.0.0.pkl",
            "model_v1.0.0+build.5.pkl",
            "model_v1.0.0.pkl",
        ),
        Artifact("model", "model.pkl"),
    )
    assert sorted(str(c.version) for c in found) == ["1.0.0", "1.0.0+build.5", "1.0.1-rc1"]


def test_scan_sorts_newest_first_by_semver_not_text() -> None:
    found = naming.scan(
        entries("model_v1.10.0.pkl", "model_v1.9.0.pkl", "model_v1.2.0.pkl"),
        Artifact("model", "model.pkl"),
    )
    assert [str(c.version) for c in found] == ["1.10.0", "1.9.0", "1.2.0"]


def test_folder_versions_need_their_manifest() -> None:
    found = naming.scan(
        entries("data_v1.0.0/", "data_v1.0.0.manifest.json", "data_v1.1.0/"),
        Artifact("data", "data"),
    )
    assert [(str(c.version), c.kind) for c in found] == [("1.0.0", "folder")]


def test_prefix_is_part_of_the_match() -> None:
    listing = entries("retrain_model_v1.3.0.pkl", "model_v1.2.0.pkl")
    model = Artifact("model", "model.pkl")
    assert [c.name for c in naming.scan(listing, model)] == ["model_v1.2.0.pkl"]
    assert [c.name for c in naming.scan(listing, model, "retrain_")] == ["retrain_model_v1.3.0.pkl"]


def test_regex_characters_in_names_are_literal() -> None:
    listing = entries("m.x_v1.0.0.pkl", "mAx_v2.0.0.pkl")
    assert [c.name for c in naming.scan(listing, Artifact("m.x", "m.pkl"))] == ["m.x_v1.0.0.pkl"]


def test_singular_artifacts_match_the_bare_name_only() -> None:
    listing = entries("labels.json", "labels.json.bak", "labels_v1.0.0.json")
    found = naming.scan(listing, Artifact("labels", "labels.json", singular=True))
    assert [(c.name, c.version) for c in found] == [("labels.json", None)]


def test_a_trailing_newline_or_any_control_character_is_not_a_version() -> None:
    model = Artifact("model", "model.pkl")
    listing = entries(
        "model_v1.0.0.pkl", "model_v1.0.0.pkl\n", "model_v2.0.0.pkl\r", "model_v3.0.0\x1b.pkl"
    )
    assert [c.name for c in naming.scan(listing, model)] == ["model_v1.0.0.pkl"]
    folders = entries("data_v1.0.0\n/", "data_v1.0.0\n.manifest.json")
    assert naming.scan(folders, Artifact("data", "data")) == []
    singular = Artifact("labels", "labels.json", singular=True)
    assert naming.scan(entries("labels.json\n"), singular) == []


# --------------------------------------------------------------------------- generated names

_LOOKALIKES = {
    "_": ["\uff3f", "\u2017", "\u02cd", "-"],  # fullwidth low line, double low line, ...
    "v": ["\u1d65", "\u03bd", "\u0475", "\uff56", "V", "\u2174"],  # subscript v, Greek nu, ...
    ".": ["\u2024", "\uff0e", "\u00b7", "\u0660"],  # one dot leader, fullwidth full stop, ...
    "0": ["\u0660", "\u06f0", "\uff10", "\U0001d7ce", "O", "\u2070"],
    "1": ["\u0661", "\uff11", "\U0001d7cf", "\u00b9", "l", "\u2460"],
    "2": ["\u0662", "\uff12", "\u00b2"],
}
_CONTROL = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
_NOISE = ["/", "\\", "..", "../", "/..", "\x00", " ", "\u200b", "\u202e", "\ufeff", "%2F", "~"]


def _hostile_name(rng: random.Random, real: str) -> str:
    """A mutation of ``real`` or random bytes: look-alikes, control characters, separators."""
    roll = rng.random()
    if roll < 0.1:
        return os.fsdecode(rng.randbytes(rng.randint(1, 40)))
    if roll < 0.15:
        return real * rng.randint(20, 400)  # very long
    chars = list(real)
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        at = rng.randint(0, len(chars))
        if kind < 0.35:
            swappable = [i for i, c in enumerate(chars) if c in _LOOKALIKES]
            if swappable:
                i = rng.choice(swappable)
                chars[i] = rng.choice(_LOOKALIKES[chars[i]])
        elif kind < 0.7:
            chars.insert(at, rng.choice(_CONTROL))
        elif kind < 0.85:
            chars.insert(at, rng.choice(_NOISE))
        else:
            chars.append(rng.choice(["\n", "\r\n", "\x00", "/", "/..", ".pkl", ".."]))
    return "".join(chars)


def test_generated_hostile_names_are_never_taken_for_a_version_they_are_not(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261201)
    artifacts = [
        Artifact("model", "models/model.pkl"),
        Artifact("data", "data/features"),
        Artifact("labels", "labels.json", singular=True),
    ]
    reals = ["model_v1.0.0.pkl", "model_v10.2.1-rc.1.pkl", "data_v1.0.0", "labels.json"]
    project = tmp_path / "project"
    project.mkdir()
    taken = 0
    for _ in range(4000):
        name = _hostile_name(rng, rng.choice(reals))
        is_dir = rng.random() < 0.3
        listing = [{"name": f"bucket/models/{name}", "type": "directory" if is_dir else "file"}]
        listing.append({"name": f"bucket/models/{name}.manifest.json", "type": "file"})
        for artifact in artifacts:
            for prefix in ("", "exp-"):
                for copy in naming.scan(listing, artifact, prefix):
                    taken += 1
                    build = naming.folder_name if copy.kind == "folder" else naming.file_name
                    # The name is exactly the one its version is pushed under, nothing more.
                    assert copy.name == build(artifact, copy.version, prefix), repr(name)
                    assert not naming.has_control_characters(copy.name), repr(name)
                    dest = contained(project, copy.name)
                    assert dest.parent == project and dest.name == copy.name, repr(name)
    # Some mutations leave a real name intact (a prefix swapped for a look-alike prefix,
    # or noise after the stem): the test sees names taken, and checked, not none.
    assert taken > 0


def test_generated_hostile_manifest_paths_never_land_outside_the_folder(tmp_path: Path) -> None:
    rng = random.Random(7)
    staging = tmp_path / "staging"
    for _ in range(4000):
        path = _hostile_name(rng, rng.choice(["a.csv", "deep/b.bin", "x/y/z.txt"]))
        try:
            target = contained(staging, path)
        except IntegrityError:
            continue
        assert staging in target.parents, repr(path)
        assert not naming.has_control_characters(str(target)), repr(path)
