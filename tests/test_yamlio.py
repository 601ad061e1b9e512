"""YAML written through libyaml where PyYAML has it: the same text as PyYAML's own dumper."""

from __future__ import annotations

import datetime
import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from fsartifacts import yamlio
from tests.fixtures.cli import in_process, write_project

FAST = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
OPTIONS = [
    {"sort_keys": False, "default_flow_style": False},  # validate's
    {"sort_keys": True, "default_flow_style": False},  # the lock file's
]


def pure(data: Any, **options: Any) -> str:
    return yaml.dump(data, Dumper=yaml.SafeDumper, **options)


ORDINARY = {
    "project_version": "1.4.0",
    "repository": {
        "url": "file:///srv/store/models",
        "artifacts": [
            {"name": "model", "file": "models/model.pkl", "singular": False, "ext": None},
            {"name": "data", "file": "data", "version": "^1.4"},
        ],
        "options": {"anon": True, "timeout": 1.5, "attempts": 3},
    },
    "note": "a long sentence of plain words, " * 8,
    "odd": ["yes", "null", "~", "1.0", "0o7", "", " lead", "trail ", "a: b", "#x", "- x"],
    "when": datetime.date(2026, 12, 2),
    "empty": {},
    "none": [],
}

# Each written otherwise by libyaml's emitter than by PyYAML's.
AWKWARD = {
    "long escaped": {"path": "mod\u00e8les/caf\u00e9 " * 12},
    "long with control characters": {"k": "a\x07b c\td e\nf " * 15},
    "long emoji": {"k": ["\U0001f600 x" * 30]},
    "empty key": {"": "v", "k": {"": 1}},
    "key near the complex limit": {"k" * 125: 1},
}


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("data", list(AWKWARD.values()), ids=list(AWKWARD))
def test_what_libyaml_writes_otherwise_is_written_as_pyyaml_writes_it(
    data: dict[str, Any], options: dict[str, Any]
) -> None:
    assert yamlio.dump(data, **options) == pure(data, **options)
    assert yamlio.load(yamlio.dump(data, **options)) == data


@pytest.mark.parametrize("options", OPTIONS)
def test_an_ordinary_document_goes_through_libyaml_and_reads_the_same(
    options: dict[str, Any],
) -> None:
    assert yamlio.dumper_for(ORDINARY) is FAST  # libyaml, wherever PyYAML has it
    assert yamlio.dump(ORDINARY, **options) == pure(ORDINARY, **options)


def test_strings_of_every_kind_are_written_the_same_either_way() -> None:
    """Random strings (a fixed seed) of the characters the emitters treat apart:
    quotes, indicators, spaces, line breaks, control and non-ASCII characters."""
    rng = random.Random(2026)
    alphabet = [*string.printable, *" :#-'\"", "\u00e9", "\u2603", "\x07", "\x85", "\u2028"]
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        key = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 140)))
        data = {"k": text, key: [text, {key: text}], "n": {"deep": [text]}}
        for options in OPTIONS:
            assert yamlio.dump(data, **options) == pure(data, **options), (text, key)


CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: model
      file: models/{file}
"""


@pytest.mark.parametrize("file", ["model.pkl", "mod\u00e8le-" * 20 + ".pkl"])
def test_validate_prints_the_config_as_pyyaml_writes_it(tmp_path: Path, file: str) -> None:
    project = write_project(tmp_path / "project", CONFIG.format(file=file))
    (tmp_path / "store").mkdir()
    shown = in_process("validate", cwd=project)
    as_json = in_process("validate", "--json", cwd=project)
    assert (shown.returncode, as_json.returncode) == (0, 0), shown.stderr + as_json.stderr
    data = json.loads(as_json.stdout)
    assert shown.stdout == pure(data, sort_keys=False, default_flow_style=False).rstrip() + "\n"
