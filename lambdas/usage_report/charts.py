"""The graphs as Vega-Lite specifications (plain JSON; the page embeds Vega to draw them).

Every graph uses the same colour per status (`STATUS_CLASSES`), thousands separators on axes and
tooltips, and UTC days. Data goes in as values, never as expressions, so the untrusted names and
URLs can only ever be drawn as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from usage_report.model import STATUS_CLASSES, Counts, Series

Spec = dict[str, Any]
COUNT_FORMAT = ",d"
LABEL_LIMIT = 360
BAR_ROW_HEIGHT = 34
SERIES_PALETTE = "tableau10"

STATUS_SCALE = {
    "domain": [status.label for status in STATUS_CLASSES],
    "range": [status.colour for status in STATUS_CLASSES],
}
STATUS_LEGEND = {"title": "Status", "orient": "top", "direction": "horizontal"}


# Readable on a laptop screen and in a screenshot: larger labels, fewer ticks.
CONFIG = {
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "tickCount": 8, "labelColor": "#1f2933"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "header": {"labelFontSize": 13},
    "view": {"stroke": None},
}


def _base(height: int) -> Spec:
    return {
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": CONFIG,
    }


def _status_segments(category: str, counts: Counts) -> list[dict[str, Any]]:
    """One bar segment per status with requests (an empty segment draws nothing useful)."""
    return [
        {
            "category": category,
            "status": status.label,
            "meaning": status.meaning,
            "order": index,
            "requests": value,
            "total": counts.requests,
            "description": f"{category}, {status.label} {status.meaning}: {value:,} requests",
        }
        for index, (status, value) in enumerate(counts.by_status())
        if value > 0
    ]


def stacked_by_status(items: Sequence[tuple[str, Counts]], category_title: str) -> Spec:
    """Horizontal bars, one per item, stacked by status; the busiest on top."""
    values = [segment for label, counts in items for segment in _status_segments(label, counts)]
    return {
        **_base(max(1, len(items)) * BAR_ROW_HEIGHT),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {
                "field": "category",
                "type": "nominal",
                "sort": [label for label, _ in items],
                "title": None,
                "axis": {"labelLimit": LABEL_LIMIT},
            },
            "x": {
                "field": "requests",
                "type": "quantitative",
                "stack": "zero",
                "title": "Requests",
                "axis": {"format": COUNT_FORMAT},
            },
            "color": {
                "field": "status",
                "type": "nominal",
                "scale": STATUS_SCALE,
                "legend": STATUS_LEGEND,
            },
            "order": {"field": "order"},
            "description": {"field": "description"},
            "tooltip": [
                {"field": "category", "title": category_title},
                {"field": "status", "title": "Status"},
                {"field": "meaning", "title": "Meaning"},
                {"field": "requests", "title": "Requests", "format": COUNT_FORMAT},
                {"field": "total", "title": "All requests", "format": COUNT_FORMAT},
            ],
        },
    }


def status_totals(counts: Counts) -> Spec:
    """One bar per status class (all five, zero ones too), the count written on each."""
    values = [
        {
            "status": status.label,
            "meaning": status.meaning,
            "requests": value,
            "share": value / counts.requests if counts.requests else 0.0,
            "description": f"{status.label} {status.meaning}: {value:,} requests",
        }
        for status, value in counts.by_status()
    ]
    encoding = {
        "x": {
            "field": "status",
            "type": "nominal",
            "sort": STATUS_SCALE["domain"],
            "title": "Status",
            "axis": {"labelAngle": 0},
        },
        "y": {
            "field": "requests",
            "type": "quantitative",
            "title": "Requests",
            "axis": {"format": COUNT_FORMAT},
        },
    }
    return {
        **_base(240),
        "data": {"values": values},
        "encoding": encoding,
        "layer": [
            {
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "color": {
                        "field": "status",
                        "type": "nominal",
                        "scale": STATUS_SCALE,
                        "legend": None,
                    },
                    "description": {"field": "description"},
                    "tooltip": [
                        {"field": "status", "title": "Status"},
                        {"field": "meaning", "title": "Meaning"},
                        {"field": "requests", "title": "Requests", "format": COUNT_FORMAT},
                        {"field": "share", "title": "Share", "format": ".2%"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "dy": -8, "fontSize": 12},
                "encoding": {"text": {"field": "requests", "format": COUNT_FORMAT}},
            },
        ],
    }


def requests_per_day(all_series: Sequence[Series], series_title: str) -> Spec:
    """One line per selected client or URL, a point per UTC day (hover shows the numbers)."""
    values = [
        {
            "day": day.isoformat(),
            "series": one.label,
            "requests": counts.requests,
            "status429": counts.status429,
            "description": f"{one.label}, {day.isoformat()}: {counts.requests:,} requests",
        }
        for one in all_series
        for day, counts in one.days
    ]
    return {
        **_base(280),
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {
                "field": "day",
                "type": "temporal",
                "timeUnit": "utcyearmonthdate",
                "title": "UTC day",
                "axis": {"format": "%b %d", "labelOverlap": True},
            },
            "y": {
                "field": "requests",
                "type": "quantitative",
                "title": "Requests",
                "axis": {"format": COUNT_FORMAT},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "sort": [one.label for one in all_series],
                "scale": {"scheme": SERIES_PALETTE},
                "legend": {
                    "title": series_title,
                    "orient": "bottom",
                    "columns": 2,
                    "labelLimit": LABEL_LIMIT,
                },
            },
            "description": {"field": "description"},
            "tooltip": [
                {
                    "field": "day",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdate",
                    "title": "UTC day",
                    "format": "%Y-%m-%d",
                },
                {"field": "series", "title": series_title},
                {"field": "requests", "title": "Requests", "format": COUNT_FORMAT},
                {"field": "status429", "title": "429", "format": COUNT_FORMAT},
            ],
        },
    }


def uris_by_client(items: Sequence[tuple[str, Sequence[tuple[str, Counts]]]]) -> Spec:
    """For each selected client, its most called URLs stacked by status, one panel per client."""
    values = [
        {**segment, "client": client, "description": f"{client}, {segment['description']}"}
        for client, uris in items
        for uri, counts in uris
        for segment in _status_segments(uri, counts)
    ]
    inner = stacked_by_status([], "Template URI")
    encoding = inner["encoding"]
    encoding["y"] = {**encoding["y"], "sort": "-x"}
    encoding["tooltip"] = [{"field": "client", "title": "OAuth client"}, *encoding["tooltip"]]
    return {
        "data": {"values": values},
        "facet": {
            "row": {
                "field": "client",
                "type": "nominal",
                "sort": [client for client, _ in items],
                "title": None,
                "header": {
                    "labelAngle": 0,
                    "labelOrient": "top",
                    "labelAnchor": "start",
                    "labelAlign": "left",
                    "labelFontSize": 13,
                    "labelFontWeight": "bold",
                    "labelLimit": 900,
                },
            }
        },
        "spec": {
            "width": 720,
            "height": {"step": 22},
            "mark": inner["mark"],
            "encoding": encoding,
        },
        "resolve": {"scale": {"y": "independent"}},
        "config": CONFIG,
    }
