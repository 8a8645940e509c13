"""Measures derived from the table's counts, each defined once, in Python and in SQL side by side.

The share of requests Genesys answered 429 (rate limited) is what the `RateLimitedPercent` alarm
reads (the land handler's metric), what the report's KPI shows and what the saved query
`top-10-oauth-clients-by-429` ranks by. 429 is a subset of Genesys's status400.
"""

from __future__ import annotations


def percent_429(status429: int | None, requests: int | None) -> float | None:
    """100 * status429 / requests; None without requests (or when either was not asked for)."""
    if not requests or status429 is None:
        return None
    return 100.0 * status429 / requests


def percent_429_sql(status429: str, requests: str, *, decimals: int = 2) -> str:
    """The same share as an Athena (and DuckDB) expression over two SQL expressions."""
    return f"ROUND(100.0 * {status429} / NULLIF({requests}, 0), {decimals})"
