"""Reading the entries of a store's listing: each store names an entry's size and time
its own way (a string of digits, ``LastModified``, ``mtime``...), and a folder with or
without its trailing slash."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def entry_size(entry: dict[str, Any]) -> int | None:
    """The size of a listing entry (Artifactory sends it as a string), or None."""
    try:
        return int(entry["size"]) if entry.get("size") is not None else None
    except (TypeError, ValueError):
        return None


def entry_modified(entry: dict[str, Any]) -> datetime | None:
    """When a listing entry was last written, timezone-aware, whatever the store calls it."""
    for key in ("mtime", "LastModified", "modified", "last_modified", "created"):
        value = entry.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.astimezone()
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value).astimezone()
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            # With no offset: local time, as a naive datetime above (a naive one compared
            # with an aware one is a TypeError, raised by every question of the listing).
            return parsed if parsed.tzinfo else parsed.astimezone()
    return None


def strip_slash(path: str) -> str:
    """A path without its trailing slashes (listings name folders both ways)."""
    return path.rstrip("/")
