"""The CSV files beside the page: "API usage data" (every row of the range) and one per graph.

Client names and URLs come from Genesys: a cell starting with =, +, -, @, a tab or a carriage
return would be read as a formula by a spreadsheet, so such cells get a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usage_report.model import Change, Counts, Report, Series, Usage
from usage_report.queries import COUNT_COLUMNS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

USAGE_DATA = "api-usage-data.csv"
TOP_CLIENTS = "top-5-oauth-clients.csv"
STATUS_CODES = "status-codes.csv"
TOP_URIS = "top-5-template-uris.csv"
CLIENT_DAILY = "oauth-client-requests-per-day.csv"
CLIENT_STATUS = "oauth-client-status-codes.csv"
CLIENT_URIS = "oauth-client-template-uris.csv"
URI_DAILY = "template-uri-requests-per-day.csv"
URI_STATUS = "template-uri-status-codes.csv"
CHANGED_CLIENTS = "changed-oauth-clients.csv"
CHANGED_URIS = "changed-template-uris.csv"


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


@dataclass(frozen=True)
class CsvTable:
    file_name: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _counts(counts: Counts) -> list[int]:
    return [getattr(counts, column) for column in COUNT_COLUMNS]


def _status_rows(counts: Counts) -> list[list[Any]]:
    return [[status.label, status.meaning, value] for status, value in counts.by_status()]


def _usage_rows(found: Sequence[Usage], with_name: bool) -> list[list[Any]]:
    if with_name:
        return [[u.key, u.label, *_counts(u.current)] for u in found]
    return [[u.key, *_counts(u.current)] for u in found]


def _daily_rows(all_series: Sequence[Series], with_name: bool) -> list[list[Any]]:
    rows = []
    for one in all_series:
        for day, counts in one.days:
            key = [one.key, one.label] if with_name else [one.key]
            rows.append([day.isoformat(), *key, *_counts(counts)])
    return rows


def _change_rows(found: Sequence[Change], with_name: bool) -> list[list[Any]]:
    return [
        [
            *([c.key, c.label] if with_name else [c.key]),
            c.requests_now,
            c.requests_before,
            c.requests_change,
            c.status429_now,
            c.status429_before,
            c.status429_change,
            c.status,
        ]
        for c in found
    ]


CHANGE_COLUMNS = (
    "requests",
    "requests_before",
    "requests_change",
    "status429",
    "status429_before",
    "status429_change",
    "new_or_gone",
)
STATUS_COLUMNS_OUT = ("status", "meaning", "requests")
CLIENT_KEY = ("oauth_client_id", "oauth_client_name")


def report_tables(report: Report) -> list[CsvTable]:
    """Every CSV the report writes; a graph's file holds exactly the numbers it draws."""
    tables = [CsvTable(USAGE_DATA, report.usage_columns, report.usage_rows)]
    if not report.has_data:
        return tables
    client_uri_rows = [
        [item.client.id, item.client.label, uri, *_counts(counts)]
        for item in report.client_uris
        for uri, counts in item.uris
    ]
    tables += [
        CsvTable(TOP_CLIENTS, (*CLIENT_KEY, *COUNT_COLUMNS), _usage_rows(report.top_clients, True)),
        CsvTable(STATUS_CODES, STATUS_COLUMNS_OUT, _status_rows(report.totals)),
        CsvTable(TOP_URIS, ("template_uri", *COUNT_COLUMNS), _usage_rows(report.top_uris, False)),
        CsvTable(
            CLIENT_DAILY,
            ("date", *CLIENT_KEY, *COUNT_COLUMNS),
            _daily_rows(report.client_series, True),
        ),
        CsvTable(CLIENT_STATUS, STATUS_COLUMNS_OUT, _status_rows(report.client_status)),
        CsvTable(CLIENT_URIS, (*CLIENT_KEY, "template_uri", *COUNT_COLUMNS), client_uri_rows),
        CsvTable(
            URI_DAILY,
            ("date", "template_uri", *COUNT_COLUMNS),
            _daily_rows(report.uri_series, False),
        ),
        CsvTable(URI_STATUS, STATUS_COLUMNS_OUT, _status_rows(report.uri_status)),
    ]
    if report.previous_totals is not None:
        tables += [
            CsvTable(
                CHANGED_CLIENTS,
                (*CLIENT_KEY, *CHANGE_COLUMNS),
                _change_rows(report.changed_clients, True),
            ),
            CsvTable(
                CHANGED_URIS,
                ("template_uri", *CHANGE_COLUMNS),
                _change_rows(report.changed_uris, False),
            ),
        ]
    return tables


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # utf-8-sig: Excel reads the names' accents and emoji right only with the byte-order mark.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([safe_cell(value) for value in row] for row in rows)


def write_tables(out_dir: Path, tables: Sequence[CsvTable]) -> list[Path]:
    written = []
    for table in tables:
        path = out_dir / table.file_name
        write_csv(path, table.columns, table.rows)
        written.append(path)
    return written
