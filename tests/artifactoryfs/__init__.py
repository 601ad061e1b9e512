"""Tests of fsartifacts.artifactoryfs."""
