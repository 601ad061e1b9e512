"""The schema rules the configuration is checked with, applied by hand.

The schemas (``config.schema``) are plain dicts in cerberus's vocabulary, of which they
use a handful of rules: ``type`` (string, boolean, dict, list, or a list of these),
``required``, ``nullable``, ``empty``, ``coerce``, ``check_with``, ``schema`` (of a
mapping, or of each item of a list) and ``keysrules``. Applying them here, with
cerberus's own words for what is wrong ("required field", "must be of string type"...)
and in its order (by key path), costs no import: the cerberus package reads every
installed distribution's metadata for its version when it is imported, which alone costs
more than the rest of ``fsartifacts validate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fsartifacts.config.problems import KeyPath

Check = Callable[[Any], "str | None"]  # a value's problem, or None

RULES = frozenset(
    {"type", "required", "nullable", "empty", "coerce", "check_with", "schema", "keysrules"}
)
TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "dict": lambda value: isinstance(value, Mapping),
    "list": lambda value: isinstance(value, Sequence) and not isinstance(value, str),
}


class Checker:
    """Checks documents against schemas, with the named ``checks`` (``check_with``) and
    ``coercers`` (``coerce``); ``purge_unknown`` drops unknown keys instead of refusing
    them (at every depth)."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        coercers: Mapping[str, Callable[[Any], Any]],
        *,
        purge_unknown: bool,
    ) -> None:
        self.checks = checks
        self.coercers = coercers
        self.purge_unknown = purge_unknown

    def check(
        self, document: Mapping[str, Any], schema: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[KeyPath, str]]]:
        """The normalized copy of ``document`` and its (key path, problem) pairs."""
        normalized = self._normalize_mapping(document, schema)
        found: list[tuple[KeyPath, str]] = []
        self._check_mapping(normalized, schema, (), found)
        return normalized, _ordered(found)

    # -- normalization: unknown keys purged, values coerced, nested mappings and lists

    def _normalize_mapping(
        self, mapping: Mapping[Any, Any], schema: Mapping[Any, Any]
    ) -> dict[Any, Any]:
        out = {k: v for k, v in mapping.items() if k in schema or not self.purge_unknown}
        for key, value in out.items():
            rules = schema.get(key) or {}
            if "coerce" in rules:
                value = out[key] = self.coercers[rules["coerce"]](value)
            out[key] = self._normalize_value(value, rules)
        return out

    def _normalize_value(self, value: Any, rules: Mapping[str, Any]) -> Any:
        inner = rules.get("schema")
        if not isinstance(inner, Mapping):
            return value
        if isinstance(value, Mapping):
            return self._normalize_mapping(value, inner)
        if isinstance(value, Sequence) and not isinstance(value, str):
            # Each item with the item rules, as a key of its own would be.
            items = dict(enumerate(value))
            return list(self._normalize_mapping(items, dict.fromkeys(items, inner)).values())
        return value

    # -- validation

    def _check_mapping(
        self,
        mapping: Mapping[Any, Any],
        schema: Mapping[Any, Any],
        path: KeyPath,
        found: list[tuple[KeyPath, str]],
    ) -> None:
        for key, value in mapping.items():
            rules = schema.get(key)
            if rules is None:
                found.append(((*path, key), "unknown field"))
            else:
                self._check_value(value, rules, (*path, key), found)
        for key, rules in schema.items():
            if rules.get("required") and key not in mapping:
                found.append(((*path, key), "required field"))

    def _check_value(
        self,
        value: Any,
        rules: Mapping[str, Any],
        path: KeyPath,
        found: list[tuple[KeyPath, str]],
    ) -> None:
        check = self.checks[rules["check_with"]] if "check_with" in rules else None
        if value is None:
            if not rules.get("nullable", False):
                found.append((path, "null value not allowed"))
            return  # nothing else applies to no value (a check is told of none either)
        wanted = rules.get("type")
        if wanted is not None:
            names = (wanted,) if isinstance(wanted, str) else tuple(wanted)
            if not any(TYPES[name](value) for name in names):
                found.append((path, f"must be of {wanted} type"))
                return
        if "empty" in rules and hasattr(value, "__len__") and len(value) == 0:
            if not rules["empty"]:
                found.append((path, "empty values not allowed"))
            check = None  # an empty value is not checked further
        problem = check(value) if check else None
        if problem:
            found.append((path, problem))
        inner = rules.get("schema")
        if isinstance(inner, Mapping):
            if isinstance(value, Sequence) and not isinstance(value, str):
                items = dict(enumerate(value))
                self._check_mapping(items, dict.fromkeys(items, inner), path, found)
            elif isinstance(value, Mapping):
                self._check_mapping(value, inner, path, found)
        keys = rules.get("keysrules")
        if isinstance(keys, Mapping) and isinstance(value, Mapping):
            for key in value:
                self._check_value(key, keys, (*path, key), found)


def _ordered(found: list[tuple[KeyPath, str]]) -> list[tuple[KeyPath, str]]:
    """The problems in cerberus's order: by key path, key by key (a key's own problems
    before those of the keys inside it; an index before a name where both occur)."""
    return sorted(found, key=lambda item: tuple((isinstance(k, str), k) for k in item[0]))


def schema_problems(
    schema: Mapping[str, Any], checks: Mapping[str, Check], coercers: Mapping[str, Any]
) -> list[str]:
    """What in ``schema`` the checker would not know: a rule, a type, a check or a
    coercion it has no name for (the schemas are constants: the tests ask this)."""
    out: list[str] = []

    def rules_of(rules: Mapping[str, Any], where: str) -> None:
        for rule, constraint in rules.items():
            if rule not in RULES:
                out.append(f"{where}: unknown rule {rule!r}")
            elif rule == "type":
                names = [constraint] if isinstance(constraint, str) else list(constraint)
                out.extend(f"{where}: unknown type {n!r}" for n in names if n not in TYPES)
            elif rule == "check_with" and constraint not in checks:
                out.append(f"{where}: unknown check {constraint!r}")
            elif rule == "coerce" and constraint not in coercers:
                out.append(f"{where}: unknown coercion {constraint!r}")
            elif rule == "keysrules":
                rules_of(constraint, f"{where}.keysrules")
            elif rule == "schema":
                if rules.get("type") == "list":
                    rules_of(constraint, f"{where}[]")
                else:
                    mapping(constraint, where)

    def mapping(fields: Mapping[str, Any], where: str) -> None:
        for key, rules in fields.items():
            rules_of(rules, f"{where}.{key}" if where else key)

    mapping(schema, "")
    return out
