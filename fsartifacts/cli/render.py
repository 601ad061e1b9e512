"""Turning results, listings and the config into text or JSON for the CLI."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import semver

from fsartifacts.escaping import printable
from fsartifacts.sizes import human_size
from fsartifacts.versioning import pinned_version

if TYPE_CHECKING:
    from fsartifacts.config.model import Artifact
    from fsartifacts.engine.aliases import Alias, Move
    from fsartifacts.engine.info import VersionInfo
    from fsartifacts.engine.manifest import Manifest
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.engine.results import Result
    from fsartifacts.project import Project
    from fsartifacts.versionspec import VersionSpec

# Per artifact: its base version (what LATEST is judged against), the copies shown, the
# copy LATEST resolves to, what was asked for and the copy that resolves to.
Listing = list[
    tuple[
        "Artifact",
        semver.Version,
        list["RemoteCopy"],
        "RemoteCopy | None",
        "VersionSpec",
        "RemoteCopy | None",
    ]
]


# Each result counts under exactly one outcome: an up-to-date copy is not also "skipped".
OUTCOMES = ("pushed", "pulled", "up_to_date", "skipped", "planned", "deleted", "failed")


def outcome(result: Result) -> str:
    if result.action == "skipped" and result.detail == "up to date":
        return "up_to_date"
    return result.action


def summary(results: list[Result]) -> dict[str, int]:
    counts = Counter(outcome(r) for r in results)
    return {**{k: counts[k] for k in OUTCOMES}, "total": len(results)}


def render_results(results: list[Result], *, show_summary: bool, command: str) -> str:
    """One line per result, in columns (what, artifact, version, where, size), then a
    summary. A failure's reason is not repeated here: the CLI prints it once, on stderr."""
    arrow = "<-" if "pull" in command else "->"
    lines = []
    for r in results:
        label = r.detail if r.action in ("skipped", "planned") and r.detail else r.action
        if r.action == "failed":
            lines.append(f"{label:<14} {r.artifact} {r.version or '-'}")
            continue
        where = f"{r.local} {arrow} {r.remote}" if r.local else (r.remote or "")
        version = r.version or ("-" if command == "gc" else "(singular)")
        lines.append(f"{label:<14} {r.artifact} {version}  {where}  ({human_size(r.bytes)})")
        gone = "would be removed" if r.action == "planned" else "removed"
        # A local name may hold a newline: escaped here, it stays on its own line.
        lines += [f"  - {printable(path)} (local only, {gone})" for path in r.removed]
    if show_summary:
        counts = summary(results)
        parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in OUTCOMES if counts[k]]
        noun = {"rm": "versions", "prune": "versions", "gc": "leftovers"}.get(command, "artifacts")
        lines.append(f"{len(results)} {noun}: " + ", ".join(parts))
    return "\n".join(lines)


def failure_lines(results: list[Result]) -> list[str]:
    """The reasons of the failures, one line per distinct reason: ALL against a store that
    refuses us fails the same way for every artifact."""
    errors = dict.fromkeys(
        r.error or f"{r.artifact}: failed" for r in results if outcome(r) == "failed"
    )
    return [f"fsartifacts: error: {error}" for error in errors]


def render_plan(project: Project, doomed: list[RemoteCopy], *, keep: int) -> str:
    if not doomed:
        return f"nothing to prune: no artifact has more than {keep} versions in a major"
    lines = [f"to delete ({len(doomed)}), keeping the newest {keep} of each major:"]
    lines += [f"  {project.store.url(c.display_name)}  ({human_size(c.size)})" for c in doomed]
    return "\n".join(lines)


def render_listing(
    project: Project,
    listing: Listing,
    *,
    as_json: bool,
    notes: dict[str, dict[str, Any]] | None = None,
) -> Any:
    """The versions of each artifact; ``notes`` (by remote name) adds commits and aliases."""
    notes = notes or {}
    store = project.store
    if as_json:
        return {
            "remote": store.display,
            "artifacts": [
                {
                    "artifact": artifact.name,
                    "pinned": str(base) if pinned_version(artifact) is not None else None,
                    "resolves_against": str(base),
                    "latest": str(latest.version) if latest and latest.version else None,
                    "requested": str(request),
                    "resolved": str(chosen.version) if chosen and chosen.version else None,
                    "versions": [
                        {
                            "version": str(c.version) if c.version else None,
                            "kind": c.kind,
                            "remote": store.url(c.display_name),
                            "size": c.size,
                            "modified": c.modified.isoformat() if c.modified else None,
                            "commit": notes.get(c.name, {}).get("commit"),
                            "aliases": notes.get(c.name, {}).get("aliases", []),
                        }
                        for c in copies
                    ],
                }
                for artifact, base, copies, latest, request, chosen in listing
            ],
        }
    lines = [f"remote: {store.display}"]
    for artifact, base, copies, _, request, chosen in listing:
        pin = f", pinned to {artifact.version}" if pinned_version(artifact) is not None else ""
        asked = "" if request.is_latest else f"; asks for {request}"
        lines.append(f"{artifact.name}  (LATEST resolves against {base}{pin}{asked})")
        if not copies:
            what = "versions" if request.is_latest else f"versions matching {request}"
            lines.append(f"  no {what} of {artifact.name} at {store.display} yet")
        for c in copies:
            mark = f"  <- {request}" if chosen is not None and c.name == chosen.name else ""
            when = c.modified.strftime("%Y-%m-%d %H:%M") if c.modified else "-"
            label = str(c.version) if c.version else "(singular)"
            note = _note(notes.get(c.name, {}))
            lines.append(
                f"  {label:<20} {human_size(c.size):>10}  {when}  {c.display_name}{note}{mark}"
            )
    return "\n".join(lines)


