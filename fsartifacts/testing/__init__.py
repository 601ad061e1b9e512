"""Test and demo helpers that ship with fsartifacts.

:mod:`fsartifacts.testing.artifactory` is a local Artifactory-compatible HTTP server
(``python -m fsartifacts.testing.artifactory``). Nothing here is imported by
``import fsartifacts``.
"""
