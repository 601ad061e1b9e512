"""The handlers of the commands that only look: list (and list --files), info and
validate."""

from __future__ import annotations

import argparse
import json
from typing import Any

from fsartifacts.cli.common import load_project
from fsartifacts.errors import EXIT_OK, FsArtifactsError
from fsartifacts.escaping import printable


def list_versions(args: argparse.Namespace) -> int:
    """Every version, the one the artifact's default (its configured range, else LATEST)
    resolves to marked; with a VERSION, only the versions it matches, its answer marked."""
    from fsartifacts.cli.render import Listing, render_listing
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.projectqueries import parse_request
    from fsartifacts.versionspec import VersionSpec

    if args.files or args.include or args.exclude:
        return list_files(args)
    project = load_project(args)
    asked = parse_request(args.version)
    listing: Listing = []
    notes: dict[str, dict[str, Any]] = {}  # by remote name: commit, aliases
    for artifact in project.artifacts(args.artifact):
        request = project.request(artifact, asked)
        copies = project.copies(artifact.name, prefix=args.prefix)
        found: dict[VersionSpec, RemoteCopy | None] = {}
        for spec in {VersionSpec.latest(), request}:
            try:
                found[spec] = project.find(artifact.name, spec, prefix=args.prefix, pre=args.pre)
            except FsArtifactsError:
                found[spec] = None
        if asked is not None and request.kind in ("exact", "range"):
            copies = [
                c for c in copies if c.version is None or request.matches(c.version, pre=args.pre)
            ]
        listing.append(
            (
                artifact, project.artifact_version(artifact), copies,
                found[VersionSpec.latest()], request, found[request],
            )
        )  # fmt: skip
        notes.update(project.version_notes(artifact.name, prefix=args.prefix))
    shown = render_listing(project, listing, as_json=args.json, notes=notes)
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
    else:
        print(printable(shown, lines=True))
    return EXIT_OK


def list_files(args: argparse.Namespace) -> int:
    """list --files ARTIFACT VERSION: a folder version's files, with sizes."""
    from fsartifacts.cli.render import render_files
    from fsartifacts.engine.selection import Selection
    from fsartifacts.errors import ConfigError

    if not args.files or args.version is None or args.artifact.upper() == "ALL":
        raise ConfigError(
            "--files takes one folder artifact and its VERSION (--include/--exclude go with "
            "--files): `fsartifacts list --files ARTIFACT VERSION` shows a folder's files."
        )
    selection = Selection.of(args.include, args.exclude)
    project = load_project(args)
    copy, manifest = project.files(args.artifact, args.version, prefix=args.prefix, pre=args.pre)
    url = project.store.url(copy.display_name)
    shown = render_files(url, selection.select(manifest, url), as_json=args.json)
    print(json.dumps(shown, indent=2) if args.json else printable(shown, lines=True))
    return EXIT_OK


def info(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_info

    project = load_project(args)
    info = project.info(args.artifact, args.version, prefix=args.prefix, pre=args.pre)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(printable(render_info(info), lines=True))
    return EXIT_OK


def validate(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_config
    from fsartifacts.stores import check_store

    project = load_project(args)
    check_store(project.config)
    shown = render_config(project)
    print(json.dumps(shown, indent=2, default=str) if args.json else _as_yaml(shown))
    return EXIT_OK


def _as_yaml(data: dict[str, Any]) -> str:
    from fsartifacts import yamlio

    return yamlio.dump(data, sort_keys=False, default_flow_style=False).rstrip()
