"""Helpers shared by the tests (import as tests.support.<module>); fixtures live in conftest.py."""
