"""The handlers of the commands that change what the store holds besides pushes: rm,
prune, gc and alias."""

from __future__ import annotations

import argparse
import json

from fsartifacts.cli.common import load_project, report
from fsartifacts.errors import EXIT_OK
from fsartifacts.escaping import printable


def rm(args: argparse.Namespace) -> int:
    project = load_project(args)
    results = project.rm(args.artifact, args.version, prefix=args.prefix, dry_run=args.dry_run)
    return report(args, "rm", results)


def prune(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_plan

    project = load_project(args)
    doomed = project.prune_plan(args.artifact, keep=args.keep, prefix=args.prefix)
    if not args.json and not args.quiet:
        # What goes is listed before it goes.
        print(printable(render_plan(project, doomed, keep=args.keep), lines=True))
    if args.dry_run or not doomed:
        return report(
            args,
            "prune",
            project.prune(args.artifact, keep=args.keep, prefix=args.prefix, dry_run=True),
            quiet=not args.json,
        )
    results = project.prune(args.artifact, keep=args.keep, prefix=args.prefix)
    return report(args, "prune", results)


def gc(args: argparse.Namespace) -> int:
    project = load_project(args)
    results = project.gc(
        args.artifact, prefix=args.prefix, older_than=args.older_than, dry_run=args.dry_run
    )
    if not results and not args.json:
        print(f"nothing to collect on {project.store.display}")
    return report(args, "gc", results)


def alias(args: argparse.Namespace) -> int:
    """alias set / rm / list: what the aliases say and each move, in text or JSON."""
    from fsartifacts.cli.render import render_aliases, render_move

    project = load_project(args)
    if args.alias_verb == "list":
        aliases = project.aliases(args.artifact, prefix=args.prefix, removed=args.history)
        shown = render_aliases(project, aliases, history=args.history, as_json=args.json)
    else:
        if args.alias_verb == "set":
            alias, move = project.alias_set(
                args.artifact, args.version, args.name, prefix=args.prefix, expect=args.expect
            )
        else:
            alias, move = project.alias_rm(args.artifact, args.name, prefix=args.prefix)
        shown = render_move(project, alias, move, as_json=args.json)
    if args.json:
        print(json.dumps(shown, indent=2))
    elif not args.quiet:
        print(printable(str(shown), lines=True))
    return EXIT_OK
