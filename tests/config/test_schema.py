"""The configuration's cerberus schemas are checked here, once, instead of at every run:
each is a schema cerberus accepts for fsartifacts' validator (every rule known, every
``check_with`` one of ours, every constraint well-formed) and needs no rewriting by it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cerberus import SchemaError
from cerberus.schema import DefinitionSchema

from fsartifacts.config.schema import (
    fsartifacts_schema,
    repository_schema,
    validate,
    validator_class,
)

SCHEMAS = {
    "fsartifacts.yaml": fsartifacts_schema(),
    "skelebot.yaml repository": repository_schema(False),
}


def checked_by_cerberus(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as cerberus's own check and expansion leave it (SchemaError if refused)."""
    return dict(DefinitionSchema(validator_class()(), copy.deepcopy(schema)).schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_one_cerberus_accepts_as_it_is(name: str) -> None:
    schema = SCHEMAS[name]
    assert checked_by_cerberus(schema) == schema


def test_the_check_refuses_a_misspelt_rule_and_an_unknown_check() -> None:
    """What each run no longer checks is still caught: by the test above."""
    misspelt = copy.deepcopy(fsartifacts_schema())
    misspelt["version"]["requird"] = True
    unknown_check = copy.deepcopy(fsartifacts_schema())
    unknown_check["version"]["check_with"] = "no_such_rule"
    for schema in (misspelt, unknown_check):
        with pytest.raises(SchemaError):
            checked_by_cerberus(schema)


def test_a_run_does_not_make_cerberus_check_the_schema() -> None:
    """cerberus records each schema it has checked; validating documents leaves that empty.
    A bad document is still refused."""
    checked = validator_class()._valid_schemas
    checked.clear()
    document = {"version": "1.0.0", "repository": {"url": "file:///x", "artifacts": []}}
    assert validate(document, fsartifacts_schema(), strict=True)[1] == []
    bad = {"version": "one", "repository": {"url": "file:///x", "artifacts": []}}
    assert [path for path, _ in validate(bad, fsartifacts_schema(), strict=True)[1]] == [
        ("version",)
    ]
    assert validate({"artifacts": []}, repository_schema(False), strict=False)[1] == []
    assert checked == set()
