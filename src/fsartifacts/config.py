"""Find, read and validate the project configuration.

The data model below is what the rest of fsartifacts sees; how it is found and
loaded (fsartifacts.yaml or skelebot.yaml, environments, ``${VAR}``, cerberus)
follows it.
"""

from __future__ import annotations

import functools
import math
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError
from .version import parse_version, read_version_file

StoreKind = Literal["s3", "artifactory", "url"]
ConfigFlavour = Literal["fsartifacts", "skelebot"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Artifact:
    """One artifact of the project, as configured."""

    name: str
    file: str  # relative to the project root, POSIX separators, as written in the config
    singular: bool = False
    ext: str | None = None  # explicit remote extension, dot included (".pkl"), or None
    version: str | None = None  # a pinned version of its own, or None for the project's


@dataclass(frozen=True)
class Repository:
    """Where artifacts go: exactly one of the three store kinds."""

    kind: StoreKind
    s3: dict[str, Any] | None = None
    artifactory: dict[str, Any] | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)


@dataclass(frozen=True)
class TransferSettings:
    jobs: int = 4
    attempts: int = 5
    timeout: float = 60.0
    part_size: int = 8 * MiB


@dataclass(frozen=True)
class Config:
    """A loaded, validated configuration."""

    path: Path  # the config file that was read
    root: Path  # the project root: the folder holding it
    flavour: ConfigFlavour
    repository: Repository
    transfer: TransferSettings = field(default_factory=TransferSettings)
    version: str | None = None  # `version:` of fsartifacts.yaml (never read from skelebot.yaml)
    warnings: tuple[str, ...] = ()
    env: str | None = None  # the environment overlay applied (-e/--env), if any


# --------------------------------------------------------------------------- names and limits

CONFIG_FILE = "fsartifacts.yaml"
SKELEBOT_FILE = "skelebot.yaml"
ENV_CONFIG = "FSARTIFACTS_CONFIG"
ENV_ENV = "FSARTIFACTS_ENV"
ENV_JOBS = "FSARTIFACTS_JOBS"
ENV_ATTEMPTS = "FSARTIFACTS_ATTEMPTS"
ENV_TIMEOUT = "FSARTIFACTS_TIMEOUT"
ENV_PART_SIZE = "FSARTIFACTS_PART_SIZE"

STORE_KINDS: tuple[StoreKind, ...] = ("s3", "artifactory", "url")
RESERVED_NAMES = frozenset({"ALL", "LATEST"})  # command keywords, compared in any case
AUTH_TYPES = ("user_pass", "token", "api_key", "none")
AUTH_ALIASES = {"apikey": "api_key"}  # skelebot's spelling
CHECKSUM_MODES = ("when_supported", "when_required")
GiB = 1024 * MiB
S3_PART_RANGE = (5 * MiB, 5 * GiB)  # S3's own limits on a multipart part

_SAFE_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_SKELEBOT_PREFIX = "components.repository"


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


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an artifact name in fsartifacts.yaml, or None when it can."""
    if not _SAFE_CHARS.fullmatch(name):
        return f"{name!r} may hold only letters, digits, '.', '_' and '-'"
    if name in (".", ".."):
        return f"{name!r} is not a usable name"
    if name.upper() in RESERVED_NAMES:
        return f"{name!r} is reserved (ALL and LATEST are command keywords, in any case)"
    return None


# --------------------------------------------------------------------------- finding the file


def find_config(
    start: Path | None = None,
    explicit: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The config file to read: ``--config``, else ``$FSARTIFACTS_CONFIG``, else walk up.

    A relative ``explicit`` or ``$FSARTIFACTS_CONFIG`` is taken from ``start`` (the
    current directory by default), as a shell would.
    """
    return _locate(start, explicit, os.environ if env is None else env)[0]


