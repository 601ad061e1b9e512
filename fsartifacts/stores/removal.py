"""Deleting one path of a store exactly as named.

fsspec's ``rm`` reads a path holding ``*``, ``?`` or ``[`` as a pattern (the Artifactory
filesystem does, as fsspec's own base class does), and deletes what it matches. The
names a store holds are not all ours: a leftover or a listing note found by a listing
may carry those characters, and deleting it must delete that one object, never the
notes or temporaries of other versions its name happens to match.
"""

from __future__ import annotations

import re
from typing import Any

_PATTERN_CHARS = re.compile(r"[*?\[]")


def remove_exactly(fs: Any, rpath: str, *, recursive: bool = False) -> None:
    """Delete ``rpath`` on ``fs`` (with what is below it when ``recursive``), read as a
    name, not a pattern. A missing path raises FileNotFoundError."""
    if not recursive:
        fs.rm_file(rpath)
    elif _PATTERN_CHARS.search(rpath) is None:
        fs.rm(rpath, recursive=True)  # nothing for it to expand: one request on Artifactory
    else:
        found = fs.find(rpath, withdirs=True, detail=True)
        if not found:
            raise FileNotFoundError(rpath)
        # The deepest first, so that each folder is empty when its turn comes.
        for path, info in sorted(found.items(), key=lambda item: -item[0].count("/")):
            if info.get("type") == "directory":
                fs.rmdir(path)
            else:
                fs.rm_file(path)
