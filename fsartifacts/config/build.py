"""Building the data model from a validated document, and the transfer settings.

The document has passed the schema (:mod:`fsartifacts.config.schema`), so the
keys are there and have their types; what is left is normalising values
(paths, URLs, booleans written as text), checking files named in the config
exist, and letting ``FSARTIFACTS_*`` variables and ``-j`` override the file.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fsartifacts.config.booleans import parse_boolean
from fsartifacts.config.model import (
    ENV_ATTEMPTS,
    ENV_JOBS,
    ENV_PART_SIZE,
    ENV_RANGE_SIZE,
    ENV_RANGED_FROM,
    ENV_RANGES,
    ENV_TIMEOUT,
    RESERVED_NAMES,
    Artifact,
    Repository,
    StoreKind,
    TransferSettings,
)
from fsartifacts.config.problems import ConfigValidationError
from fsartifacts.config.values import (
    local_path_of,
    outside_root_problem,
    parse_count,
    parse_seconds,
    parse_size,
    path_problem,
    stores_in,
)
from fsartifacts.errors import ConfigError
from fsartifacts.home import expand_home, no_home
from fsartifacts.localfiles import file_kind
from fsartifacts.stores import check_transfer
from fsartifacts.stores.artifactory.settings import ArtifactorySettings, AuthSettings
from fsartifacts.stores.s3.settings import S3Settings, normal_bucket
from fsartifacts.urls import with_scheme
from fsartifacts.versioning import exact_version


def build_repository(
    document: Mapping[str, Any], root: Path, prefix: str, source: str, warnings: list[str]
) -> Repository:
    """The model of a validated repository mapping (``prefix``: its key path, for messages)."""
    kind = stores_in(document)[0]
    artifacts = _build_artifacts(document.get("artifacts") or [], root, prefix, source, warnings)
    settings = _SETTINGS[kind](document, root, prefix, source)
    return Repository(kind=kind, artifacts=artifacts, **settings)


def _url_settings(
    document: Mapping[str, Any], root: Path, prefix: str, source: str
) -> dict[str, Any]:
    url = document["url"].strip()
    _check_local_store(url, root, prefix, source)
    return {"url": url, "options": dict(document.get("options") or {})}


def _check_local_store(url: str, root: Path, prefix: str, source: str) -> None:
    """A local store must be a folder (or not exist yet: a push creates it)."""
    local = local_path_of(url)
    if not local:
        return
    path = Path(local) if Path(local).is_absolute() else root / local
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        problem = f"cannot be used as a folder ({exc.strerror or exc})"
    else:
        if stat.S_ISDIR(mode):
            return
        kind = file_kind(mode)
        problem = f"is {'a file' if kind == 'a regular file' else kind}, not a folder"
    raise ConfigValidationError(
        [f"{prefix}.url: {url!r} {problem}; name the folder that holds the artifacts"],
        source=source,
    )


def _build_artifacts(
    items: Sequence[Mapping[str, Any]], root: Path, prefix: str, source: str, warnings: list[str]
) -> tuple[Artifact, ...]:
    by_name: dict[str, Artifact] = {}  # a later duplicate replaces an earlier one (skelebot)
    outside: list[str] = []
    for item in items:
        name, file = item["name"], item["file"]
        problem = outside_root_problem(root, _normal_file(file))
        if problem:
            outside.append(f"{prefix}.artifacts: artifact {name!r}: file {problem}")
        if name.upper() in RESERVED_NAMES:  # only reachable in skelebot.yaml
            warnings.append(
                f"{prefix}.artifacts: an artifact is named {name!r}, which is also a command "
                f"keyword; `{name.upper()}` on the command line means the keyword"
            )
        if path_problem(file):  # only reachable in skelebot.yaml
            warnings.append(f"{prefix}.artifacts: artifact {name!r}: {path_problem(file)}")
        version = item.get("version")
        by_name.pop(name, None)
        by_name[name] = Artifact(
            name=name,
            file=_normal_file(file),
            singular=bool(item.get("singular", False)),
            ext=item.get("ext"),
            version=None if version is None else _version_text(str(version)),
        )
    if outside:
        raise ConfigValidationError(outside, source=source)
    return tuple(by_name.values())


def _version_text(text: str) -> str:
    """An artifact's ``version:`` as kept: an exact version normalized (``v1.2.0`` is
    ``1.2.0``), a range, LATEST or an alias as written."""
    exact = exact_version(text)
    return str(exact) if exact is not None else text.strip()


def _normal_file(file: str) -> str:
    if file.startswith(("/", "~")):
        return file
    return posixpath.normpath(file.replace("\\", "/"))


def _s3_settings(
    document: Mapping[str, Any], root: Path, prefix: str, source: str
) -> dict[str, Any]:
    raw = document["s3"]
    extra_args = raw.get("extra_args")
    settings = S3Settings(
        bucket=normal_bucket(raw["bucket"]),
        region=raw.get("region"),
        profile=raw.get("profile"),
        endpoint_url=raw.get("endpoint_url"),
        checksums=raw.get("checksums"),
        extra_args=dict(extra_args) if extra_args is not None else None,
    )
    return {"s3": settings}


def _artifactory_settings(
    document: Mapping[str, Any], root: Path, prefix: str, source: str
) -> dict[str, Any]:
    raw = document["artifactory"]
    url = with_scheme(raw["url"].strip().rstrip("/"))
    where = f"{prefix}.artifactory"
    cert = raw.get("cert")
    if isinstance(cert, str):
        cert = _local_file(cert, root, f"{where}.cert", source)
    elif isinstance(cert, list):
        first, second = (_local_file(c, root, f"{where}.cert", source) for c in cert)
        cert = (first, second)
    settings = ArtifactorySettings(
        url=url,
        repo=raw["repo"].strip("/"),
        path=(raw.get("path") or "").strip("/"),
        verify=_verify(raw.get("verify", True), root, f"{where}.verify", source),
        cert=cert,
        auth=AuthSettings.from_config(raw.get("auth")),
    )
    return {"artifactory": settings}


# The settings of each kind of store, by the repository key that names it.
_SETTINGS = {"s3": _s3_settings, "artifactory": _artifactory_settings, "url": _url_settings}


def _verify(value: bool | str, root: Path, where: str, source: str) -> bool | str:
    """True, False, or a CA bundle path; "true"/"false" text (say, from ${VAR}) is a boolean."""
    if isinstance(value, bool):
        return value
    boolean = parse_boolean(value)
    if boolean is not None:
        return boolean
    return _local_file(value, root, where, source)


def _local_file(value: str, root: Path, where: str, source: str) -> str:
    """A file the config names, relative to the project root; it must exist."""
    path = expand_home(value)
    if path is None:
        raise ConfigValidationError(
            [f"{where}: {no_home(value)}; give the path in full"], source=source
        )
    if not path.is_absolute():
        path = root / path
    if not path.is_file():
        raise ConfigValidationError(
            [f"{where}: no such file {path}; give an existing path (relative to {root})"],
            source=source,
        )
    return str(path)


def transfer_settings(
    from_file: Mapping[str, Any], kind: StoreKind, environ: Mapping[str, str], jobs: int | None
) -> TransferSettings:
    """The file's values, then FSARTIFACTS_* variables, then ``-j``: the last given wins."""
    parsers = {
        "jobs": (parse_count, ENV_JOBS),
        "attempts": (parse_count, ENV_ATTEMPTS),
        "timeout": (parse_seconds, ENV_TIMEOUT),
        "part_size": (parse_size, ENV_PART_SIZE),
        "ranges": (parse_count, ENV_RANGES),
        "range_size": (parse_size, ENV_RANGE_SIZE),
        "ranged_from": (parse_size, ENV_RANGED_FROM),
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
            values["jobs"], origin["jobs"] = parse_count(jobs), "-j/--jobs"
        except ValueError as exc:
            raise ConfigError(f"-j/--jobs: {exc}") from None
    settings = TransferSettings(**values)
    check_transfer(kind, settings, origin)
    return settings
