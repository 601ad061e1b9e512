"""The command line: argv in, results and an exit code out.

No logic lives here beyond parsing, rendering and the one place that maps
errors to exit codes (:func:`main`). Heavy modules are imported by the
commands that need them, so ``fsartifacts --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, FsArtifactsError

if TYPE_CHECKING:
    from .project import Project
    from .results import Result

log = logging.getLogger("fsartifacts")

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


def _global_options() -> argparse.ArgumentParser:
    # SUPPRESS defaults let the same options stand before or after the command
    # without the subcommand's defaults overwriting what was given before it.
    g = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    g.add_argument("--config", metavar="FILE", default=s, help="the config file to use")
    g.add_argument("-e", "--env", metavar="ENV", default=s, help="overlay fsartifacts-ENV.yaml")
    g.add_argument("--project-version", metavar="V", default=s, help="the project version")
    g.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        metavar="N",
        default=s,
        help="artifacts transferred at once",
    )
    g.add_argument("--json", action="store_true", default=s, help="print one JSON document")
    g.add_argument("-v", "--verbose", action="count", default=s, help="say more (twice: debug)")
    g.add_argument("-q", "--quiet", action="store_true", default=s, help="only errors")
    g.add_argument("--no-progress", action="store_true", default=s, help="no progress bars")
    return g


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _credential_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--user", help="Artifactory user name")
    p.add_argument("-t", "--token", help="Artifactory token or password (prefer --token-stdin)")
    p.add_argument("--token-stdin", action="store_true", help="read the token from stdin")


def _push_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f", "--force", action="store_true", help="replace the copy of this version on the store"
    )
    p.add_argument("-p", "--prefix", default="", help="prefix of the remote names")
    p.add_argument("--dry-run", action="store_true", help="show what would happen")
    _credential_options(p)


def _pull_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--override", action="store_true",
        help="write to the artifact's file path, replacing it",
    )  # fmt: skip
    p.add_argument("-p", "--prefix", default="", help="prefix of the remote names")
    p.add_argument("--pre", action="store_true", help="let LATEST pick pre-releases")
    p.add_argument("--dry-run", action="store_true", help="show what would happen")
    p.add_argument(
        "--locked", action="store_true", help="pull exactly what fsartifacts.lock records"
    )
    _credential_options(p)


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="fsartifacts",
        description="Push and pull versioned artifacts to S3, Artifactory or any fsspec store.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"fsartifacts {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    push = commands.add_parser(
        "push",
        parents=[common],
        help="upload artifacts as this version; refused if the version exists",
        description=(
            "Upload each artifact as the project version (or its pinned version). A version "
            "that already exists on the store is refused (exit 1), whatever its content: "
            "bump the version, or replace it with -f/--force. `sync push` is the "
            "safe-to-repeat variant."
        ),
    )
    push.add_argument("artifact", metavar="ARTIFACT|ALL")
    _push_options(push)
    push.set_defaults(handler=_push, command_name="push", sync=False)

    pull = commands.add_parser("pull", parents=[common], help="download a version or LATEST")
    pull.add_argument("artifact", metavar="ARTIFACT|ALL")
    pull.add_argument("version", metavar="VERSION|LATEST")
    _pull_options(pull)
    pull.set_defaults(handler=_pull, command_name="pull", skip_current=False)

    sync = commands.add_parser("sync", parents=[common], help="push or pull only what changed")
    sync_commands = sync.add_subparsers(dest="direction", metavar="push|pull")
    sync_commands.required = True
    sync_push = sync_commands.add_parser(
        "push",
        parents=[common],
        help="upload what is missing; safe to repeat",
        description=(
            "Upload what is missing. A copy of this version with identical content is up to "
            "date (exit 0); one with different content is refused (exit 1) unless -f/--force."
        ),
    )
    sync_push.add_argument("artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL")
    _push_options(sync_push)
    sync_push.set_defaults(handler=_push, command_name="sync push", sync=True)
    sync_pull = sync_commands.add_parser(
        "pull", parents=[common], help="download what differs locally; skip the rest"
    )
    sync_pull.add_argument("artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL")
    sync_pull.add_argument("version", nargs="?", default="LATEST", metavar="VERSION|LATEST")
    _pull_options(sync_pull)
    sync_pull.set_defaults(handler=_pull, command_name="sync pull", skip_current=True)

    rm = commands.add_parser("rm", parents=[common], help="delete one remote version")
    rm.add_argument("artifact", metavar="ARTIFACT")
    rm.add_argument("version", metavar="VERSION")
    rm.add_argument("-p", "--prefix", default="", help="prefix of the remote names")
    rm.add_argument("--dry-run", action="store_true", help="show what would be deleted")
    _credential_options(rm)
    rm.set_defaults(handler=_rm)

    prune = commands.add_parser(
        "prune", parents=[common], help="keep the newest N versions of each major, delete the rest"
    )
    prune.add_argument("artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL")
    prune.add_argument(
        "--keep",
        type=_positive_int,
        required=True,
        metavar="N",
        help="versions to keep per major version",
    )
    prune.add_argument("-p", "--prefix", default="", help="prefix of the remote names")
    prune.add_argument("--dry-run", action="store_true", help="show what would be deleted")
    _credential_options(prune)
    prune.set_defaults(handler=_prune)

    ls = commands.add_parser("list", parents=[common], help="the remote versions of artifacts")
    ls.add_argument("artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL")
    ls.add_argument("-p", "--prefix", default="", help="prefix of the remote names")
    ls.add_argument("--pre", action="store_true", help="let LATEST pick pre-releases")
    _credential_options(ls)
    ls.set_defaults(handler=_list)

    validate = commands.add_parser(
        "validate", parents=[common], help="check the config and show it, without the network"
    )
    validate.set_defaults(handler=_validate)

    demo = commands.add_parser(
        "demo", parents=[common], help="push ALL then pull ALL LATEST on a local folder store"
    )
    demo.add_argument("directory", nargs="?", help="where to build the demo (default: a temp dir)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place where errors become exit codes."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on a usage error, 0 for --help
        return int(exc.code or 0)
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    _configure_logging(args)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except FsArtifactsError as exc:
        _print_error(args, _redact(exc.render(cli=True)), exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fsartifacts: interrupted; nothing half-written was installed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): nothing more to say to it.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _print_error(args: argparse.Namespace, message: str, code: int) -> None:
    if args.json:
        print(json.dumps({"ok": False, "error": message, "exit_code": code}, indent=2))
    print(f"fsartifacts: error: {message}", file=sys.stderr)


def _configure_logging(args: argparse.Namespace) -> None:
    level = (
        logging.ERROR
        if args.quiet
        else (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fsartifacts: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


_redactors: list[Callable[[str], str]] = []


def _redact(text: str) -> str:
    """Belt and braces: no message printed here may carry the run's secret."""
    for redactor in _redactors:
        text = redactor(text)
    return text


