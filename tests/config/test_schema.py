"""The configuration's schemas are checked here, once, instead of at every run: each uses
only rules, types, checks and coercions the checker knows. The checker itself says what
cerberus said, in its words and its order, without importing anything heavy."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from fsartifacts.config.rules import schema_problems
from fsartifacts.config.schema import (
    COERCERS,
    checks,
    fsartifacts_schema,
    repository_schema,
    validate,
)

SCHEMAS = {
    "fsartifacts.yaml": fsartifacts_schema(),
    "skelebot.yaml repository": repository_schema(False),
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_uses_only_what_the_checker_knows(name: str) -> None:
    assert schema_problems(SCHEMAS[name], checks(), COERCERS) == []


def test_the_check_refuses_a_misspelt_rule_an_unknown_type_and_an_unknown_check() -> None:
    """What each run does not check is still caught: by the test above."""
    schema: Any = copy.deepcopy(fsartifacts_schema())
    schema["version"]["requird"] = True
    schema["repository"]["schema"]["artifacts"]["schema"]["schema"]["name"]["check_with"] = (
        "no_such_rule"
    )
    schema["transfer"]["schema"]["jobs"]["type"] = ["integer", "strng"]
    assert schema_problems(schema, checks(), COERCERS) == [
        "version: unknown rule 'requird'",
        "repository.artifacts[].name: unknown check 'no_such_rule'",
        "transfer.jobs: unknown type 'integer'",
        "transfer.jobs: unknown type 'strng'",
    ]


def document(**repository: Any) -> dict[str, Any]:
    return {"version": "1.0.0", "repository": {"url": "file:///x", "artifacts": [], **repository}}


KNOWN_ITEM_KEYS = "name, file, singular, ext, version"


def test_problems_come_by_key_path_each_in_cerberus_words() -> None:
    """Sorted by key path whatever the file's order: a key's own problem before those
    inside it, list items by index; a missing key is a required field, a wrong type names
    the type wanted, and no value or an empty one is said so."""
    bad = {
        "transfer": {"jobs": None},
        "version": 2.5,  # coerced to text first: then not a semantic version
        "repository": {
            "url": "",
            "options": {1: "x"},
            "artifacts": [{"name": "m", "file": ["m.pkl"], "colour": "red"}, "n", {}],
            "artifactory": {"url": "https://h/a", "verify": ""},
        },
    }
    _, problems = validate(bad, fsartifacts_schema(), strict=True)
    assert [(".".join(map(str, path)), message.split(" (")[0]) for path, message in problems] == [
        ("repository.artifactory.repo", "required field"),
        ("repository.artifactory.verify", "empty value; give one or remove the key"),
        ("repository.artifacts.0.colour", "unknown key; known keys here: " + KNOWN_ITEM_KEYS),
        ("repository.artifacts.0.file", "must be of string type"),
        ("repository.artifacts.1", "must be a mapping"),
        ("repository.artifacts.2.file", "required field"),
        ("repository.artifacts.2.name", "required field"),
        ("repository.options.1", "must be of string type"),
        ("repository.url", "empty value; give one or remove the key"),
        ("transfer.jobs", "no value given; give one or remove the key"),
        ("version", "'2.5' is not a semantic version; write MAJOR.MINOR.PATCH such as 1.4.0"),
    ]  # fmt: skip


def test_a_valid_document_comes_back_coerced_and_the_lenient_one_purged() -> None:
    """The document given is left as it was; the one returned has versions as text and,
    read leniently (skelebot), no key the schema does not know, at any depth."""
    given = document(artifacts=[{"name": "m", "file": "m.pkl", "version": 2, "colour": "red"}])
    strict = copy.deepcopy(given)
    strict["repository"]["artifacts"][0].pop("colour")
    normalized, problems = validate(strict, fsartifacts_schema(), strict=True)
    assert problems == []
    assert normalized["repository"]["artifacts"][0]["version"] == "2"
    assert strict["repository"]["artifacts"][0]["version"] == 2  # not changed in place
    lenient = {**given["repository"], "extra": {"anything": 1}}
    normalized, problems = validate(lenient, repository_schema(False), strict=False)
    assert problems == []
    assert normalized == {
        "url": "file:///x",
        "artifacts": [{"name": "m", "file": "m.pkl", "version": "2"}],
    }
    assert "colour" in lenient["artifacts"][0]


def test_checking_a_configuration_imports_no_validation_library() -> None:
    """cerberus read every installed package's metadata at import, costing more than the
    rest of `fsartifacts validate`: the checker needs no library, nor importlib.metadata."""
    code = (
        "import sys\n"
        "from fsartifacts.config.schema import fsartifacts_schema, validate\n"
        "doc = {'version': '1.0.0', 'repository': {'url': 'file:///x', 'artifacts': []}}\n"
        "assert validate(doc, fsartifacts_schema(), strict=True)[1] == []\n"
        "print(sorted(m for m in ('cerberus', 'importlib.metadata') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