def _locate(
    start: Path | None, explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> tuple[Path, list[str]]:
    base = Path(start) if start is not None else Path.cwd()
    if explicit:
        return _given_file(base, explicit, "--config"), []
    from_env = environ.get(ENV_CONFIG)
    if from_env:
        return _given_file(base, from_env, f"${ENV_CONFIG}"), []
    return _walk_up(base.resolve())


def _given_file(base: Path, value: str | os.PathLike[str], source: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    if path.is_dir():
        for name in (CONFIG_FILE, SKELEBOT_FILE):
            if (path / name).is_file():
                return (path / name).resolve()
        raise ConfigError(
            f"{source}: the folder {path} holds neither {CONFIG_FILE} nor {SKELEBOT_FILE}; "
            "give the path of the config file"
        )
    if not path.is_file():
        raise ConfigError(
            f"{source}: no such file {path}; give the path of {CONFIG_FILE} or {SKELEBOT_FILE}"
        )
    return path.resolve()


def _walk_up(base: Path) -> tuple[Path, list[str]]:
    for folder in (base, *base.parents):
        ours, skelebot = folder / CONFIG_FILE, folder / SKELEBOT_FILE
        if ours.is_file():
            warnings = []
            if skelebot.is_file():
                warnings.append(
                    f"both {CONFIG_FILE} and {SKELEBOT_FILE} are in {folder}: "
                    f"using {CONFIG_FILE}, {SKELEBOT_FILE} is ignored"
                )
            return ours, warnings
        if skelebot.is_file():
            return skelebot, []
    raise ConfigError(
        f"no {CONFIG_FILE} or {SKELEBOT_FILE} in {base} or any folder above it; "
        f"create {CONFIG_FILE} in the project root, or pass --config FILE "
        f"(or set ${ENV_CONFIG})"
    )


def _flavour_of(path: Path, data: Mapping[str, Any]) -> ConfigFlavour:
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


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    try:
        data = yaml.safe_load(text)
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
            [f"the top level must be a mapping of keys (key: value), not a {_kind(data)}"],
            source=path,
        )
    return data


def _overlay(path: Path, data: dict[str, Any], env_name: str) -> tuple[dict[str, Any], Path]:
    """skelebot's environments: the ENV file replaces whole top-level keys."""
    if not _SAFE_CHARS.fullmatch(env_name) or env_name in (".", ".."):
        raise ConfigError(
            f"-e/--env: {env_name!r} is not a usable environment name; "
            "use letters, digits, '.', '_' or '-'"
        )
    env_file = path.with_name(f"{path.stem}-{env_name}{path.suffix}")
    if not env_file.is_file():
        raise ConfigError(
            f"environment {env_name!r}: there is no {env_file.name} next to {path}; "
            f"create it, or drop -e/--env (and ${ENV_ENV})"
        )
    merged = dict(data)
    merged.update(_read_yaml(env_file))
    return merged, env_file


# --------------------------------------------------------------------------- ${VAR} expansion

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def _expand(value: Any, path: str, environ: Mapping[str, str], errors: list[str]) -> Any:
    """``${VAR}`` and ``${VAR:-default}`` in every string value (keys are left alone)."""
    if isinstance(value, str):
        return _expand_text(value, path, environ, errors)
    if isinstance(value, dict):
        return {k: _expand(v, _join(path, k), environ, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, _join(path, i), environ, errors) for i, v in enumerate(value)]
    return value


def _expand_text(text: str, path: str, environ: Mapping[str, str], errors: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":  # an escaped, literal "${"
            return "${"
        inner = match.group(1)
        parsed = _VARIABLE.fullmatch(inner)
        if parsed is None:
            errors.append(
                f"{path}: malformed reference ${{{inner}}}; write ${{NAME}} or ${{NAME:-default}}"
            )
            return match.group(0)
        name, default = parsed.group(1), parsed.group(2)
        value = environ.get(name)
        if default is not None and not value:  # the shell's ":-": unset or empty
            return default
        if value is None:
            errors.append(
                f"{path}: environment variable {name} is not set; set it, "
                f"or give a default as ${{{name}:-default}}"
            )
            return match.group(0)
        return value

    return _REFERENCE.sub(substitute, text)


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------- value rules

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)(B?)", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}


def parse_size(value: object) -> int:
    """Bytes from ``8388608``, ``"8MiB"``, ``"16MB"`` (decimal) or ``"8M"`` (binary, as rclone)."""
    problem = f"must be a size such as 8MiB, 16MB or 8388608 (got {value!r})"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE.fullmatch(value.strip())):
        number, unit, binary, byte = match.groups()
        power = _POWERS[unit.upper()]
        decimal = bool(unit) and bool(byte) and not binary  # "MB" is 10**6, "M" and "MiB" 2**20
        if binary and not unit:
            raise ValueError(problem)
        size = int(float(number) * (1000 if decimal else 1024) ** power)
    else:
        raise ValueError(problem)
    if size < 1:
        raise ValueError(f"must be at least 1 byte (got {value!r})")
    return size


def _parse_count(value: object) -> int:
    problem = f"must be a whole number of at least 1 (got {value!r})"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value.strip())
    else:
        raise ValueError(problem)
    if count < 1:
        raise ValueError(problem)
    return count


