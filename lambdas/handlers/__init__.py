"""Thin Lambda entry points: parse, log, call the logic in ``usage_pipeline``, return."""
