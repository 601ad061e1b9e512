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


def test_a_command_line_builds_only_the_commands_it_names_and_parses_the_same() -> None:
    """The others are one line of the top-level help each: the same listing, the same
    choices in argparse's messages, and none of their options built."""
    full = build_parser()
    lines = [
        words[1:]
        for sub in commands(full).values()
        for words in map(shlex.split, examples(sub.format_help()))
    ]
    assert len(lines) > 20
    for argv in lines:
        assert vars(build_parser(argv).parse_args(argv)) == vars(full.parse_args(argv)), argv
    only_list = build_parser(["list", "model"])
    assert only_list.format_help() == full.format_help()
    built = {name: len(sub._actions) for name, sub in commands(only_list).items()}
    assert built["list"] == len(commands(full)["list"]._actions)
    assert {name: n for name, n in built.items() if name != "list"} == dict.fromkeys(
        set(built) - {"list"}, 0
    )
