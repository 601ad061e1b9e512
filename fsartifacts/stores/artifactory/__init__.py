"""Artifactory as a store: credentials resolved in order, the filesystem opened, its ops."""
