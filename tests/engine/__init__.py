"""Tests of fsartifacts.engine."""
