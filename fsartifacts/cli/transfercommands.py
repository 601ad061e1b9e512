"""The handlers of the commands that move artifacts: push and pull (and their sync forms)."""

from __future__ import annotations

import argparse

from fsartifacts.cli.common import load_project, report


def push(args: argparse.Namespace) -> int:
    """push (any copy of the version refuses it), and sync push (an identical one is
    up to date)."""
    project = load_project(args)
    push = project.sync_push if args.sync else project.push
    results = push(
        args.artifact,
        force=args.force,
        prefix=args.prefix,
        dry_run=args.dry_run,
        message=args.message,
        resume=args.resume,
    )
    return report(args, args.command_name, results)


def pull(args: argparse.Namespace) -> int:
    """pull, and sync pull (which leaves destinations that already match alone)."""
    project = load_project(args)
    results = project.pull(
        args.artifact,
        args.version,
        override=args.override,
        prefix=args.prefix,
        pre=args.pre,
        dry_run=args.dry_run,
        locked=args.locked,
        skip_current=args.skip_current,
        include=args.include,
        exclude=args.exclude,
        resume=args.resume,
    )
    return report(args, args.command_name, results)