def _parse_seconds(value: object) -> float:
    problem = f"must be a number of seconds above 0, such as 60 or 0.5 (got {value!r})"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(problem)
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(problem) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(problem)
    return seconds


def _path_problem(file: str) -> str | None:
    """Why an artifact ``file`` leaves the project root, or None when it stays inside."""
    if file.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", file):
        return f"{file!r} is absolute; give a path relative to the project root"
    normal = posixpath.normpath(file.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"{file!r} leaves the project root; keep artifacts inside the project"
    if normal == ".":
        return f"{file!r} is the project root itself; name a file or folder inside it"
    return None


def _ext_problem(ext: str) -> str | None:
    if not ext.startswith(".") or len(ext) < 2 or not _SAFE_CHARS.fullmatch(ext):
        return (
            f"{ext!r} must start with '.' and hold only letters, digits, '.', '_' and '-' "
            "(like .pkl or .tar.gz)"
        )
    return None


def _as_text(value: Any) -> Any:
    """YAML reads ``version: 2`` as a number; versions are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _kind(value: object) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number"}
    names.update({list: "list", dict: "mapping", type(None): "null"})
    return names.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- schemas


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
        "version": {"type": "string", "nullable": True, "coerce": "text", "check_with": "semver"},
    }


_S3_SCHEMA: dict[str, Any] = {
    "bucket": {"type": "string", "required": True, "empty": False, "check_with": "bucket"},
    "region": {"type": "string", "empty": False},
    "profile": {"type": "string", "empty": False},
    "endpoint_url": {"type": "string", "empty": False},
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
    "path": {"type": "string", "nullable": True},
    "verify": {"type": ["boolean", "string"], "empty": False},
    "cert": {"type": ["string", "list"], "nullable": True, "check_with": "cert"},
    "auth": {"type": "dict", "schema": _AUTH_SCHEMA},
}

_TRANSFER_SCHEMA: dict[str, Any] = {
    "jobs": {"check_with": "count"},
    "attempts": {"check_with": "count"},
    "timeout": {"check_with": "seconds"},
    "part_size": {"check_with": "size"},
}


def _repository_schema(strict: bool) -> dict[str, Any]:
    return {
        "s3": {"type": "dict", "schema": _S3_SCHEMA},
        "artifactory": {"type": "dict", "schema": _ARTIFACTORY_SCHEMA},
        "url": {"type": "string", "empty": False},
        "options": {"type": "dict", "keysrules": {"type": "string"}},
        "artifacts": {
            "type": "list",
            "required": True,
            "schema": {"type": "dict", "schema": _artifact_schema(strict)},
        },
    }


def _fsartifacts_schema() -> dict[str, Any]:
    return {
        "version": {"type": "string", "coerce": "text", "check_with": "semver"},
        "repository": {"type": "dict", "required": True, "schema": _repository_schema(True)},
        "transfer": {"type": "dict", "schema": _TRANSFER_SCHEMA},
    }


@functools.cache
def _validator_class() -> type:
    """cerberus with fsartifacts' rules; built on first use, as importing cerberus costs."""
    import cerberus

    def rule(check: Any) -> Any:
        def method(self: Any, field: str, value: Any) -> None:
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

    def loose_name_problem(name: str) -> str | None:
        if "/" in name or "\\" in name or name.strip() in ("", ".", ".."):
            return f"{name!r} cannot name a file on the remote; drop '/' and '\\'"
        return None

    def bucket_problem(bucket: str) -> str | None:
        if not _strip_bucket(bucket).split("/")[0]:
            return f"{bucket!r} names no bucket; write my-bucket or my-bucket/key/prefix"
        return None

    def url_problem(url: str) -> str | None:
        scheme, sep, rest = url.partition("://")
        if sep and scheme.lower() not in ("http", "https"):
            return f"{url!r} must be an http:// or https:// URL"
        if not (rest if sep else url).split("/")[0]:
            return f"{url!r} names no host; write https://host/artifactory"
        return None

    def repo_problem(repo: str) -> str | None:
        return None if repo.strip("/") else f"{repo!r} names no repository"

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
        "project_path": _path_problem,
        "extension": optional(_ext_problem),
        "semver": optional(semver_problem),
        "bucket": bucket_problem,
        "http_url": url_problem,
        "repo_name": repo_problem,
        "cert": optional(cert_problem),
        "checksums": choice(CHECKSUM_MODES),
        "auth_type": choice(AUTH_TYPES, AUTH_ALIASES),
        "count": parsed_by(_parse_count),
        "seconds": parsed_by(_parse_seconds),
        "size": parsed_by(parse_size),
    }
    namespace: dict[str, Any] = {f"_check_with_{name}": rule(c) for name, c in rules.items()}
    namespace["_normalize_coerce_text"] = lambda self, value: _as_text(value)
    return type("FsArtifactsValidator", (cerberus.Validator,), namespace)


