"""Tests of fsartifacts.config."""
