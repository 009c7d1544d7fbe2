"""Shared test helpers: real registries and token servers started on loopback for the test suite."""
