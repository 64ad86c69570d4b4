"""Helpers shared by tests (importable as `support.*` through pytest pythonpath)."""
