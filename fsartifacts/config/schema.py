"""What a valid configuration looks like: cerberus schemas, their rules, cross-key checks.

cerberus is imported on first use (:func:`validator_class`): it costs tens of
milliseconds, and only a command that reads a config file needs it. The schemas are
constants of this package, so cerberus's check of a schema itself (its rules known, its
constraints well-formed: tens of milliseconds more, at every start) is made by the tests
(``tests/config/test_schema.py``), not by each run: a run hands cerberus the schema as
already checked.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from fsartifacts.config.problems import KeyPath, explain, flatten, render_key_path
from fsartifacts.config.values import (
    as_text,
    control_problem,
    ext_problem,
    name_problem,
    parse_count,
    parse_seconds,
    parse_size,
    path_problem,
    scheme_typo_problem,
    store_url_problem,
    stores_in,
    url_syntax_problem,
)
from fsartifacts.errors import ConfigError
from fsartifacts.escaping import has_control_characters
from fsartifacts.stores.artifactory.settings import AUTH_TYPES, repo_key_problem
from fsartifacts.stores.s3.settings import CHECKSUM_MODES, parse_bucket
from fsartifacts.urls import with_scheme
from fsartifacts.versioning import parse_version
from fsartifacts.versionspec import VersionSpec


def _artifact_schema(strict: bool) -> dict[str, Any]:
    return {
        "name": {
            "type": "string",
            "required": True,
            "empty": False,
            "check_with": "artifact_name" if strict else "loose_artifact_name",
        },
        "file": {
            "type": "string",
            "required": True,
            "empty": False,
            **({"check_with": "project_path"} if strict else {}),
        },
        "singular": {"type": "boolean"},
        "ext": {"type": "string", "nullable": True, "check_with": "extension"},
        "version": {
            "type": "string",
            "nullable": True,
            "coerce": "text",
            "check_with": "version_spec",
        },
    }


_S3_SCHEMA: dict[str, Any] = {
    "bucket": {"type": "string", "required": True, "empty": False, "check_with": "bucket"},
    "region": {"type": "string", "empty": False},
    "profile": {"type": "string", "empty": False},
    "endpoint_url": {"type": "string", "empty": False, "check_with": "url_syntax"},
    "checksums": {"type": "string", "check_with": "checksums"},
    "extra_args": {"type": "dict", "keysrules": {"type": "string"}},
}

_AUTH_SCHEMA: dict[str, Any] = {
    "authType": {"type": "string", "check_with": "auth_type"},
    "aws": {"type": "boolean"},
    "awsSecret": {"type": "string", "empty": False},
    "awsProfile": {"type": "string", "empty": False},
    "awsRegion": {"type": "string", "empty": False},
}

_ARTIFACTORY_SCHEMA: dict[str, Any] = {
    "url": {"type": "string", "required": True, "empty": False, "check_with": "http_url"},
    "repo": {"type": "string", "required": True, "empty": False, "check_with": "repo_name"},
    "path": {"type": "string", "nullable": True, "check_with": "printable_text"},
    "verify": {"type": ["boolean", "string"], "empty": False},
    "cert": {"type": ["string", "list"], "nullable": True, "check_with": "cert"},
    "auth": {"type": "dict", "schema": _AUTH_SCHEMA},
}

_TRANSFER_SCHEMA: dict[str, Any] = {
    "jobs": {"check_with": "count"},
    "attempts": {"check_with": "count"},
    "timeout": {"check_with": "seconds"},
    "part_size": {"check_with": "size"},
    "ranges": {"check_with": "count"},
    "range_size": {"check_with": "size"},
    "ranged_from": {"check_with": "size"},
}


def repository_schema(strict: bool) -> dict[str, Any]:
    """The repository mapping: strict for fsartifacts.yaml, lenient as skelebot for its file."""
    return {
        "s3": {"type": "dict", "schema": _S3_SCHEMA},
        "artifactory": {"type": "dict", "schema": _ARTIFACTORY_SCHEMA},
        "url": {"type": "string", "empty": False, "check_with": "store_url"},
        "options": {"type": "dict", "keysrules": {"type": "string"}},
        "artifacts": {
            "type": "list",
            "required": True,
            "schema": {"type": "dict", "schema": _artifact_schema(strict)},
        },
    }


def fsartifacts_schema() -> dict[str, Any]:
    """The whole of fsartifacts.yaml."""
    return {
        "version": {"type": "string", "coerce": "text", "check_with": "semver"},
        "repository": {"type": "dict", "required": True, "schema": repository_schema(True)},
        "transfer": {"type": "dict", "schema": _TRANSFER_SCHEMA},
    }


@functools.cache
def validator_class() -> type:
    """cerberus with fsartifacts' rules; built on first use, as importing cerberus costs."""
    import cerberus

    def rule(check: Any) -> Any:
        def method(self: Any, field: str, value: Any) -> None:
            if value is None:
                return  # cerberus itself says "null value not allowed" / "no value given"
            problem = check(value)
            if problem:
                self._error(field, problem)

        return method

    def semver_problem(value: Any) -> str | None:
        try:
            parse_version(value, source="")
        except ConfigError:
            return (
                f"{value!r} is not a semantic version; write MAJOR.MINOR.PATCH "
                "such as 1.4.0 (or 1.4.0-rc.1)"
            )
        return None

    def version_spec_problem(value: Any) -> str | None:
        try:
            VersionSpec.parse(value, source="")
        except ConfigError as exc:
            return str(exc).removeprefix(": ")
        return None

    def loose_name_problem(name: str) -> str | None:
        if has_control_characters(name):
            return control_problem(name)
        if "/" in name or "\\" in name or name.strip() in ("", ".", ".."):
            return f"{name!r} cannot name a file on the remote; drop '/' and '\\'"
        return None

    def bucket_problem(bucket: str) -> str | None:
        typo = control_problem(bucket) or scheme_typo_problem(bucket)
        if typo:
            return typo
        try:
            parse_bucket(bucket)
        except ConfigError:
            return f"{bucket!r} names no bucket; write my-bucket or my-bucket/key/prefix"
        return None

    def url_problem(url: str) -> str | None:
        typo = scheme_typo_problem(url)
        if typo:
            return typo
        scheme, sep, rest = url.partition("://")
        if sep and scheme.lower() not in ("http", "https"):
            return f"{url!r} must be an http:// or https:// URL"
        if not (rest if sep else url).split("/")[0]:
            return f"{url!r} names no host; write https://host/artifactory"
        return url_syntax_problem(with_scheme(url))

    def repo_problem(repo: str) -> str | None:
        return control_problem(repo) or repo_key_problem(repo)

    def cert_problem(cert: Any) -> str | None:
        if isinstance(cert, list) and (
            len(cert) != 2 or not all(isinstance(c, str) and c for c in cert)
        ):
            return "must be a certificate path, or a list [certificate, key] of two paths"
        return None

    def choice(allowed: Sequence[str], aliases: Mapping[str, str] | None = None) -> Any:
        def check(value: str) -> str | None:
            if value in allowed or value in (aliases or {}):
                return None
            return f"{value!r} is not one of {', '.join(allowed)}"

        return check

    def parsed_by(parse: Any) -> Any:
        def check(value: Any) -> str | None:
            try:
                parse(value)
            except ValueError as exc:
                return str(exc)
            return None

        return check

    def optional(check: Any) -> Any:
        return lambda value: None if value is None else check(value)

    rules = {
        "artifact_name": name_problem,
        "loose_artifact_name": loose_name_problem,
        "project_path": path_problem,
        "extension": optional(ext_problem),
        "semver": optional(semver_problem),
        "version_spec": optional(version_spec_problem),
        "bucket": bucket_problem,
        "http_url": url_problem,
        "store_url": store_url_problem,
        "printable_text": control_problem,
        "url_syntax": url_syntax_problem,
        "repo_name": repo_problem,
        "cert": optional(cert_problem),
        "checksums": choice(CHECKSUM_MODES),
        "auth_type": choice(
            tuple(dict.fromkeys(AUTH_TYPES.values())),
            {alias: name for alias, name in AUTH_TYPES.items() if alias != name},
        ),
        "count": parsed_by(parse_count),
        "seconds": parsed_by(parse_seconds),
        "size": parsed_by(parse_size),
    }
    namespace: dict[str, Any] = {f"_check_with_{name}": rule(c) for name, c in rules.items()}
    namespace["_normalize_coerce_text"] = lambda self, value: as_text(value)
    return type("FsArtifactsValidator", (cerberus.Validator,), namespace)


