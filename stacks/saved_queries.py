"""The workgroup's saved queries: the report's own (lambdas/usage_report/queries.py), one source.

What the report draws can be re-run in the Athena console; queries that take values (a date range,
OAuth clients, template URIs) are saved with `?` slots, explained in their description.
"""

from __future__ import annotations

from usage_report.queries import SavedQuery, saved_queries

__all__ = ["SavedQuery", "saved_queries"]
