"""Tests of fsartifacts.stores.artifactory."""
