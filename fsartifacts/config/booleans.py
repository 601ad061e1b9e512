"""YAML's spellings of a boolean, read from text: a leaf, so the stores' own settings
can read their switches without importing the configuration that names them."""

from __future__ import annotations

_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True}
_BOOLEANS.update({"false": False, "no": False, "off": False, "0": False})


def parse_boolean(text: str) -> bool | None:
    """True or False for YAML's spellings of a boolean written as text (``${VAR}``
    expansion makes text of every value), in any case; None for other text."""
    return _BOOLEANS.get(text.strip().lower())
