"""Tests of the local Artifactory-compatible server."""
