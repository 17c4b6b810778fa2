"""Shared helpers for the test suite (real server processes, CLI runs)."""
