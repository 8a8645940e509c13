"""Run the report's queries on an engine and assemble the typed `Report`.

Two rounds: the range's totals, clients, URLs and rows first (Athena runs them at once); then, with
the selection known (the user's, or the top 5), the per-day and per-URL queries of the selection.
"""

from __future__ import annotations

from collections.abc import Sequence

from usage_report import queries as q
from usage_report.engines import Engine, QueryResult
from usage_report.model import (
    TOP_N,
    ClientUris,
    Counts,
    DateRange,
    Report,
    active,
    changes,
    client_labels,
    series,
    usages,
)
from usage_report.selection import resolve_clients, resolve_uris


def build_report(
    engine: Engine,
    days: DateRange,
    *,
    clients: Sequence[str] = (),
    urls: Sequence[str] = (),
) -> Report:
    previous = days.previous()
    dates = {
        "start": days.first.isoformat(),
        "end": days.last.isoformat(),
        "previous_start": previous.first.isoformat(),
    }
    summary, by_client, by_uri, usage = engine.run_all(
        [
            (q.QUERIES_BY_NAME[q.SUMMARY], dates),
            (q.QUERIES_BY_NAME[q.OAUTH_CLIENTS], dates),
            (q.QUERIES_BY_NAME[q.TEMPLATE_URIS], dates),
            (q.QUERIES_BY_NAME[q.USAGE_DATA], dates),
        ]
    )
    periods = {row["period"]: row for row in summary.records()}
    current = periods.get("current")
    report = Report(
        range=days,
        source=engine.description,
        totals=Counts.from_row(current) if current else Counts(),
        previous_totals=Counts.from_row(periods["previous"]) if "previous" in periods else None,
        row_count=int(current["row_count"]) if current else 0,
        oauth_clients=int(current["oauth_clients"]) if current else 0,
        template_uris=int(current["template_uris"]) if current else 0,
        last_day=str(current["last_day"]) if current else None,
        last_landed_at=current["last_landed_at"] if current else None,
        usage_columns=usage.columns,
        usage_rows=usage.rows,
    )
    if not report.has_data:
        return _with_bytes(report, [summary, by_client, by_uri, usage])

    known_clients = client_labels(
        (row["oauth_client_id"], row["oauth_client_name"]) for row in by_client.records()
    )
    labels = {client_id: client.label for client_id, client in known_clients.items()}
    client_usage = usages(by_client.records(), "oauth_client_id", labels)
    uri_usage = usages(by_uri.records(), "template_uri")
    report.top_clients = active(client_usage)[:TOP_N]
    report.top_uris = active(uri_usage)[:TOP_N]
    if report.previous_totals is not None:
        report.changed_clients = changes(client_usage)
        report.changed_uris = changes(uri_usage)

    in_range = {
        usage.key: known_clients[usage.key]
        for usage in active(client_usage)
        if usage.key in known_clients
    }
    chosen_clients = (
        resolve_clients(clients, in_range, days)
        if clients
        else [known_clients[usage.key] for usage in report.top_clients]
    )
    chosen_uris = (
        resolve_uris(urls, [usage.key for usage in active(uri_usage)], days)
        if urls
        else [usage.key for usage in report.top_uris]
    )
    client_ids = [client.id for client in chosen_clients]
    client_daily, client_uris, uri_daily = engine.run_all(
        [
            (q.QUERIES_BY_NAME[q.CLIENT_DAILY], {**dates, "oauth_client_ids": client_ids}),
            (q.QUERIES_BY_NAME[q.CLIENT_URIS], {**dates, "oauth_client_ids": client_ids}),
            (q.QUERIES_BY_NAME[q.URI_DAILY], {**dates, "template_uris": chosen_uris}),
        ]
    )
    report.client_series = series(
        client_daily.records(),
        "oauth_client_id",
        [(client.id, client.label) for client in chosen_clients],
        days,
    )
    report.uri_series = series(uri_daily.records(), "template_uri", _same(chosen_uris), days)
    uris_of: dict[str, list[tuple[str, Counts]]] = {}
    for row in client_uris.records():
        uris_of.setdefault(row["oauth_client_id"], []).append(
            (row["template_uri"], Counts.from_row(row))
        )
    report.client_uris = [
        ClientUris(client, uris_of.get(client.id, [])) for client in chosen_clients
    ]
    return _with_bytes(
        report,
        [summary, by_client, by_uri, usage, client_daily, client_uris, uri_daily],
    )


def _same(keys: Sequence[str]) -> list[tuple[str, str]]:
    return [(key, key) for key in keys]


def _with_bytes(report: Report, results: Sequence[QueryResult]) -> Report:
    """Athena tells the bytes each query scanned; DuckDB does not."""
    scanned = [result.bytes_scanned for result in results]
    known = [value for value in scanned if value is not None]
    if len(known) == len(scanned):
        report.bytes_scanned = sum(known)
    return report
