"""What every command's handler shares: the project its options name, the report of its
results (and the exit code they make), and the run's secret kept out of what it prints."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from fsartifacts.collector import loading
from fsartifacts.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from fsartifacts.escaping import printable

if TYPE_CHECKING:
    from fsartifacts.engine.results import Result
    from fsartifacts.project import Project

log = logging.getLogger("fsartifacts")

_redactors: list[Callable[[str], str]] = []


def redact(text: str) -> str:
    """Belt and braces: no message printed here may carry the run's secret."""
    for redactor in _redactors:
        text = redactor(text)
    return text


def load_project(args: argparse.Namespace) -> Project:
    """The project the command line names, with its warnings said and its bars chosen."""
    # The package's modules and the configuration live as long as the process: made
    # without collections, and left out of the later ones.
    with loading():
        from fsartifacts.project import Project

        project = Project.load(
            args.config,
            env=args.env,
            project_version=args.project_version,
            jobs=args.jobs,
            user=getattr(args, "user", None),
            token=getattr(args, "token", None),
            token_stdin=getattr(args, "token_stdin", False),
        )
    _redactors.append(project.redact)
    for warning in project.config.warnings:
        log.warning("%s", warning)
    from fsartifacts.progress import bars, wanted

    if wanted(disabled=args.no_progress or args.quiet or args.json):
        project.progress = bars
    return project


def report(
    args: argparse.Namespace, command: str, results: list[Result], *, quiet: bool = False
) -> int:
    """Print ``results`` (text or JSON, failures on stderr); the exit code they make."""
    from fsartifacts.cli.render import failure_lines, render_results, summary

    for result in results:
        if result.error:
            shown = result.exception.render(cli=True) if result.exception else result.error
            result.error = redact(shown)
    failed = [r for r in results if r.action == "failed"]
    if args.json:
        print(
            json.dumps(
                {
                    "command": command,
                    "ok": not failed,
                    "summary": summary(results),
                    "results": [r.to_dict() for r in results],
                },
                indent=2,
            )
        )
    elif not quiet and not args.quiet:  # -q: failures only (below), the exit code says the rest
        text = render_results(results, show_summary=len(results) > 1, command=command)
        if text:
            print(printable(text, lines=True))
    for line in failure_lines(results):
        print(printable(line), file=sys.stderr)
    if not failed:
        return EXIT_OK
    if all(r.exit_code == EXIT_USAGE for r in failed):
        return EXIT_USAGE
    return EXIT_FAILED