def _strip_bucket(bucket: str) -> str:
    bucket = bucket.strip()
    if bucket.lower().startswith("s3://"):
        bucket = bucket[5:]
    return bucket.strip("/")


# --------------------------------------------------------------------------- validation


KeyPath = tuple[str | int, ...]


def _validate(
    document: dict[str, Any], schema: dict[str, Any], *, strict: bool
) -> tuple[dict[str, Any], list[tuple[KeyPath, str]]]:
    """Normalized document and (key path, problem) pairs; lenient mode drops unknown keys."""
    validator = _validator_class()(schema, purge_unknown=not strict)
    if validator.validate(document):
        return validator.document, []
    problems = []
    for path, message in _flatten(validator.errors):
        problems.append((path, _explain(message, path, document, schema)))
    return validator.document, problems


def _flatten(tree: Mapping[Any, Any], prefix: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """cerberus' nested error dicts as (key path, message) pairs."""
    out: list[tuple[KeyPath, str]] = []
    for key, items in tree.items():
        path = (*prefix, key)
        for item in items:
            if isinstance(item, dict):
                out.extend(_flatten(item, path))
            else:
                out.append((path, str(item)))
    return out


def _explain(message: str, path: KeyPath, document: Any, schema: dict[str, Any]) -> str:
    """cerberus' terse messages, with what was found or expected."""
    if message == "unknown field":
        known = _known_keys(schema, path[:-1])
        return f"unknown key; known keys here: {', '.join(known)}" if known else "unknown key"
    if message.startswith("must be of ") and message.endswith(" type"):
        message = message.replace("of dict type", "a mapping (key: value)")
        return f"{message} (got {_kind(_value_at(document, path))})"
    if message == "null value not allowed":
        return "no value given; give one or remove the key"
    if message == "empty values not allowed":
        return "empty value; give one or remove the key"
    return message


def _value_at(document: Any, path: KeyPath) -> Any:
    for key in path:
        try:
            document = document[key]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def _known_keys(schema: dict[str, Any], path: KeyPath) -> list[str]:
    """The keys the schema knows in the mapping at ``path``."""
    mapping: dict[str, Any] | None = schema
    item_rules: dict[str, Any] | None = None
    for key in path:
        if isinstance(key, int):
            mapping = item_rules.get("schema") if item_rules else None
            item_rules = None
            continue
        rules = (mapping or {}).get(key) or {}
        if rules.get("type") == "list":
            item_rules, mapping = rules.get("schema"), None
        else:
            mapping, item_rules = rules.get("schema"), None
    return list(mapping or {})


def _render(prefix: str, path: KeyPath, artifacts_was_mapping: bool) -> str:
    text = prefix
    for index, key in enumerate(path):
        if artifacts_was_mapping and key == 0 and index > 0 and path[index - 1] == "artifacts":
            continue  # the file wrote one mapping, not a list: do not show an index
        text = _join(text, key)
    return text


def _artifacts_as_list(repository: dict[str, Any]) -> bool:
    """Allow ``artifacts:`` as one mapping (the skelebot docs show that form too)."""
    artifacts = repository.get("artifacts")
    if isinstance(artifacts, dict):
        repository["artifacts"] = [artifacts]
        return True
    return False


def _stores_in(repository: Mapping[str, Any]) -> list[StoreKind]:
    return [kind for kind in STORE_KINDS if repository.get(kind) is not None]


def _check_repository(
    repository: Any, prefix: str, strict: bool, was_mapping: bool, warnings: list[str]
) -> list[tuple[int, str]]:
    """Rules across keys, which cerberus cannot say well: (depth, line) pairs."""
    if not isinstance(repository, dict):
        return []
    out: list[tuple[int, str]] = []
    kinds = _stores_in(repository)
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
        where = _render(prefix, ("artifacts", index, "name"), was_mapping)
        if name in seen:
            first = _render("", ("artifacts", seen[name]), was_mapping)
            if strict:
                out.append((3, f"{where}: duplicate artifact name {name!r} (also {first})"))
            else:
                warnings.append(
                    f"{where}: artifact {name!r} is declared twice; "
                    "the last one is used, as skelebot does"
                )
        seen[name] = index
    return out


def _raise_if(problems: list[tuple[int, str]], source: str) -> None:
    if problems:
        ordered = sorted(problems, key=lambda p: p[0])  # stable: shallow problems first
        raise ConfigValidationError([line for _, line in ordered], source=source)


def _cerberus_problems(
    problems: list[tuple[KeyPath, str]], prefix: str, was_mapping: bool
) -> list[tuple[int, str]]:
    return [
        (len(path), f"{_render(prefix, path, was_mapping)}: {message}")
        for path, message in problems
    ]


# --------------------------------------------------------------------------- loading


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
    config_path, warnings = _locate(start, path or explicit, env)
    root = config_path.parent
    data = _read_yaml(config_path)
    env_name = env_name or env.get(ENV_ENV) or None
    source = str(config_path)
    if env_name:
        data, env_file = _overlay(config_path, data, env_name)
        source = f"{config_path} (with {env_file.name})"
    flavour = _flavour_of(config_path, data)
    if flavour == "skelebot":
        repository, version, file_transfer = _skelebot(data, root, env, source, warnings)
    else:
        repository, version, file_transfer = _fsartifacts(data, root, env, source, warnings)
    transfer = _transfer(file_transfer, repository.kind, env, jobs)
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
    data = _expand(data, "", environ, expand_errors)
    if expand_errors:
        raise ConfigValidationError(expand_errors, source=source)
    repository = data.get("repository")
    was_mapping = isinstance(repository, dict) and _artifacts_as_list(repository)
    document, problems = _validate(data, _fsartifacts_schema(), strict=True)
    lines = _cerberus_problems(problems, "", was_mapping)
    lines += _check_repository(repository, "repository", True, was_mapping, warnings)
    _raise_if(lines, source)
    built = _build_repository(document["repository"], root, "repository", source, warnings)
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
            [f"{_SKELEBOT_PREFIX}: must be a mapping (got {_kind(repository)})"], source=source
        )
    kinds = _stores_in(repository)
    if len(kinds) > 1:
        # skelebot's choice (repository.py: `if s3 ... elif artifactory`), kept for compatibility
        warnings.append(
            f"{_SKELEBOT_PREFIX}: {' and '.join(kinds)} are all set; using {kinds[0]} as "
            f"skelebot does, and ignoring {', '.join(kinds[1:])}"
        )
        repository = {k: v for k, v in repository.items() if k not in kinds[1:]}
    if "artifacts" not in repository:
        # skelebot bug D2: its schema makes artifacts optional, then it indexes it
        raise ConfigValidationError(
            [
                f"{_SKELEBOT_PREFIX}.artifacts: required field; list the artifacts "
                "(name and file of each) to push and pull"
            ],
            source=source,
        )
    expand_errors: list[str] = []
    repository = _expand(repository, _SKELEBOT_PREFIX, environ, expand_errors)
    if expand_errors:
        raise ConfigValidationError(expand_errors, source=source)
    was_mapping = _artifacts_as_list(repository)
    schema = _repository_schema(False)
    document, problems = _validate(repository, schema, strict=False)
    lines = _cerberus_problems(problems, _SKELEBOT_PREFIX, was_mapping)
    lines += _check_repository(repository, _SKELEBOT_PREFIX, False, was_mapping, warnings)
    _raise_if(lines, source)
    _warn_skelebot_version(data.get("version"), root, warnings)
    built = _build_repository(document, root, _SKELEBOT_PREFIX, source, warnings)
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


