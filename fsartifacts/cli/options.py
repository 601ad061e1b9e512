"""The options the commands share: the global ones (before or after the command), and
those of the transfers, the store paths and the credentials; each command's parser is
made by :func:`command`, with the global options and its examples."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from datetime import timedelta
from typing import Any

Handler = Callable[[argparse.Namespace], int]

GLOBAL_DEFAULTS: dict[str, Any] = {
    "config": None,
    "env": None,
    "project_version": None,
    "jobs": None,
    "json": False,
    "verbose": 0,
    "quiet": False,
    "no_progress": False,
}


def global_options(*, shown: bool) -> argparse.ArgumentParser:
    # SUPPRESS defaults let the same options stand before or after the command
    # without the subcommand's defaults overwriting what was given before it.
    # They are described once, in the top-level help (shown), and only accepted
    # by each command.
    g = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS

    def text(words: str) -> str:
        return words if shown else s

    g.add_argument("--config", metavar="FILE", default=s, help=text("the config file to use"))
    g.add_argument(
        "-e", "--env", metavar="ENV", default=s, help=text("overlay fsartifacts-ENV.yaml")
    )
    g.add_argument("--project-version", metavar="V", default=s, help=text("the project version"))
    g.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        metavar="N",
        default=s,
        help=text("files transferred at once, in all"),
    )
    g.add_argument("--json", action="store_true", default=s, help=text("print one JSON document"))
    g.add_argument(
        "-v", "--verbose", action="count", default=s, help=text("say more (twice: debug)")
    )
    g.add_argument("-q", "--quiet", action="store_true", default=s, help=text("only errors"))
    g.add_argument("--no-progress", action="store_true", default=s, help=text("no progress bars"))
    return g


def command(
    group: Any,
    name: str,
    *,
    help: str,
    description: str | None = None,
    examples: str | None = None,
) -> argparse.ArgumentParser:
    """A command that accepts the global options, with its examples (cli_help.EXAMPLES,
    under ``examples``, default ``name``) below its own options."""
    from fsartifacts.cli.help import epilog

    parser: argparse.ArgumentParser = group.add_parser(
        name,
        parents=[global_options(shown=False)],
        help=help,
        description=textwrap.fill(description or f"{help[0].upper()}{help[1:]}.", 78),
        epilog=epilog(examples or name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def prefix_option(p: argparse.ArgumentParser) -> None:
    from fsartifacts.cli.help import PREFIX

    p.add_argument("-p", "--prefix", default="", help=PREFIX)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def duration(text: str) -> timedelta:
    from fsartifacts.config.values import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def credential_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--user", help="Artifactory user name")
    p.add_argument("-t", "--token", help="Artifactory token or password (prefer --token-stdin)")
    p.add_argument("--token-stdin", action="store_true", help="read the token from stdin")


def push_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f", "--force", action="store_true", help="replace the copy of this version on the store"
    )
    prefix_option(p)
    p.add_argument("--dry-run", action="store_true", help="show what would happen")
    resume_option(p, "upload")
    p.add_argument(
        "-m", "--message", metavar="TEXT",
        help="recorded with the version's provenance (shown by `fsartifacts info`)",
    )  # fmt: skip
    credential_options(p)


def pull_options(p: argparse.ArgumentParser) -> None:
    from fsartifacts.cli import help as words

    p.add_argument(
        "-o", "--override", action="store_true",
        help="write to the artifact's file path, replacing it",
    )  # fmt: skip
    prefix_option(p)
    p.add_argument("--pre", action="store_true", help=words.PRE)
    p.add_argument("--dry-run", action="store_true", help="show what would happen")
    p.add_argument(
        "--locked", action="store_true", help="pull exactly what fsartifacts.lock records"
    )
    resume_option(p, "download")
    selection_options(p)
    credential_options(p)


def resume_option(p: argparse.ArgumentParser, transfer: str) -> None:
    p.add_argument(
        "--no-resume", dest="resume", action="store_false",
        help=f"start over an interrupted {transfer} instead of continuing it",
    )  # fmt: skip


def selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--include", action="append", default=[], metavar="GLOB",
        help="only the files of the folder that match (gitignore-style; repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB",
        help="not the files of the folder that match (gitignore-style; repeatable)",
    )  # fmt: skip
