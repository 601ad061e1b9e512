"""The engine: remote names and versions, push, pull, claims, manifests, the lock file,
atomic installs and results. It talks to a store only through fsspec and StoreOps."""