# --------------------------------------------------------------------------- building the model


def _build_repository(
    document: Mapping[str, Any], root: Path, prefix: str, source: str, warnings: list[str]
) -> Repository:
    kind = _stores_in(document)[0]
    artifacts = _build_artifacts(document.get("artifacts") or [], prefix, warnings)
    if kind == "s3":
        return Repository(kind="s3", s3=_s3_settings(document["s3"]), artifacts=artifacts)
    if kind == "artifactory":
        settings = _artifactory_settings(document["artifactory"], root, prefix, source)
        return Repository(kind="artifactory", artifactory=settings, artifacts=artifacts)
    return Repository(
        kind="url",
        url=document["url"].strip(),
        options=dict(document.get("options") or {}),
        artifacts=artifacts,
    )


def _build_artifacts(
    items: Sequence[Mapping[str, Any]], prefix: str, warnings: list[str]
) -> tuple[Artifact, ...]:
    by_name: dict[str, Artifact] = {}  # a later duplicate replaces an earlier one (skelebot)
    for item in items:
        name, file = item["name"], item["file"]
        if name.upper() in RESERVED_NAMES:  # only reachable in skelebot.yaml
            warnings.append(
                f"{prefix}.artifacts: an artifact is named {name!r}, which is also a command "
                f"keyword; `{name.upper()}` on the command line means the keyword"
            )
        if _path_problem(file):  # only reachable in skelebot.yaml
            warnings.append(f"{prefix}.artifacts: artifact {name!r}: {_path_problem(file)}")
        version = item.get("version")
        by_name.pop(name, None)
        by_name[name] = Artifact(
            name=name,
            file=_normal_file(file),
            singular=bool(item.get("singular", False)),
            ext=item.get("ext"),
            version=str(parse_version(version, source="")) if version is not None else None,
        )
    return tuple(by_name.values())


