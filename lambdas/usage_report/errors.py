"""The report's one error: something the user can fix."""

from __future__ import annotations


class ReportError(Exception):
    """A problem the user can fix (bad option, missing data, failed query): printed, exit 2."""
