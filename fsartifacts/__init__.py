"""fsartifacts: push and pull versioned artifacts to S3, Artifactory or any fsspec store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "FsArtifactsError",
    "IntegrityError",
    "NotFoundError",
    "Project",
    "Result",
    "Results",
    "TransferError",
    "__version__",
]

if TYPE_CHECKING:
    from fsartifacts.engine.results import Result, Results
    from fsartifacts.errors import (
        AuthError,
        ConfigError,
        ConflictError,
        FsArtifactsError,
        IntegrityError,
        NotFoundError,
        TransferError,
    )
    from fsartifacts.project import Project

_LAZY = {
    "Project": "fsartifacts.project",
    "Result": "fsartifacts.engine.results",
    "Results": "fsartifacts.engine.results",
    "AuthError": "fsartifacts.errors",
    "ConfigError": "fsartifacts.errors",
    "ConflictError": "fsartifacts.errors",
    "FsArtifactsError": "fsartifacts.errors",
    "IntegrityError": "fsartifacts.errors",
    "NotFoundError": "fsartifacts.errors",
    "TransferError": "fsartifacts.errors",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that `fsartifacts --help` does not pay for fsspec and friends.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fsartifacts' has no attribute {name!r}")