# --------------------------------------------------------------------------- validation


def validate(
    document: dict[str, Any], schema: dict[str, Any], *, strict: bool
) -> tuple[dict[str, Any], list[tuple[KeyPath, str]]]:
    """Normalized document and (key path, problem) pairs; lenient mode drops unknown keys."""
    from cerberus.schema import UnvalidatedSchema

    validator = validator_class()(UnvalidatedSchema(schema), purge_unknown=not strict)
    if validator.validate(document):
        return validator.document, []
    problems = [
        explain(message, path, document, schema) for path, message in flatten(validator.errors)
    ]
    return validator.document, problems


def check_repository(
    repository: Any, prefix: str, strict: bool, was_mapping: bool, warnings: list[str]
) -> list[tuple[int, str]]:
    """Rules across keys, which cerberus cannot say well: (depth, line) pairs."""
    if not isinstance(repository, dict):
        return []
    out: list[tuple[int, str]] = []
    kinds = stores_in(repository)
    if not kinds:
        out.append((0, f"{prefix}: no store configured; add one of s3, artifactory or url"))
    elif len(kinds) > 1 and strict:
        out.append(
            (
                0,
                f"{prefix}: {' and '.join(kinds)} are both set; keep exactly one of "
                "s3, artifactory or url",
            )
        )
    if strict and repository.get("options") is not None and "url" not in kinds:
        out.append((1, f"{prefix}.options: storage options are only used with url"))
    artifacts = repository.get("artifacts")
    if not isinstance(artifacts, list):
        return out
    seen: dict[str, int] = {}
    for index, item in enumerate(artifacts):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        where = render_key_path(prefix, ("artifacts", index, "name"), was_mapping)
        if name in seen:
            first = render_key_path("", ("artifacts", seen[name]), was_mapping)
            if strict:
                out.append((3, f"{where}: duplicate artifact name {name!r} (also {first})"))
            else:
                warnings.append(
                    f"{where}: artifact {name!r} is declared twice; "
                    "the last one is used, as skelebot does"
                )
        seen[name] = index
    return out