def render_move(project: Project, alias: Alias, move: Move, *, as_json: bool) -> Any:
    """One alias move: ``@prod of model: 1.0.0 -> 1.1.0``, or its JSON."""
    if as_json:
        return {"command": "alias", "ok": True, **alias.to_dict(), "move": move.to_dict()}
    where = project.store.display
    if move.new is None:
        return f"removed @{alias.name} of {alias.artifact} (was {move.old}) at {where}"
    return f"@{alias.name} of {alias.artifact}: {move.old or '(new)'} -> {move.new}  at {where}"


def render_aliases(project: Project, aliases: list[Alias], *, history: bool, as_json: bool) -> Any:
    """Each alias with its version and sha256; with ``history``, every move under it."""
    if as_json:
        return {
            "remote": project.store.display,
            "aliases": [a.to_dict(history=history) for a in aliases],
        }
    if not aliases:
        return f"no aliases at {project.store.display}"
    lines = [f"remote: {project.store.display}"]
    for a in aliases:
        target = str(a.version) if a.version else "(removed)"
        digest = f"sha256 {a.sha256[:12]}" if a.sha256 else ""
        lines.append(f"{a.artifact:<16} @{a.name:<16} {target:<20} {digest}".rstrip())
        if history:
            lines += [
                f"    {m.at}  {m.by}@{m.host}  {m.old or '(new)'} -> {m.new or '(removed)'}"
                for m in a.history
            ]
    return "\n".join(lines)


def _note(note: dict[str, Any]) -> str:
    """``  git 1a2b3c4d (dirty)  @prod @staging`` for a listed version, or ""."""
    parts = []
    if note.get("commit"):
        parts.append(f"git {str(note['commit'])[:8]}" + (" (dirty)" if note.get("dirty") else ""))
    parts += [f"@{name}" for name in note.get("aliases", [])]
    return "  " + "  ".join(parts) if parts else ""


def render_files(url: str, manifest: Manifest, *, as_json: bool) -> Any:
    """The files of a folder version: one line each (size, path), then their total."""
    if as_json:
        return {
            "remote": url,
            "artifact": manifest.artifact,
            "version": manifest.version,
            "size": manifest.size,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in manifest.files],
        }
    width = max(len(human_size(f.size)) for f in manifest.files)
    lines = [f"{human_size(f.size):>{width}}  {f.path}" for f in manifest.files]
    count = len(manifest.files)
    lines.append(f"{count} file{'' if count == 1 else 's'}, {human_size(manifest.size)} in {url}")
    return "\n".join(lines)


def render_info(info: VersionInfo) -> str:
    """One version, a field a line; a folder's files below."""
    p = info.provenance
    lines = [f"{info.artifact} {info.version or '(singular)'}  ({info.kind})"]
    rows: list[tuple[str, str | None]] = [
        ("remote", info.remote),
        ("size", human_size(info.size)),
        ("sha256", info.sha256 or "not recorded"),
        ("aliases", " ".join(f"@{a}" for a in info.aliases) or "none"),
        ("commit", (p.get("commit", "") + (" (dirty)" if p.get("dirty") else "")) or None),
        ("branch", p.get("branch")),
        ("pushed", " ".join(x for x in (p.get("time"), p.get("user") and f"by {p['user']}",
                                        p.get("host") and f"on {p['host']}") if x) or None),
        ("ci", " ".join(x for x in (p.get("ci"), p.get("ci_url")) if x) or None),
        ("message", p.get("message")),
        ("fsartifacts", p.get("fsartifacts")),
    ]  # fmt: skip
    if not p:
        rows.append(("provenance", "none recorded (pushed before fsartifacts recorded it)"))
    lines += [f"  {key + ':':<13}{value}" for key, value in rows if value]
    if info.files is not None:
        lines.append(f"  files ({len(info.files)}):")
        lines += [f"    {f.path}  {human_size(f.size)}  sha256 {f.sha256[:12]}" for f in info.files]
    return "\n".join(lines)


def render_config(project: Project) -> dict[str, Any]:
    from fsartifacts.config.model import config_as_dict

    shown = config_as_dict(project.config)
    shown["project_version"] = str(project.version)
    shown["project_version_source"] = project.version_source
    shown["artifact_versions"] = {
        a.name: str(project.artifact_version(a)) for a in project.config.repository.artifacts
    }
    return shown
