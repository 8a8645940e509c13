"""The report page: one self-contained HTML file (Vega, Vega-Lite and vega-embed inlined).

Jinja2 escapes every value written into the page (autoescape); the graphs' data travels as JSON in a
`<script type="application/json">` element with <, > and & escaped, so no client name or URL can
close the element or add markup. A Content-Security-Policy forbids any request the page could make.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from usage_pipeline.measures import percent_429
from usage_report import charts
from usage_report import csv_export as files
from usage_report.model import STATUS_CLASSES, Change, Counts, Report

ROOT = Path(__file__).resolve().parents[2]
# The chart libraries, pinned in package.json and installed by `make install` (npm ci).
LIBRARIES = (
    "node_modules/vega/build/vega.min.js",
    "node_modules/vega-lite/build/vega-lite.min.js",
    "node_modules/vega-embed/build/vega-embed.min.js",
)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    help: str
    csv: str
    spec: dict[str, Any]


def library_scripts(root: Path = ROOT) -> list[str]:
    scripts = []
    for relative in LIBRARIES:
        path = root / relative
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run `make install` (npm ci installs the chart libraries)"
            )
        text = path.read_text(encoding="utf-8")
        # Inlined as a <script> body: the text must not be able to end the element.
        if "</script" in text.lower():
            raise ValueError(f"{path} contains '</script' and cannot be inlined")
        scripts.append(text)
    return scripts


def _percent_429(counts: Counts) -> str:
    return f"{percent_429(counts.status429, counts.requests) or 0.0:.2f} %"


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "-"
    return f"{100 * (now - before) / before:+.1f} %"


def _signed(value: int) -> str:
    return f"{value:+,}"


def charts_of(report: Report) -> dict[str, list[Chart]]:
    """The graphs of each section, in page order."""
    return {
        "most-active": [
            Chart(
                "top-clients",
                "Top 5 requests by OAuth client",
                "The five OAuth clients with the most requests, by response status.",
                files.TOP_CLIENTS,
                charts.stacked_by_status(
                    [(u.label, u.current) for u in report.top_clients], "OAuth client"
                ),
            ),
            Chart(
                "status-codes",
                "HTTP response status codes",
                "Every request of the range by status, whichever client made it.",
                files.STATUS_CODES,
                charts.status_totals(report.totals),
            ),
            Chart(
                "top-uris",
                "Top 5 requested URLs",
                "The five template URIs with the most requests, by response status.",
                files.TOP_URIS,
                charts.stacked_by_status(
                    [(u.label, u.current) for u in report.top_uris], "Template URI"
                ),
            ),
        ],
        "clients": [
            Chart(
                "client-daily",
                "Request counts by OAuth client",
                "Requests per UTC day of each selected OAuth client.",
                files.CLIENT_DAILY,
                charts.requests_per_day(report.client_series, "OAuth client"),
            ),
            Chart(
                "client-status-codes",
                "HTTP response status codes",
                "The selected OAuth clients' requests by status.",
                files.CLIENT_STATUS,
                charts.status_totals(report.client_status),
            ),
            Chart(
                "client-uris",
                "Request URL counts by OAuth client",
                "The template URIs each selected OAuth client calls most, by status.",
                files.CLIENT_URIS,
                charts.uris_by_client(
                    [(item.client.label, item.uris) for item in report.client_uris]
                ),
            ),
        ],
        "uris": [
            Chart(
                "uri-daily",
                "URL requests",
                "Requests per UTC day of each selected template URI.",
                files.URI_DAILY,
                charts.requests_per_day(report.uri_series, "Template URI"),
            ),
            Chart(
                "uri-status-codes",
                "HTTP response status codes",
                "The selected template URIs' requests by status.",
                files.URI_STATUS,
                charts.status_totals(report.uri_status),
            ),
        ],
    }


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("usage_report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["n"] = lambda value: f"{value:,}"
    environment.filters["signed"] = _signed
    environment.globals.update(percent_429=_percent_429, change=_change)
    return environment


def render(
    report: Report,
    *,
    command: str,
    generated_at: datetime | None = None,
    root: Path = ROOT,
) -> str:
    sections = charts_of(report) if report.has_data else {}
    chart_specs = {chart.id: chart.spec for group in sections.values() for chart in group}
    changed: dict[str, list[Change]] = {
        "clients": report.changed_clients,
        "uris": report.changed_uris,
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            sections=sections,
            chart_specs=chart_specs,
            changed=changed,
            statuses=STATUS_CLASSES,
            csv=files,
            command=command,
            generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
            csp=CONTENT_SECURITY_POLICY,
            libraries=library_scripts(root),
        )
    )
