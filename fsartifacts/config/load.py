"""Find, read and validate the project configuration.

:func:`load_config` is the whole of it: find the file, read its YAML (with an
environment's overlay), expand ``${VAR}``, validate it with cerberus, and map
fsartifacts.yaml or skelebot.yaml to the data model. The steps live in the
other modules of this package, which their callers import from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsartifacts.config.build import build_repository, transfer_settings
from fsartifacts.config.file import flavour_of, locate, overlay, read_yaml
from fsartifacts.config.model import ENV_ENV, Config, Repository
from fsartifacts.config.problems import ConfigValidationError, cerberus_problems, raise_if
from fsartifacts.config.schema import (
    check_repository,
    fsartifacts_schema,
    repository_schema,
    validate,
)
from fsartifacts.config.values import expand_variables, kind_of, stores_in
from fsartifacts.errors import ConfigError
from fsartifacts.versioning import parse_version, read_version_file

__all__ = [
    "ENV_ENV",
    "Config",
    "ConfigValidationError",
    "Repository",
    "load_config",
]

_SKELEBOT_PREFIX = "components.repository"


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    start: Path | None = None,
    explicit: str | os.PathLike[str] | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    jobs: int | None = None,
) -> Config:
    """Find, read, expand and validate the configuration.

    ``path`` (or ``explicit``, the ``--config`` value) names the file; without either,
    ``$FSARTIFACTS_CONFIG`` and then the walk up from ``start`` (the current directory)
    find it. ``env_name`` (``-e/--env``, else ``$FSARTIFACTS_ENV``) overlays the
    environment file; ``jobs`` is ``-j/--jobs``. ``environ`` defaults to ``os.environ``
    and serves ``${VAR}``, the ``FSARTIFACTS_*`` variables and nothing else.
    """
    env = os.environ if environ is None else environ
    config_path, warnings = locate(start, path or explicit, env)
    root = config_path.parent
    data = read_yaml(config_path)
    env_name = env_name or env.get(ENV_ENV) or None
    source = str(config_path)
    if env_name:
        data, env_file = overlay(config_path, data, env_name)
        source = f"{config_path} (with {env_file.name})"
    flavour = flavour_of(config_path, data)
    if flavour == "skelebot":
        repository, version, file_transfer = _skelebot(data, root, env, source, warnings)
    else:
        repository, version, file_transfer = _fsartifacts(data, root, env, source, warnings)
    transfer = transfer_settings(file_transfer, repository.kind, env, jobs)
    if not repository.artifacts:
        warnings.append("no artifacts are declared: push and pull have nothing to do")
    return Config(
        path=config_path,
        root=root,
        flavour=flavour,
        repository=repository,
        transfer=transfer,
        version=version,
        warnings=tuple(warnings),
        env=env_name,
    )


def _fsartifacts(
    data: dict[str, Any],
    root: Path,
    environ: Mapping[str, str],
    source: str,
    warnings: list[str],
) -> tuple[Repository, str | None, dict[str, Any]]:
    expand_errors: list[str] = []
    data = expand_variables(data, "", environ, expand_errors)
    if expand_errors:
        raise ConfigValidationError(expand_errors, source=source)
    repository = data.get("repository")
    was_mapping = isinstance(repository, dict) and _artifacts_as_list(repository)
    document, problems = validate(data, fsartifacts_schema(), strict=True)
    lines = cerberus_problems(problems, "", was_mapping)
    lines += check_repository(repository, "repository", True, was_mapping, warnings)
    raise_if(lines, source)
    built = build_repository(document["repository"], root, "repository", source, warnings)
    version = document.get("version")
    return built, (version.strip() if version else None), document.get("transfer") or {}


def _skelebot(
    data: dict[str, Any],
    root: Path,
    environ: Mapping[str, str],
    source: str,
    warnings: list[str],
) -> tuple[Repository, None, dict[str, Any]]:
    """Only components.repository is read, as leniently as skelebot reads it."""
    components = data.get("components")
    repository = components.get("repository") if isinstance(components, dict) else None
    if repository is None:
        raise ConfigValidationError(
            [
                f"{_SKELEBOT_PREFIX}: required field; add the repository component "
                "(s3, artifactory or url, and artifacts)"
            ],
            source=source,
        )
    if not isinstance(repository, dict):
        raise ConfigValidationError(
            [f"{_SKELEBOT_PREFIX}: must be a mapping (key: value) (got {kind_of(repository)})"],
            source=source,
        )
    kinds = stores_in(repository)
    if len(kinds) > 1:
        # skelebot's choice (repository.py: `if s3 ... elif artifactory`), kept for compatibility
        warnings.append(
            f"{_SKELEBOT_PREFIX}: {' and '.join(kinds)} are all set; using {kinds[0]} as "
            f"skelebot does, and ignoring {', '.join(kinds[1:])}"
        )
        repository = {k: v for k, v in repository.items() if k not in kinds[1:]}
    if "artifacts" not in repository:
        # skelebot's schema makes artifacts optional, then indexes them: one line here
        raise ConfigValidationError(
            [
                f"{_SKELEBOT_PREFIX}.artifacts: required field; list the artifacts "
                "(name and file of each) to push and pull"
            ],
            source=source,
        )
    expand_errors: list[str] = []
    repository = expand_variables(repository, _SKELEBOT_PREFIX, environ, expand_errors)
    if expand_errors:
        raise ConfigValidationError(expand_errors, source=source)
    was_mapping = _artifacts_as_list(repository)
    schema = repository_schema(False)
    document, problems = validate(repository, schema, strict=False)
    lines = cerberus_problems(problems, _SKELEBOT_PREFIX, was_mapping)
    lines += check_repository(repository, _SKELEBOT_PREFIX, False, was_mapping, warnings)
    raise_if(lines, source)
    _warn_skelebot_version(data.get("version"), root, warnings)
    built = build_repository(document, root, _SKELEBOT_PREFIX, source, warnings)
    return built, None, {}


def _warn_skelebot_version(declared: Any, root: Path, warnings: list[str]) -> None:
    """skelebot ignores a ``version:`` key (its version lives in VERSION); say so if it misleads."""
    if declared is None:
        return
    declared_text = str(declared).strip()
    in_file = read_version_file(root)
    if in_file is None:
        warnings.append(
            f"skelebot.yaml: version: {declared_text} is ignored, as skelebot ignores it; "
            "write the version in a VERSION file next to skelebot.yaml"
        )
    elif not _same_version(declared_text, in_file):
        warnings.append(
            f"skelebot.yaml: version: {declared_text} is ignored, as skelebot ignores it; "
            f"the VERSION file says {in_file}"
        )


def _same_version(a: str, b: str) -> bool:
    try:
        return parse_version(a, source="") == parse_version(b, source="")
    except ConfigError:
        return a == b


def _artifacts_as_list(repository: dict[str, Any]) -> bool:
    """Allow ``artifacts:`` as one mapping (the skelebot docs show that form too)."""
    artifacts = repository.get("artifacts")
    if isinstance(artifacts, dict):
        repository["artifacts"] = [artifacts]
        return True
    return False
