"""Operator tools that run against a deployed stack or a local copy of its bucket."""
