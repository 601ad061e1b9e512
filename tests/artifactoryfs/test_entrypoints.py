"""The ``artifactory`` protocol as users meet it: by name, in a fresh interpreter.

fsspec finds the filesystem through the ``fsspec.specs`` entry point and
universal_pathlib finds ArtifactoryPath through
``universal_pathlib.implementations``; both exist only once the package is
installed (tox always tests an installed package).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from tests.fixtures.artifactory import ArtifactoryRepo

ENTRY_POINTS = {
    "fsspec.specs": "fsartifacts.artifactoryfs.filesystem:ArtifactoryFileSystem",
    "universal_pathlib.implementations": "fsartifacts.artifactoryfs.upath:ArtifactoryPath",
}


def require_installed_entry_points() -> None:
    for group, value in ENTRY_POINTS.items():
        found = {ep.name: ep.value for ep in entry_points(group=group)}
        if found.get("artifactory") != value:
            pytest.fail(
                f"the entry point {group}: artifactory = {value!r} is not registered "
                f"(found {found.get('artifactory')!r}); install the package, or reinstall it "
                "after its entry points changed: "
                "pip install -e ."
            )


def run_fresh(script: str) -> dict[str, object]:
    """Run ``script`` in a new interpreter (warnings are errors); return its JSON output."""
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def published(artifactory_repo: ArtifactoryRepo) -> ArtifactoryRepo:
    fs = ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True)
    fs.pipe_file(f"{artifactory_repo.name}/x/y.bin", b"through the entry point")
    fs.pipe_file(f"{artifactory_repo.name}/x/z.txt", b"zed")
    return artifactory_repo


def test_entry_points_are_registered() -> None:
    require_installed_entry_points()


def test_fsspec_opens_artifactory_urls_by_name(published: ArtifactoryRepo) -> None:
    require_installed_entry_points()
    result = run_fresh(
        f"""
        import json, fsspec
        url = {published.url!r}
        with fsspec.open("artifactory://{published.name}/x/y.bin", "rb", url=url) as f:
            data = f.read().decode()
        # url_to_fs takes its own first argument named "url": the server goes as base_url.
        fs, path = fsspec.url_to_fs("artifactory://{published.name}/x/", base_url=url)
        print(json.dumps({{"data": data, "path": path, "ls": fs.ls(path, detail=False),
                          "cls": type(fs).__module__ + "." + type(fs).__name__}}))
        """
    )
    assert result == {
        "data": "through the entry point",
        "path": f"{published.name}/x",
        "ls": [f"{published.name}/x/y.bin", f"{published.name}/x/z.txt"],
        "cls": "fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem",
    }


def test_upath_works_without_the_fallback_warning(published: ArtifactoryRepo) -> None:
    require_installed_entry_points()
    result = run_fresh(
        f"""
        import json
        from upath import UPath
        root = UPath("artifactory://{published.name}/x", url={published.url!r})
        child = root / "y.bin"
        (root / "new.txt").write_bytes(b"written by upath")
        print(json.dumps({{
            "cls": type(root).__module__ + "." + type(root).__name__,
            "read": child.read_bytes().decode(),
            "iterdir": sorted(p.name for p in root.iterdir()),
            "parent": str(child.parent),
            "is_file": child.is_file(),
            "is_dir": root.is_dir(),
            "new": (root / "new.txt").read_text(),
        }}))
        """
    )
    assert result == {
        "cls": "fsartifacts.artifactoryfs.upath.ArtifactoryPath",
        "read": "through the entry point",
        "iterdir": ["new.txt", "y.bin", "z.txt"],
        "parent": f"artifactory://{published.name}/x",
        "is_file": True,
        "is_dir": True,
        "new": "written by upath",
    }
