"""A hand-made Report and an engine that answers the report's queries from canned rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from usage_report.engines import QueryResult, Values
from usage_report.html import LIBRARIES
from usage_report.model import (
    ClientUris,
    Counts,
    DateRange,
    OAuthClient,
    Report,
    Series,
    Usage,
)
from usage_report.queries import ReportQuery

DAYS = DateRange(date(2026, 11, 15), date(2026, 11, 21))


class CannedEngine:
    """Answers each query by name with the rows given; records what it was asked."""

    description = "canned rows"

    def __init__(self, answers: Mapping[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
        self._answers = answers
        self.asked: list[tuple[str, Values]] = []

    def run_all(self, requests: Sequence[tuple[ReportQuery, Values]]) -> list[QueryResult]:
        results = []
        for query, values in requests:
            self.asked.append((query.name, values))
            columns, rows = self._answers.get(query.name, ([], []))
            results.append(QueryResult(query.name, columns, rows))
        return results

    def close(self) -> None:
        pass


def counts(requests: int, status429: int = 0) -> Counts:
    return Counts(
        requests=requests,
        status200=requests - status429,
        status429=status429,
    )


def report_with(client_name: str, uri: str) -> Report:
    """A report of one client and one URL, both named as given (e.g. hostile text)."""
    client = OAuthClient("c1", client_name, client_name)
    one_day = [(day, counts(10, 2)) for day in DAYS.each_day()]
    return Report(
        range=DAYS,
        source="hand-made",
        totals=counts(70, 14),
        previous_totals=counts(50, 1),
        row_count=7,
        oauth_clients=1,
        template_uris=1,
        last_day="2026-11-21",
        last_landed_at="2026-11-22T03:00:00Z",
        top_clients=[Usage("c1", client_name, counts(70, 14), counts(50, 1))],
        top_uris=[Usage(uri, uri, counts(70, 14), counts(50, 1))],
        client_series=[Series("c1", client_name, one_day)],
        client_uris=[ClientUris(client, [(uri, counts(70, 14))])],
        uri_series=[Series(uri, uri, one_day)],
        usage_columns=["date", "oauth_client_name", "template_uri", "requests"],
        usage_rows=[("2026-11-15", client_name, uri, 10)],
    )


def fake_libraries(root: Path) -> Path:
    """Stand-ins for the inlined chart libraries (unit tests do not need npm's packages)."""
    for relative in LIBRARIES:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("/* library */", encoding="utf-8")
    return root
