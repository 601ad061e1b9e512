"""--help: every positional described, examples that parse, global options described once."""

from __future__ import annotations

import argparse
import shlex

from fsartifacts.cli.commands import build_parser

GLOBAL_FLAGS = ("--config", "--env", "--project-version", "--jobs", "--json", "--no-progress")


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command and subcommand, by its full name ("sync pull")."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in commands(sub).items()})
    return found


def examples(text: str) -> list[str]:
    block = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines()]


def test_every_command_describes_its_arguments_and_gives_examples() -> None:
    parser = build_parser()
    found = commands(parser)
    assert {"push", "pull", "sync push", "sync pull", "rm", "prune", "list", "demo"} <= set(found)
    for name, sub in found.items():
        text = sub.format_help()
        for action in sub._actions:
            if not action.option_strings and action.help != argparse.SUPPRESS:
                assert action.help, f"{name}: {action.metavar or action.dest} has no description"
        lines = examples(text)
        assert 2 <= len(lines) <= 3, (name, lines)
        for line in lines:
            words = shlex.split(line)
            assert words[0] == "fsartifacts" and words[1 : 1 + len(name.split())] == name.split()
            parser.parse_args(words[1:])  # every example is a valid command line


def test_global_options_are_described_once_and_accepted_everywhere() -> None:
    parser = build_parser()
    top = parser.format_help()
    assert all(flag in top for flag in GLOBAL_FLAGS)
    for name, sub in commands(parser).items():
        text = sub.format_help()
        assert not any(flag in text.split("\nexamples:\n")[0] for flag in GLOBAL_FLAGS), name
        assert "fsartifacts --help" in text
    before = parser.parse_args(["--json", "-j", "2", "sync", "pull", "model"])
    after = parser.parse_args(["sync", "pull", "model", "--json", "-j", "2"])
    assert (before.json, before.jobs) == (after.json, after.jobs) == (True, 2)
