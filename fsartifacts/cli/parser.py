"""The command line's grammar: each command's parser, and ``--help``.

The options several commands share are in ``options``; the words of the help (argument
descriptions, examples) in ``help``; what each command does is in the handlers
``commands`` hands in.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fsartifacts import __version__
from fsartifacts.cli.options import (
    Handler,
    command,
    credential_options,
    duration,
    global_options,
    positive_int,
    prefix_option,
    pull_options,
    push_options,
    selection_options,
)


def _alias(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    handler = handlers["alias"]
    alias = command(commands, "alias", help=HELP["alias"])
    verbs = alias.add_subparsers(dest="verb", metavar="set|rm|list", help=words.ALIAS_VERBS)
    verbs.required = True
    set_ = command(
        verbs,
        "set",
        examples="alias set",
        help="point an alias at a version (create or move it)",
        description=words.ALIAS_SET,
    )
    set_.add_argument("artifact", metavar="ARTIFACT", help=words.ARTIFACT)
    set_.add_argument("version", metavar="VERSION", help=words.ALIAS_VERSION)
    set_.add_argument("name", metavar="NAME", help=words.ALIAS_NAME)
    set_.add_argument(
        "--from", dest="expect", metavar="VERSION",
        help="only if the alias points at VERSION now (none: only if it is not set)",
    )  # fmt: skip
    rm = command(verbs, "rm", examples="alias rm", help="remove an alias (its history is kept)")
    rm.add_argument("artifact", metavar="ARTIFACT", help=words.ARTIFACT)
    rm.add_argument("name", metavar="NAME", help=words.ALIAS_NAME)
    ls = command(verbs, "list", examples="alias list", help="the aliases and where they point")
    ls.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL} (default ALL)",
    )  # fmt: skip
    ls.add_argument(
        "--history", action="store_true", help="every move: who, when, from which version"
    )
    for sub, verb in ((set_, "set"), (rm, "rm"), (ls, "list")):
        prefix_option(sub)
        credential_options(sub)
        sub.set_defaults(handler=handler, alias_verb=verb)


def _push(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    push = command(
        commands,
        "push",
        help=HELP["push"],
        description=(
            "Upload each artifact as the project version (or its pinned version). A version "
            "that already exists on the store is refused (exit 1), whatever its content: "
            "bump the version, or replace it with -f/--force. `sync push` is the "
            "safe-to-repeat variant."
        ),
    )
    push.add_argument("artifact", metavar="ARTIFACT|ALL", help=words.ARTIFACT_OR_ALL)
    push_options(push)
    push.set_defaults(handler=handlers["push"], command_name="push", sync=False)


def _pull(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    pull = command(commands, "pull", help=HELP["pull"])
    pull.add_argument("artifact", metavar="ARTIFACT|ALL", help=words.ARTIFACT_OR_ALL)
    pull.add_argument(
        "version", nargs="?", default=None, metavar="VERSION|RANGE|LATEST",
        help=f"{words.VERSION_OR_LATEST} {words.VERSION_DEFAULT}",
    )  # fmt: skip
    pull_options(pull)
    pull.set_defaults(handler=handlers["pull"], command_name="pull", skip_current=False)


def _sync(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    sync = command(commands, "sync", help=HELP["sync"])
    sync_commands = sync.add_subparsers(
        dest="direction", metavar="push|pull", help=words.SYNC_DIRECTION
    )
    sync_commands.required = True
    sync_push = command(
        sync_commands,
        "push",
        examples="sync push",
        help="upload what is missing; safe to repeat",
        description=(
            "Upload what is missing. A copy of this version with identical content is up to "
            "date (exit 0); one with different content is refused (exit 1) unless -f/--force."
        ),
    )
    sync_push.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL} (default ALL)",
    )  # fmt: skip
    push_options(sync_push)
    sync_push.set_defaults(handler=handlers["push"], command_name="sync push", sync=True)
    sync_pull = command(
        sync_commands,
        "pull",
        examples="sync pull",
        help="download what differs locally; skip the rest",
    )
    sync_pull.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL} (default ALL)",
    )  # fmt: skip
    sync_pull.add_argument(
        "version", nargs="?", default=None, metavar="VERSION|RANGE|LATEST",
        help=f"{words.VERSION_OR_LATEST} {words.VERSION_DEFAULT}",
    )  # fmt: skip
    pull_options(sync_pull)
    sync_pull.set_defaults(handler=handlers["pull"], command_name="sync pull", skip_current=True)


def _rm(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    rm = command(commands, "rm", help=HELP["rm"])
    rm.add_argument("artifact", metavar="ARTIFACT", help=words.ARTIFACT)
    rm.add_argument("version", metavar="VERSION", help=words.VERSION)
    prefix_option(rm)
    rm.add_argument("--dry-run", action="store_true", help="show what would be deleted")
    credential_options(rm)
    rm.set_defaults(handler=handlers["rm"])


def _prune(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    prune = command(commands, "prune", help=HELP["prune"])
    prune.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL} (default ALL)",
    )  # fmt: skip
    prune.add_argument(
        "--keep",
        type=positive_int,
        required=True,
        metavar="N",
        help="versions to keep per major version",
    )
    prefix_option(prune)
    prune.add_argument("--dry-run", action="store_true", help="show what would be deleted")
    credential_options(prune)
    prune.set_defaults(handler=handlers["prune"])


def _gc(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    gc = command(commands, "gc", help=HELP["gc"], description=words.GC)
    gc.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL}: whose unfinished folder versions count (default ALL)",
    )  # fmt: skip
    gc.add_argument(
        "--older-than",
        type=duration,
        default="1h",
        metavar="DURATION",
        help="only what nothing has written to for this long: 0s, 30m, 1h (the default), 7d",
    )
    prefix_option(gc)
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed")
    credential_options(gc)
    gc.set_defaults(handler=handlers["gc"])


def _list(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    ls = command(commands, "list", help=HELP["list"])
    ls.add_argument(
        "artifact", nargs="?", default="ALL", metavar="ARTIFACT|ALL",
        help=f"{words.ARTIFACT_OR_ALL} (default ALL)",
    )  # fmt: skip
    ls.add_argument(
        "version", nargs="?", default=None, metavar="VERSION|RANGE|LATEST",
        help=f"show only the versions this matches, marking the one it resolves to "
        f"{words.VERSION_DEFAULT}",
    )  # fmt: skip
    ls.add_argument(
        "--files", action="store_true",
        help="the files of the folder version VERSION names, with sizes",
    )  # fmt: skip
    selection_options(ls)
    prefix_option(ls)
    ls.add_argument("--pre", action="store_true", help=words.PRE)
    credential_options(ls)
    ls.set_defaults(handler=handlers["list"])


def _info(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    info = command(commands, "info", help=HELP["info"])
    info.add_argument("artifact", metavar="ARTIFACT", help=words.ARTIFACT)
    info.add_argument(
        "version", nargs="?", default=None, metavar="VERSION|RANGE|LATEST|@NAME",
        help=f"{words.VERSION_OR_LATEST}; or @NAME, an alias {words.VERSION_DEFAULT}",
    )  # fmt: skip
    prefix_option(info)
    info.add_argument("--pre", action="store_true", help=words.PRE)
    credential_options(info)
    info.set_defaults(handler=handlers["info"])


def _validate(commands: Any, handlers: Mapping[str, Handler]) -> None:
    validate = command(commands, "validate", help=HELP["validate"])
    validate.set_defaults(handler=handlers["validate"])


def _demo(commands: Any, handlers: Mapping[str, Handler]) -> None:
    from fsartifacts.cli import help as words

    demo = command(commands, "demo", help=HELP["demo"])
    demo.add_argument("directory", nargs="?", help=words.DEMO_DIRECTORY)
    demo.set_defaults(handler=handlers["demo"])


# Each command's one line in the top-level help, in its order there.
HELP = {
    "push": "upload artifacts as this version; refused if the version exists",
    "pull": "download a version, a range's highest, or LATEST",
    "sync": "push or pull only what changed",
    "rm": "delete one remote version",
    "prune": "keep the newest N versions of each major, delete the rest",
    "gc": "list and remove what interrupted pushes left on the store",
    "list": "the remote versions of artifacts",
    "info": "one version: size, sha256, files, provenance, aliases",
    "alias": "names such as prod that point at a version",
    "validate": "check the config and show it, without the network",
    "demo": "push ALL then pull ALL LATEST on a local folder store",
}
_DEFINE: dict[str, Callable[[Any, Mapping[str, Handler]], None]] = {
    "push": _push,
    "pull": _pull,
    "sync": _sync,
    "rm": _rm,
    "prune": _prune,
    "gc": _gc,
    "list": _list,
    "info": _info,
    "alias": _alias,
    "validate": _validate,
    "demo": _demo,
}


def parser_for(
    handlers: Mapping[str, Handler], argv: Sequence[str] | None = None
) -> argparse.ArgumentParser:
    """The parser of every command; ``handlers`` runs each (by the names in ``HELP``).

    Given the command line ``argv``, only the commands it names get their options and
    words: the others stay one line of the top-level help (and a choice argparse knows,
    so its messages are unchanged), as a command not named on the line cannot run.
    Building every command's parser costs tens of milliseconds at each start.
    """
    parser = argparse.ArgumentParser(
        prog="fsartifacts",
        description="Push and pull versioned artifacts to S3, Artifactory or any fsspec store.",
        parents=[global_options(shown=True)],
    )
    parser.add_argument("--version", action="version", version=f"fsartifacts {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    named = None if argv is None else set(argv)
    for name, define in _DEFINE.items():
        if named is None or name in named:
            define(commands, handlers)
        else:
            commands.add_parser(name, help=HELP[name], add_help=False)
    return parser
