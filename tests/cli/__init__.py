"""Tests of fsartifacts.cli."""