def _load(args: argparse.Namespace) -> Project:
    from .project import Project

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
    from .progress import bars, wanted

    if wanted(disabled=args.no_progress or args.quiet or args.json):
        project.progress = bars
    return project


# -- commands -------------------------------------------------------------------


def _push(args: argparse.Namespace) -> int:
    """push (any copy of the version refuses it), and sync push (an identical one is
    up to date)."""
    project = _load(args)
    push = project.sync_push if args.sync else project.push
    results = push(args.artifact, force=args.force, prefix=args.prefix, dry_run=args.dry_run)
    return _report(args, args.command_name, results)


def _pull(args: argparse.Namespace) -> int:
    """pull, and sync pull (which leaves destinations that already match alone)."""
    project = _load(args)
    results = project.pull(
        args.artifact,
        args.version,
        override=args.override,
        prefix=args.prefix,
        pre=args.pre,
        dry_run=args.dry_run,
        locked=args.locked,
        skip_current=args.skip_current,
    )
    return _report(args, args.command_name, results)


def _rm(args: argparse.Namespace) -> int:
    project = _load(args)
    results = project.rm(args.artifact, args.version, prefix=args.prefix, dry_run=args.dry_run)
    return _report(args, "rm", results)


def _prune(args: argparse.Namespace) -> int:
    from .render import render_plan

    project = _load(args)
    doomed = project.prune_plan(args.artifact, keep=args.keep, prefix=args.prefix)
    if not args.json:
        # What goes is listed before it goes.
        print(render_plan(project, doomed, keep=args.keep))
    if args.dry_run or not doomed:
        return _report(
            args,
            "prune",
            project.prune(args.artifact, keep=args.keep, prefix=args.prefix, dry_run=True),
            quiet=not args.json,
        )
    results = project.prune(args.artifact, keep=args.keep, prefix=args.prefix)
    return _report(args, "prune", results)


def _list(args: argparse.Namespace) -> int:
    from .render import render_listing

    project = _load(args)
    listing = []
    for artifact in project.artifacts(args.artifact):
        copies = project.copies(artifact.name, prefix=args.prefix)
        try:
            latest = project.find(artifact.name, "LATEST", prefix=args.prefix, pre=args.pre)
        except FsArtifactsError:
            latest = None
        listing.append((artifact, project.artifact_version(artifact), copies, latest))
    if args.json:
        print(json.dumps(render_listing(project, listing, as_json=True), indent=2, default=str))
    else:
        print(render_listing(project, listing, as_json=False))
    return EXIT_OK


def _prefix(prefix: str) -> str:
    from .naming import validate_prefix

    return validate_prefix(prefix)


def _validate(args: argparse.Namespace) -> int:
    from .render import render_config
    from .stores import check_store

    project = _load(args)
    check_store(project.config)
    shown = render_config(project)
    print(json.dumps(shown, indent=2, default=str) if args.json else _as_yaml(shown))
    return EXIT_OK


def _as_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip()


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.directory, as_json=args.json)


# -- results --------------------------------------------------------------------


def _report(
    args: argparse.Namespace, command: str, results: list[Result], *, quiet: bool = False
) -> int:
    from .render import failure_lines, render_results, summary

    for result in results:
        if result.error:
            shown = result.exception.render(cli=True) if result.exception else result.error
            result.error = _redact(shown)
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
    elif not quiet:
        text = render_results(results, show_summary=len(results) > 1, command=command)
        if text:
            print(text)
    for line in failure_lines(results):
        print(line, file=sys.stderr)
    if not failed:
        return EXIT_OK
    if all(r.exit_code == EXIT_USAGE for r in failed):
        return EXIT_USAGE
    return EXIT_FAILED


def run() -> None:
    """The console script: ``main``, then exit without waiting on interrupted transfers."""
    code = main()
    if code == EXIT_INTERRUPTED:
        # Transfers still running in worker threads would hold the exit until they
        # end; their temporaries are swept by the next run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
