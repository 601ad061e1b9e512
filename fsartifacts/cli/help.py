"""The words of ``--help``: what each positional argument means and examples per command.

Kept apart from the parser so that adding a command means adding its examples
here, where they are checked (each example must parse).
"""

from __future__ import annotations

ARTIFACT = "an artifact name from the config"
ARTIFACT_OR_ALL = "an artifact name from the config, or ALL (any case) for every one"
VERSION_OR_LATEST = (
    "an exact version (1.4.0); a range, whose highest match wins (^1.4, ~1.4.2, 1.x, "
    ">=1.2.0,<2); or LATEST: the highest on the store with the project's major version, "
    "not above the project version"
)
VERSION_DEFAULT = "(default: each artifact's version: range from the config, else LATEST)"
PRE = "let LATEST and ranges pick pre-releases"
VERSION = "the exact version to delete (1.2.0)"
SYNC_DIRECTION = "push: upload what is missing; pull: download what differs locally"
DEMO_DIRECTORY = "where to build the demo project and its store (default: a new temporary folder)"
PREFIX = "prepended as is to the remote names: -p exp- gives exp-model_v1.4.0.pkl"
GC = (
    "List and remove what interrupted pushes left on the store: claims of pushes that died "
    "holding a folder version, .NAME.fsartifacts-*.part temporaries, folder versions without "
    "their manifest, incomplete S3 multipart uploads, and the listing notes of versions "
    "that are gone. Only what nothing has written to "
    "for --older-than is touched. push, prune and rm sweep the same leftovers themselves once "
    "they are idle for over 1 hour."
)

ALIAS_VERBS = "set: point an alias at a version; rm: remove it; list: show them"
ALIAS_NAME = "the alias: a letter, then letters, digits, '-' or '_' (prod, champion, staging)"
ALIAS_VERSION = "the version it points at: exact (1.4.0), LATEST, or another alias (@staging)"
ALIAS_SET = (
    "Point an alias at a version of an artifact, creating it or moving it. The move is "
    "recorded in the alias's history (who, when, from which version). Two moves of one alias "
    "at the same time cannot overwrite each other: one wins, the other fails (exit 1). "
    "`pull ARTIFACT @NAME` then pulls that version, checked against the sha256 recorded here."
)

GLOBAL_NOTE = (
    "Global options (--config, -e, --project-version, -j, --json, -v, -q, --no-progress)\n"
    "go before or after the command; `fsartifacts --help` describes them."
)

# Each: the command line as typed, then what it does.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "push": [
        ("fsartifacts push ALL", "every artifact as the project version"),
        ("fsartifacts push model --dry-run", "what would be uploaded"),
        ("fsartifacts push model -f", "replace this version on the store"),
    ],
    "pull": [
        ("fsartifacts pull ALL LATEST", "into the project root, under the remote names"),
        ("fsartifacts pull model '^1.4' -o", "the highest 1.x at or above 1.4.0, over its file"),
        ("fsartifacts pull ALL LATEST --locked", "exactly what fsartifacts.lock records"),
    ],
    "sync": [
        ("fsartifacts sync push", "upload what is missing; safe to repeat"),
        ("fsartifacts sync pull", "ALL LATEST, skipping what already matches"),
    ],
    "sync push": [
        ("fsartifacts sync push", "every artifact; identical copies are up to date"),
        ("fsartifacts sync push model --dry-run", "what would be uploaded"),
    ],
    "sync pull": [
        ("fsartifacts sync pull", "ALL LATEST, skipping what already matches"),
        ("fsartifacts sync pull model 1.2.0 -o", "one version over the artifact's own file"),
    ],
    "rm": [
        ("fsartifacts rm model 1.2.0 --dry-run", "what would be deleted"),
        ("fsartifacts rm model 1.2.0", "delete that version from the store"),
    ],
    "prune": [
        ("fsartifacts prune --keep 2 --dry-run", "list what would go"),
        ("fsartifacts prune model --keep 3", "keep the newest 3 of each major"),
    ],
    "gc": [
        ("fsartifacts gc --dry-run", "what is idle for over an hour"),
        ("fsartifacts gc --older-than 0s", "remove it all now, even a running push's claim"),
    ],
    "list": [
        ("fsartifacts list", "every artifact's versions, LATEST marked"),
        ("fsartifacts list model --json", "one artifact, as JSON (sizes in bytes)"),
        ("fsartifacts list model '~1.4'", "the 1.4.x versions, the highest marked"),
    ],
    "info": [
        ("fsartifacts info model 1.4.0", "its size, sha256, commit, who pushed it, its aliases"),
        ("fsartifacts info model @prod --json", "the version prod points at, as JSON"),
    ],
    "alias": [
        ("fsartifacts alias set model 1.4.0 prod", "point prod at 1.4.0"),
        ("fsartifacts alias list --history", "every alias, with every move"),
    ],
    "alias set": [
        ("fsartifacts alias set model 1.4.0 prod", "create prod, or move it to 1.4.0"),
        ("fsartifacts alias set model LATEST staging", "the LATEST version"),
        ("fsartifacts alias set model 1.5.0 prod --from 1.4.0", "only if prod is at 1.4.0"),
    ],
    "alias rm": [
        ("fsartifacts alias rm model staging", "remove staging; its history stays"),
        ("fsartifacts alias rm model prod -p exp-", "of the prefixed exp-model"),
    ],
    "alias list": [
        ("fsartifacts alias list", "every artifact's aliases"),
        ("fsartifacts alias list model --history --json", "one artifact's, with every move"),
    ],
    "validate": [
        ("fsartifacts validate", "the resolved config, secrets redacted"),
        ("fsartifacts validate -e prod --json", "with fsartifacts-prod.yaml, as JSON"),
    ],
    "demo": [
        ("fsartifacts demo", "in a new temporary folder"),
        ("fsartifacts demo ./try", "in ./try (run again, it starts over)"),
    ],
}


def epilog(command: str) -> str:
    """The examples of ``command`` ("push", "sync pull", ...) and where the global options are."""
    examples = EXAMPLES[command]
    width = max(len(line) for line, _ in examples)
    lines = [f"  {line:<{width}}   # {what}" for line, what in examples]
    return "examples:\n" + "\n".join(lines) + "\n\n" + GLOBAL_NOTE
