"""What a downloaded file must match: its listed size, the sha256 recorded at push, the
checksum the store computed, and the sha256 a lock file or an alias pinned.

Every file a pull downloads, whole or in ranges, alone or in a folder, is checked here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fsartifacts.errors import IntegrityError, option

log = logging.getLogger("fsartifacts")


@dataclass(frozen=True)
class Pin:
    """The sha256 a pull must find, what recorded it, and the way out when it differs."""

    sha256: str | None
    source: str  # "fsartifacts.lock", "alias @prod"
    remedy: str


def check_pin(url: str, actual: str, pin: Pin | None) -> None:
    expected = pin.sha256 if pin else None
    if pin and expected and actual.lower() != expected.lower():
        raise IntegrityError(
            f"{url} differs from what {pin.source} recorded (sha256 {expected[:16]}..., the "
            f"store has {actual[:16]}...): it was replaced since. {pin.remedy}",
            transient=False,
        )


def checked(
    url: str,
    dest: Path,
    recorded: str | None,
    native: tuple[str, str] | None,
    pin: Pin | None,
    size: int | None,
    received: int,
    digests: dict[str, str],
) -> None:
    """:func:`verify`, then the pin: the checks of every downloaded file."""
    verify(url, dest, received, digests, size, recorded, native)
    check_pin(url, digests["sha256"], pin)


def verify(
    url: str,
    dest: Path,
    received: int,
    digests: dict[str, str],
    size: int | None,
    recorded: str | None,
    native: tuple[str, str] | None,
) -> None:
    """Check received bytes against the size and the strongest checksum the store offers."""
    kept = f"{dest} was left as it was; try again"
    got = digests["sha256"]
    evidence = f"{received} {got}"
    push_again = f"push it again ({option('force')}). {dest} was left as it was."
    if size is not None and received != size:
        raise IntegrityError(
            f"{url}: received {received} bytes but the store lists {size}: the transfer "
            f"was cut short or the copy changed during it. {kept}.",
            received=evidence,
            damaged=f"{url}: the copy on the store is damaged (it sends {received} bytes, "
            f"sha256 {got}; the store lists {size} bytes): {push_again}",
        )
    if recorded and got != recorded:
        raise IntegrityError(
            f"{url}: the sha256 of the received bytes ({got[:16]}...) is not "
            f"the one recorded at push ({recorded[:16]}...): corrupted in transit or on the "
            f"store. {kept}.",
            received=evidence,
            damaged=f"{url}: the copy on the store is damaged (sha256 {got}, recorded "
            f"{recorded}): {push_again}",
        )
    if native and digests[native[0]] != native[1].lower():
        raise IntegrityError(
            f"{url}: the {native[0]} of the received bytes is not the store's ({native[1]}): "
            f"corrupted in transit or on the store. {kept}.",
            received=evidence,
            damaged=f"{url}: the copy on the store is damaged ({native[0]} "
            f"{digests[native[0]]}, recorded {native[1].lower()}): {push_again}",
        )
    if not recorded and not native:
        log.info("%s: the store offers no checksum for it; verified by size only", url)
