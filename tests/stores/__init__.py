"""Tests of fsartifacts.stores."""
