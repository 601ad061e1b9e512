"""``UPath("artifactory://repo/path", base_url=...)`` through universal_pathlib.

Registered through the ``universal_pathlib.implementations`` entry point.
Without it upath falls back to a generic class with a "not explicitly
implemented" warning. Importing this module also imports the filesystem
class into fsspec's registry: upath takes the path rules (root marker "",
no leading "/") from an imported class only, and would otherwise guess
wrong ones with another warning.

A repository is what a bucket is to ``S3Path``: the anchor (``parts`` of
``artifactory://repo/a/b`` are ``("repo/", "a", "b")``), and a string target
of :meth:`ArtifactoryPath.rename` is ``repo/path``, there being no current
folder on a server to be relative to.
"""

from __future__ import annotations

from typing import Any

import fsspec
from upath._flavour import WrappedFileSystemFlavour
from upath.implementations.cloud import CloudPath

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

if "artifactory" not in fsspec.registry:
    fsspec.register_implementation("artifactory", ArtifactoryFileSystem)

# upath keeps, per protocol, whether the first part of a path is its anchor (a bucket's
# name, here a repository's) and whether empty parts may be joined: as for s3.
for _setting in ("netloc_is_anchor", "supports_empty_parts"):
    WrappedFileSystemFlavour.protocol_config[_setting].add("artifactory")
WrappedFileSystemFlavour.from_protocol.cache_clear()


class ArtifactoryPath(CloudPath):
    """A path on an Artifactory server: ``artifactory://<repo>/<path>``."""

    __slots__ = ()

    def rename(self, target: Any, **kwargs: Any) -> ArtifactoryPath:
        """Move to ``target``: a path, or a string ``repo/path`` (as ``S3Path`` reads
        ``bucket/key``)."""
        if isinstance(target, str) and "://" not in target and not target.startswith("./"):
            if "/" not in target.strip("/"):
                raise ValueError(
                    f"cannot rename {self} to {target!r}: a target names its repository "
                    f"and path (repo/path); for a new name in the same folder use "
                    f"{type(self).__name__}.with_name({target!r})"
                )
            target = self.with_segments(f"{self.protocol}://{target.lstrip('/')}")
        renamed: ArtifactoryPath = super().rename(target, **kwargs)
        return renamed