def _normal_file(file: str) -> str:
    if file.startswith(("/", "~")):
        return file
    return posixpath.normpath(file.replace("\\", "/"))


def _s3_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    settings = {key: value for key, value in raw.items() if value is not None}
    settings["bucket"] = _strip_bucket(raw["bucket"])
    if "extra_args" in settings:
        settings["extra_args"] = dict(settings["extra_args"])
    return settings


def _artifactory_settings(
    raw: Mapping[str, Any], root: Path, prefix: str, source: str
) -> dict[str, Any]:
    url = raw["url"].strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"  # SPEC: no scheme means https (skelebot's docs write a bare host)
    auth = dict(raw.get("auth") or {})
    auth_type = auth.get("authType", "user_pass")
    settings: dict[str, Any] = {
        "url": url,
        "repo": raw["repo"].strip("/"),
        "path": (raw.get("path") or "").strip("/"),
        "verify": _verify(raw.get("verify", True), root, f"{prefix}.artifactory.verify", source),
        "auth": {
            "authType": AUTH_ALIASES.get(auth_type, auth_type),
            "aws": bool(auth.get("aws", False)),
            "awsSecret": auth.get("awsSecret", "Artifactory"),
            "awsProfile": auth.get("awsProfile"),
            "awsRegion": auth.get("awsRegion", "us-east-1"),
        },
    }
    cert = raw.get("cert")
    if isinstance(cert, str):
        settings["cert"] = _local_file(cert, root, f"{prefix}.artifactory.cert", source)
    elif isinstance(cert, list):
        where = f"{prefix}.artifactory.cert"
        settings["cert"] = tuple(_local_file(c, root, where, source) for c in cert)
    return settings


def _verify(value: bool | str, root: Path, where: str, source: str) -> bool | str:
    """True, False, or a CA bundle path; "true"/"false" text (say, from ${VAR}) is a boolean."""
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if value.strip().lower() in words:
        return words[value.strip().lower()]
    return _local_file(value, root, where, source)


