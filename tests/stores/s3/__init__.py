"""Tests of fsartifacts.stores.s3."""
