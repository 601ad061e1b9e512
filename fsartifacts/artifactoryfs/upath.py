"""``UPath("artifactory://repo/path", base_url=...)`` through universal_pathlib.

Registered through the ``universal_pathlib.implementations`` entry point.
Without it upath falls back to a generic class with a "not explicitly
implemented" warning. Importing this module also imports the filesystem
class into fsspec's registry: upath takes the path rules (root marker "",
no leading "/") from an imported class only, and would otherwise guess
wrong ones with another warning.
"""

from __future__ import annotations

import fsspec
from upath import UPath

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

if "artifactory" not in fsspec.registry:
    fsspec.register_implementation("artifactory", ArtifactoryFileSystem)


class ArtifactoryPath(UPath):
    """A path on an Artifactory server: ``artifactory://<repo>/<path>``."""

    __slots__ = ()
