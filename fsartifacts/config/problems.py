"""Problems of a configuration as one-line messages led by their key path.

cerberus reports nested error trees in terse words; these functions flatten
them into ``repository.artifacts[0].name: ...`` lines that say what was found
or expected, and :class:`ConfigValidationError` carries the lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fsartifacts.config.values import join_key, kind_of
from fsartifacts.errors import ConfigError

KeyPath = tuple[str | int, ...]


class ConfigValidationError(ConfigError):
    """A configuration that does not validate; every problem is one line in ``errors``.

    ``str()`` stays one line: the file, the first problem (the shallowest key path,
    usually the root cause), and how many more there are. The CLI may print
    ``errors`` in full (``fsartifacts validate`` does).
    """

    def __init__(self, errors: Sequence[str], *, source: Path | str | None = None) -> None:
        self.errors: tuple[str, ...] = tuple(_one_line(e) for e in errors) or ("invalid",)
        self.source = source
        message = f"{source}: {self.errors[0]}" if source else self.errors[0]
        extra = len(self.errors) - 1
        if extra:
            message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        super().__init__(message)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def raise_if(problems: list[tuple[int, str]], source: str) -> None:
    """Raise the (depth, line) problems, if any, shallowest first."""
    if problems:
        ordered = sorted(problems, key=lambda p: p[0])  # stable: shallow problems first
        raise ConfigValidationError([line for _, line in ordered], source=source)


# --------------------------------------------------------------------------- cerberus' errors


def flatten(tree: Mapping[Any, Any], prefix: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """cerberus' nested error dicts as (key path, message) pairs."""
    out: list[tuple[KeyPath, str]] = []
    for key, items in tree.items():
        path = (*prefix, key)
        for item in items:
            if isinstance(item, dict):
                out.extend(flatten(item, path))
            else:
                out.append((path, str(item)))
    return out


def explain(
    message: str, path: KeyPath, document: Any, schema: dict[str, Any]
) -> tuple[KeyPath, str]:
    """cerberus' terse message at ``path``, saying what was found or expected: (path, message)."""
    if message == "unknown field":
        known = _known_keys(schema, path[:-1])
        return path, f"unknown key; known keys here: {', '.join(known)}" if known else "unknown key"
    if message.startswith("must be of ") and message.endswith(" type"):
        wanted = _type_words(message.removeprefix("must be of ").removesuffix(" type"))
        parent = _rules_at(schema, path[:-1])
        if path and "keysrules" in parent and "valuesrules" not in parent:
            # cerberus files a key's problem under the key, as if it were a value's: the
            # problem is the key itself (extra_args: {1: x}), not the value it holds
            key = path[-1]
            return path[:-1], f"key {key!r} must be {wanted} (got {kind_of(key)})"
        return path, f"must be {wanted} (got {kind_of(_value_at(document, path))})"
    if message == "null value not allowed":
        return path, "no value given; give one or remove the key"
    if message == "empty values not allowed":
        return path, "empty value; give one or remove the key"
    return path, message


# cerberus' type names as a YAML author knows them
_TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "dict": "a mapping (key: value)",
    "list": "a list",
    "integer": "a whole number",
    "number": "a number",
}


def _type_words(constraint: str) -> str:
    """cerberus' ``string`` or ``['boolean', 'string']`` as words: ``true or false, or a string``"""
    words = [_TYPE_WORDS.get(name, name) for name in re.findall(r"\w+", constraint)]
    return (", or " if any(" or " in w for w in words) else " or ").join(words)


def _value_at(document: Any, path: KeyPath) -> Any:
    for key in path:
        try:
            document = document[key]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def _rules_at(schema: dict[str, Any], path: KeyPath) -> dict[str, Any]:
    """The schema's rules for the value at ``path`` (the whole document for ``()``)."""
    rules: dict[str, Any] = {"type": "dict", "schema": schema}
    for key in path:
        inner = rules.get("schema") or {}
        if rules.get("type") == "list":
            rules = inner  # a list's schema is the rules of each of its items
        else:
            rules = (inner.get(key) or {}) if isinstance(key, str) else {}
    return rules


def _known_keys(schema: dict[str, Any], path: KeyPath) -> list[str]:
    """The keys the schema knows in the mapping at ``path``."""
    return list(_rules_at(schema, path).get("schema") or {})


# --------------------------------------------------------------------------- key paths


def render_key_path(prefix: str, path: KeyPath, artifacts_was_mapping: bool) -> str:
    """``prefix`` and ``path`` as text: ``repository.artifacts[0].name``."""
    text = prefix
    for index, key in enumerate(path):
        if artifacts_was_mapping and key == 0 and index > 0 and path[index - 1] == "artifacts":
            continue  # the file wrote one mapping, not a list: do not show an index
        text = join_key(text, key)
    return text


def cerberus_problems(
    problems: list[tuple[KeyPath, str]], prefix: str, was_mapping: bool
) -> list[tuple[int, str]]:
    """(key path, message) pairs as (depth, line) problems for :func:`raise_if`."""
    return [
        (len(path), f"{render_key_path(prefix, path, was_mapping)}: {message}")
        for path, message in problems
    ]
