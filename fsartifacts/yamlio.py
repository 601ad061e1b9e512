"""YAML in and out through libyaml when PyYAML has it, with bounds on what a document expands to.

Reading a config and a lock file of 50 artifacts with the pure-Python loader
took ~40 ms of every command; with libyaml it takes ~3 ms.

What is written is the same text with libyaml or without it: libyaml's emitter
writes a few scalars otherwise than PyYAML's (see :func:`dumper_for`), and a
document holding one is written by PyYAML's own.

The loader shares an anchored node among its aliases, so loading is cheap;
but everything that walks the result (``${VAR}`` expansion, validation,
showing it) sees each alias expanded. A few hundred bytes of aliases of
aliases ("billion laughs") expand to billions of values, and an alias inside
its own anchor to a structure without end. So, as safe loaders do, a loaded
document is measured as it would expand, without expanding it, and refused
past :data:`MAX_VALUES` values or :data:`MAX_ALIASES` uses of aliases, or when
it contains itself.
"""

from __future__ import annotations

from typing import Any

import yaml

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FAST_DUMPER: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_VALUES = 1_000_000  # values of the expanded document; a config of 50 artifacts has ~500
MAX_ALIASES = 10_000  # uses of an already-seen mapping or list


class YAMLBoundError(yaml.YAMLError):
    """A document that cannot be used as data: it contains itself or expands too far."""


def load(text: str) -> Any:
    """``yaml.safe_load``, refusing documents that contain themselves or expand too far."""
    try:
        data = yaml.load(text, Loader=_Loader)
        check_bounded(data)
    except RecursionError:
        raise YAMLBoundError("the document is nested too deeply to be read") from None
    return data


def dump(data: Any, **options: Any) -> str:
    """``yaml.safe_dump`` to a string, through libyaml where that writes the same text."""
    return str(yaml.dump(data, Dumper=dumper_for(data), **options))


def dumper_for(data: Any) -> type:
    """libyaml's safe dumper when PyYAML has it and it writes ``data`` as PyYAML's own
    does, byte for byte; else PyYAML's.

    The two emitters differ in how they fold a double-quoted scalar (a string holding
    a line break, a tab, a control character or non-ASCII text) longer than a line,
    and in which keys they write as complex keys (``? key``): the empty key, and keys
    of around 128 characters. Text of printable ASCII under short, non-empty keys
    (every config and lock file of ordinary names and paths) is written alike.
    """
    if _FAST_DUMPER is yaml.SafeDumper or not _emitted_alike(data):
        return yaml.SafeDumper
    return _FAST_DUMPER


_LONGEST_KEY = 100  # written out (a quote doubled), well short of where they differ


def _emitted_alike(data: Any) -> bool:
    seen: set[int] = set()  # a node shared by aliases is looked at once
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if not (node.isascii() and node.isprintable()):
                return False
        elif isinstance(node, dict | list | tuple):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and not 0 < len(key) + key.count("'") <= _LONGEST_KEY:
                        return False
                pending.extend(node.keys())
                pending.extend(node.values())
            else:
                pending.extend(node)
    return True


def check_bounded(data: Any) -> None:
    """Raise :class:`YAMLBoundError` when ``data`` contains itself or expands too far.

    Each mapping and list is measured once, by identity, so a document is checked
    in time proportional to its size on disk, not to its expanded size.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliases = 0

    def size(node: Any) -> int:
        nonlocal aliases
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in open_nodes:
            raise YAMLBoundError(
                "a recursive alias: an anchored node holds an alias of itself; "
                "replace the alias with the values it should stand for"
            )
        if key in sizes:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YAMLBoundError(
                    f"more than {MAX_ALIASES} uses of aliases; write the values out instead"
                )
            return sizes[key]
        open_nodes.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(key)
        sizes[key] = total
        if total > MAX_VALUES:
            raise YAMLBoundError(
                f"the aliases expand to more than {MAX_VALUES} values (aliases of aliases); "
                "write the values out instead"
            )
        return total

    size(data)