def _local_file(value: str, root: Path, where: str, source: str) -> str:
    """A file the config names, relative to the project root; it must exist."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = root / path
    if not path.is_file():
        raise ConfigValidationError(
            [f"{where}: no such file {path}; give an existing path (relative to {root})"],
            source=source,
        )
    return str(path)


def _transfer(
    from_file: Mapping[str, Any], kind: StoreKind, environ: Mapping[str, str], jobs: int | None
) -> TransferSettings:
    """The file's values, then FSARTIFACTS_* variables, then ``-j``: the last given wins."""
    parsers = {
        "jobs": (_parse_count, ENV_JOBS),
        "attempts": (_parse_count, ENV_ATTEMPTS),
        "timeout": (_parse_seconds, ENV_TIMEOUT),
        "part_size": (parse_size, ENV_PART_SIZE),
    }
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, (parse, variable) in parsers.items():
        if from_file.get(key) is not None:
            values[key], origin[key] = parse(from_file[key]), f"transfer.{key}"
        text = environ.get(variable, "").strip()
        if text:
            try:
                values[key], origin[key] = parse(text), f"${variable}"
            except ValueError as exc:
                raise ConfigError(f"${variable}: {exc}; fix or unset the variable") from None
    if jobs is not None:
        try:
            values["jobs"], origin["jobs"] = _parse_count(jobs), "-j/--jobs"
        except ValueError as exc:
            raise ConfigError(f"-j/--jobs: {exc}") from None
    settings = TransferSettings(**values)
    low, high = S3_PART_RANGE
    if kind == "s3" and not low <= settings.part_size <= high:
        raise ConfigError(
            f"{origin['part_size']}: a part size of {settings.part_size} bytes is outside "
            f"S3's limits; give between 5MiB and 5GiB"
        )
    return settings


# --------------------------------------------------------------------------- showing the config

_SECRET_WORDS = (
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "sessionkey",
    "signature",
)
# Names, not secrets: awsSecret is the id of a secret in Secrets Manager.
_NOT_SECRET = frozenset({"awssecret"})
_USERINFO = re.compile(r"(?<=://)([^/@:\s]*):([^/@\s]*)@")
REDACTED = "***"


def is_secret_key(key: object) -> bool:
    """Whether a mapping key looks like it holds a secret (token, password, *_key, ...)."""
    normal = re.sub(r"[^a-z0-9]", "", str(key).lower())
    if normal in _NOT_SECRET:
        return False
    return any(word in normal for word in _SECRET_WORDS) or normal.endswith(("key", "keyid"))


def redacted(data: Any) -> Any:
    """A copy of ``data`` with secret-looking values, and passwords inside URLs, as ``***``."""
    if isinstance(data, Mapping):
        return {
            key: (REDACTED if is_secret_key(key) and value is not None else redacted(value))
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redacted(item) for item in data]
    if isinstance(data, str):
        return _USERINFO.sub(lambda m: f"{m.group(1)}:{REDACTED}@", data)
    if isinstance(data, Path):
        return str(data)
    return data


def config_as_dict(config: Config) -> dict[str, Any]:
    """The resolved configuration as plain data for ``fsartifacts validate``, redacted."""
    repo = config.repository
    if repo.kind == "s3":
        settings: dict[str, Any] = dict(repo.s3 or {})
    elif repo.kind == "artifactory":
        settings = dict(repo.artifactory or {})
    else:
        settings = {"url": repo.url, "options": dict(repo.options)}
    return redacted(
        {
            "config": str(config.path),
            "flavour": config.flavour,
            "environment": config.env,
            "root": str(config.root),
            "version": config.version,
            "repository": {"kind": repo.kind, repo.kind: settings},
            "artifacts": [
                {
                    "name": a.name,
                    "file": a.file,
                    "singular": a.singular,
                    "ext": a.ext,
                    "version": a.version,
                }
                for a in repo.artifacts
            ],
            "transfer": {
                "jobs": config.transfer.jobs,
                "attempts": config.transfer.attempts,
                "timeout": config.transfer.timeout,
                "part_size": config.transfer.part_size,
            },
            "warnings": list(config.warnings),
        }
    )
