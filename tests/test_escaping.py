"""What the CLI prints: control characters from the store escaped, passwords in URLs hidden."""

from __future__ import annotations

import logging

import pytest

from fsartifacts.escaping import PrintableFormatter, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x9b31m", "\\x9b31m"),
        ("name\u202egpj.exe", "name\\u202egpj.exe"),
        ("café model_v1.0.0.pkl", "café model_v1.0.0.pkl"),
    ],
)
def test_printable_escapes_every_control_character(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_block_keeps_its_own_lines_and_escapes_the_rest() -> None:
    assert printable("one\x1b[2J\ntwo\x07", lines=True) == "one\\x1b[2J\ntwo\\x07"


def test_log_records_are_escaped_and_hide_passwords_in_urls() -> None:
    formatter = PrintableFormatter("fsartifacts: %(message)s")
    record = logging.LogRecord(
        "fsartifacts", logging.INFO, __file__, 1,
        "retrying GET %s: %s", ("https://u:hunter2@h/x", "bad \x1b]0;t\x07"), None,
    )  # fmt: skip
    line = formatter.format(record)
    assert line == "fsartifacts: retrying GET https://u:***@h/x: bad \\x1b]0;t\\x07"
