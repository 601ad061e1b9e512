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

from fsartifacts.cli.parser import GLOBAL_DEFAULTS, parser_for
from fsartifacts.cli.stopping import Terminated, sigterm_interrupts
from fsartifacts.collector import before_exit, command_process, loading
from fsartifacts.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FsArtifactsError,
    InternalError,
    typed_error,
)
from fsartifacts.escaping import PrintableFormatter, printable

if TYPE_CHECKING:
    from fsartifacts.engine.results import Result
    from fsartifacts.project import Project

log = logging.getLogger("fsartifacts")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the command line, each command bound to its handler below; given
    ``argv``, only the commands it names are built in full (see ``parser_for``)."""
    return parser_for(
        {
            "push": _push,
            "pull": _pull,
            "rm": _rm,
            "prune": _prune,
            "gc": _gc,
            "list": _list,
            "alias": _alias,
            "info": _info,
            "validate": _validate,
            "demo": _demo,
        },
        argv,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place where errors become exit codes."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
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
        with sigterm_interrupts():
            return handler(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (a Terminated)
        how = "stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted"
        print(f"fsartifacts: {how}; nothing half-written was installed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): nothing more to say to it.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:  # typed errors, and a bug (ours or a library's): one line each
        error = typed_error(exc)
        if isinstance(error, InternalError):
            log.info("the traceback of the internal error:", exc_info=exc)
        _print_error(args, _redact(error.render(cli=True)), error.exit_code)
        return error.exit_code


def _print_error(args: argparse.Namespace, message: str, code: int) -> None:
    if args.json:
        print(json.dumps({"ok": False, "error": message, "exit_code": code}, indent=2))
    print(f"fsartifacts: error: {printable(message)}", file=sys.stderr)


def _configure_logging(args: argparse.Namespace) -> None:
    """Default: warnings and retries; -q: errors only; -v: each request too; -v -v: the
    debug logs of the libraries as well (urllib3, botocore...), credential headers hidden."""
    level = (
        logging.ERROR
        if args.quiet
        else (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("fsartifacts: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    if level == logging.DEBUG and not args.quiet:
        from fsartifacts.redaction import LibraryLogFilter

        libraries = logging.StreamHandler(sys.stderr)
        libraries.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        libraries.addFilter(LibraryLogFilter())
        root = logging.getLogger()
        root.handlers[:] = [libraries]
        root.setLevel(logging.DEBUG)


_redactors: list[Callable[[str], str]] = []


def _redact(text: str) -> str:
    """Belt and braces: no message printed here may carry the run's secret."""
    for redactor in _redactors:
        text = redactor(text)
    return text


def _load(args: argparse.Namespace) -> Project:
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


# -- commands -------------------------------------------------------------------


def _push(args: argparse.Namespace) -> int:
    """push (any copy of the version refuses it), and sync push (an identical one is
    up to date)."""
    project = _load(args)
    push = project.sync_push if args.sync else project.push
    results = push(
        args.artifact,
        force=args.force,
        prefix=args.prefix,
        dry_run=args.dry_run,
        message=args.message,
        resume=args.resume,
    )
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
        include=args.include,
        exclude=args.exclude,
        resume=args.resume,
    )
    return _report(args, args.command_name, results)


def _rm(args: argparse.Namespace) -> int:
    project = _load(args)
    results = project.rm(args.artifact, args.version, prefix=args.prefix, dry_run=args.dry_run)
    return _report(args, "rm", results)


def _prune(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_plan

    project = _load(args)
    doomed = project.prune_plan(args.artifact, keep=args.keep, prefix=args.prefix)
    if not args.json and not args.quiet:
        # What goes is listed before it goes.
        print(printable(render_plan(project, doomed, keep=args.keep), lines=True))
    if args.dry_run or not doomed:
        return _report(
            args,
            "prune",
            project.prune(args.artifact, keep=args.keep, prefix=args.prefix, dry_run=True),
            quiet=not args.json,
        )
    results = project.prune(args.artifact, keep=args.keep, prefix=args.prefix)
    return _report(args, "prune", results)


def _gc(args: argparse.Namespace) -> int:
    project = _load(args)
    results = project.gc(
        args.artifact, prefix=args.prefix, older_than=args.older_than, dry_run=args.dry_run
    )
    if not results and not args.json:
        print(f"nothing to collect on {project.store.display}")
    return _report(args, "gc", results)


def _list(args: argparse.Namespace) -> int:
    """Every version, the one the artifact's default (its configured range, else LATEST)
    resolves to marked; with a VERSION, only the versions it matches, its answer marked."""
    from fsartifacts.cli.render import Listing, render_listing
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.projectqueries import parse_request
    from fsartifacts.versionspec import VersionSpec

    if args.files or args.include or args.exclude:
        return _list_files(args)
    project = _load(args)
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


def _info(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_info

    project = _load(args)
    info = project.info(args.artifact, args.version, prefix=args.prefix, pre=args.pre)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(printable(render_info(info), lines=True))
    return EXIT_OK


def _alias(args: argparse.Namespace) -> int:
    """alias set / rm / list: what the aliases say and each move, in text or JSON."""
    from fsartifacts.cli.render import render_aliases, render_move

    project = _load(args)
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


def _list_files(args: argparse.Namespace) -> int:
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
    project = _load(args)
    copy, manifest = project.files(args.artifact, args.version, prefix=args.prefix, pre=args.pre)
    url = project.store.url(copy.display_name)
    shown = render_files(url, selection.select(manifest, url), as_json=args.json)
    print(json.dumps(shown, indent=2) if args.json else printable(shown, lines=True))
    return EXIT_OK


def _prefix(prefix: str) -> str:
    from fsartifacts.engine.naming import validate_prefix

    return validate_prefix(prefix)


def _validate(args: argparse.Namespace) -> int:
    from fsartifacts.cli.render import render_config
    from fsartifacts.stores import check_store

    project = _load(args)
    check_store(project.config)
    shown = render_config(project)
    print(json.dumps(shown, indent=2, default=str) if args.json else _as_yaml(shown))
    return EXIT_OK


def _as_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip()


def _demo(args: argparse.Namespace) -> int:
    from fsartifacts.cli.demo import run_demo

    return run_demo(args.directory, as_json=args.json)


# -- results --------------------------------------------------------------------


def _report(
    args: argparse.Namespace, command: str, results: list[Result], *, quiet: bool = False
) -> int:
    from fsartifacts.cli.render import failure_lines, render_results, summary

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


def run() -> None:
    """The console script: ``main``, then exit without waiting on interrupted transfers."""
    command_process()  # a process that ends with its work: what its libraries made may be frozen
    code = main()
    if code == EXIT_INTERRUPTED:
        # Transfers still running in worker threads would hold the exit until they
        # end; their temporaries are swept by the next run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    before_exit()
    sys.exit(code)
