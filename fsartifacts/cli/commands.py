"""The command line: argv in, results and an exit code out.

No logic lives here beyond parsing, rendering and the one place that maps
errors to exit codes (:func:`main`). The commands' handlers are in
``transfercommands`` (push, pull), ``inspection`` (list, info, validate) and
``maintenance`` (rm, prune, gc, alias), on what ``common`` gives them. Heavy modules
are imported by the commands that need them, so ``fsartifacts --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence

from fsartifacts.cli import inspection, maintenance, transfercommands
from fsartifacts.cli.common import redact
from fsartifacts.cli.options import GLOBAL_DEFAULTS
from fsartifacts.cli.parser import parser_for
from fsartifacts.cli.stopping import Terminated, sigterm_interrupts
from fsartifacts.collector import before_exit, command_process
from fsartifacts.errors import EXIT_FAILED, EXIT_INTERRUPTED, InternalError, typed_error
from fsartifacts.escaping import PrintableFormatter, printable

log = logging.getLogger("fsartifacts")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the command line, each command bound to its handler; given
    ``argv``, only the commands it names are built in full (see ``parser_for``)."""
    return parser_for(
        {
            "push": transfercommands.push,
            "pull": transfercommands.pull,
            "rm": maintenance.rm,
            "prune": maintenance.prune,
            "gc": maintenance.gc,
            "list": inspection.list_versions,
            "alias": maintenance.alias,
            "info": inspection.info,
            "validate": inspection.validate,
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
        _print_error(args, redact(error.render(cli=True)), error.exit_code)
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


def _demo(args: argparse.Namespace) -> int:
    from fsartifacts.cli.demo import run_demo

    return run_demo(args.directory, as_json=args.json)


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
