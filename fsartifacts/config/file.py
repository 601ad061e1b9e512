"""Finding the config file and reading its YAML (and an environment's overlay file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fsartifacts import yamlio
from fsartifacts.config.model import CONFIG_FILE, ENV_CONFIG, ENV_ENV, SKELEBOT_FILE, ConfigFlavour
from fsartifacts.config.problems import ConfigValidationError
from fsartifacts.config.values import SAFE_CHARS, kind_of
from fsartifacts.errors import ConfigError
from fsartifacts.home import expand_home, no_home
from fsartifacts.localfiles import (
    CONFIG_LIMIT,
    UnreadableFile,
    not_regular_problem,
    read_small_text,
)


def find_config(
    start: Path | None = None,
    explicit: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The config file to read: ``--config``, else ``$FSARTIFACTS_CONFIG``, else walk up.

    A relative ``explicit`` or ``$FSARTIFACTS_CONFIG`` is taken from ``start`` (the
    current directory by default), as a shell would.
    """
    return locate(start, explicit, os.environ if env is None else env)[0]


def locate(
    start: Path | None, explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> tuple[Path, list[str]]:
    """The config file, and warnings about the choice (both files in one folder)."""
    base = Path(start) if start is not None else Path.cwd()
    if explicit:
        return _given_file(base, explicit, "--config"), []
    from_env = environ.get(ENV_CONFIG)
    if from_env:
        return _given_file(base, from_env, f"${ENV_CONFIG}"), []
    return _walk_up(base.resolve())


def _given_file(base: Path, value: str | os.PathLike[str], source: str) -> Path:
    path = expand_home(value)
    if path is None:
        raise ConfigError(f"{source}: {no_home(value)}; give the path of {CONFIG_FILE} in full")
    if not path.is_absolute():
        path = base / path
    if path.is_dir():
        for name in (CONFIG_FILE, SKELEBOT_FILE):
            if (path / name).exists():
                return (path / name).resolve()
        raise ConfigError(
            f"{source}: the folder {path} holds neither {CONFIG_FILE} nor {SKELEBOT_FILE}; "
            "give the path of the config file"
        )
    if not path.exists():
        raise ConfigError(
            f"{source}: no such file {path}; give the path of {CONFIG_FILE} or {SKELEBOT_FILE}"
        )
    problem = not_regular_problem(path)
    if problem:
        raise ConfigError(
            f"{source}: {path} {problem}; give the path of {CONFIG_FILE} or {SKELEBOT_FILE}"
        )
    return path.resolve()


def _walk_up(base: Path) -> tuple[Path, list[str]]:
    for folder in (base, *base.parents):
        # Whatever holds the name is the config (read_yaml refuses a FIFO or a device
        # by name), rather than walking past it to a config further up.
        ours, skelebot = folder / CONFIG_FILE, folder / SKELEBOT_FILE
        if ours.exists():
            warnings = []
            if skelebot.exists():
                warnings.append(
                    f"both {CONFIG_FILE} and {SKELEBOT_FILE} are in {folder}: "
                    f"using {CONFIG_FILE}, {SKELEBOT_FILE} is ignored"
                )
            return ours, warnings
        if skelebot.exists():
            return skelebot, []
    raise ConfigError(
        f"no {CONFIG_FILE} or {SKELEBOT_FILE} in {base} or any folder above it; "
        f"create {CONFIG_FILE} in the project root, or pass --config FILE "
        f"(or set ${ENV_CONFIG})"
    )


def flavour_of(path: Path, data: Mapping[str, Any]) -> ConfigFlavour:
    """skelebot.yaml (and skelebot-*.yaml) by name; any other name by its content."""
    name = path.name.lower()
    if name.startswith("skelebot"):
        return "skelebot"
    if name.startswith("fsartifacts"):
        return "fsartifacts"
    if "repository" not in data and isinstance(data.get("components"), dict):
        return "skelebot"
    return "fsartifacts"


# --------------------------------------------------------------------------- reading YAML


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file ({} when it is empty)."""
    try:
        text = read_small_text(path, CONFIG_LIMIT)
    except UnreadableFile as exc:
        raise ConfigError(f"{path} {exc.strerror}; the config must be a plain YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    try:
        data = yamlio.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigValidationError(
            [f"{where}YAML syntax error: {problem}; fix the YAML there"], source=path
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigValidationError([f"YAML error: {exc}"], source=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigValidationError(
            [f"the top level must be a mapping of keys (key: value), not {kind_of(data)}"],
            source=path,
        )
    return data


def overlay(path: Path, data: dict[str, Any], env_name: str) -> tuple[dict[str, Any], Path]:
    """skelebot's environments: the ENV file replaces whole top-level keys."""
    if not SAFE_CHARS.fullmatch(env_name) or env_name in (".", ".."):
        raise ConfigError(
            f"-e/--env: {env_name!r} is not a usable environment name; "
            "use letters, digits, '.', '_' or '-'"
        )
    env_file = path.with_name(f"{path.stem}-{env_name}{path.suffix}")
    if not env_file.exists():
        raise ConfigError(
            f"environment {env_name!r}: there is no {env_file.name} next to {path}; "
            f"create it, or drop -e/--env (and ${ENV_ENV})"
        )
    merged = dict(data)
    merged.update(read_yaml(env_file))
    return merged, env_file
