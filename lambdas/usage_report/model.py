"""The report as typed values: what each section shows, built from the query results.

Nothing here formats or draws; `html.py` and `csv_export.py` read these values, so the page, the
CSV files and the tests see the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from usage_report.queries import STATUS_COLUMNS

# How many OAuth clients / template URIs "Most Active Requests" shows, and the default selection.
TOP_N = 5
# How many risers and fallers "What changed" lists per measure.
CHANGES_PER_MEASURE = 5


@dataclass(frozen=True)
class StatusClass:
    column: str
    label: str
    meaning: str
    colour: str


# One colour per status in every graph: success green, redirect blue, client error orange,
# rate limited purple, server error dark red.
STATUS_CLASSES = (
    StatusClass("status200", "200", "success", "#2f9e44"),
    StatusClass("status300", "300", "redirect", "#1c7ed6"),
    StatusClass("status400_not_429", "400 (not 429)", "client error other than 429", "#f08c00"),
    StatusClass("status429", "429", "rate limited", "#862e9c"),
    StatusClass("status500", "500", "server error", "#a61e1e"),
)
assert tuple(status.column for status in STATUS_CLASSES) == STATUS_COLUMNS


@dataclass(frozen=True)
class Counts:
    """Requests by status class; the five classes add up to the requests."""

    requests: int = 0
    status200: int = 0
    status300: int = 0
    status400_not_429: int = 0
    status429: int = 0
    status500: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counts:
        return cls(**{name: int(row[name] or 0) for name in ("requests", *STATUS_COLUMNS)})

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in ("requests", *STATUS_COLUMNS)
            }
        )

    def by_status(self) -> list[tuple[StatusClass, int]]:
        return [(status, getattr(self, status.column)) for status in STATUS_CLASSES]


def total(counts: Iterable[Counts]) -> Counts:
    result = Counts()
    for item in counts:
        result = result + item
    return result


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, both ends inclusive (as the page shows them)."""

    first: date
    last: date

    @classmethod
    def from_exclusive(cls, start: date, end: date) -> DateRange:
        return cls(start, end - timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> DateRange:
        """The period of the same length just before this one."""
        return DateRange(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range(self.days)]

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


@dataclass(frozen=True)
class OAuthClient:
    id: str
    name: str | None
    label: str  # what the page shows: the name, with the id's start when two share a name


@dataclass(frozen=True)
class Usage:
    """One OAuth client's or template URI's requests in the range and in the period before."""

    key: str  # the client id or the template URI
    label: str
    current: Counts
    previous: Counts


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    requests_now: int
    requests_before: int
    status429_now: int
    status429_before: int

    @property
    def requests_change(self) -> int:
        return self.requests_now - self.requests_before

    @property
    def status429_change(self) -> int:
        return self.status429_now - self.status429_before

    @property
    def status(self) -> str:
        if self.requests_before == 0:
            return "new"
        if self.requests_now == 0:
            return "gone"
        return ""


@dataclass(frozen=True)
class Series:
    """Requests per day of one selected client or URL, every day of the range (0 when quiet)."""

    key: str
    label: str
    days: list[tuple[date, Counts]]

    @property
    def counts(self) -> Counts:
        return total(counts for _, counts in self.days)


@dataclass(frozen=True)
class ClientUris:
    client: OAuthClient
    uris: list[tuple[str, Counts]]


@dataclass
class Report:
    range: DateRange
    source: str
    totals: Counts
    previous_totals: Counts | None  # None: nothing landed in the period before
    row_count: int
    oauth_clients: int
    template_uris: int
    last_day: str | None
    last_landed_at: str | None
    top_clients: list[Usage] = field(default_factory=list)
    top_uris: list[Usage] = field(default_factory=list)
    client_series: list[Series] = field(default_factory=list)
    client_uris: list[ClientUris] = field(default_factory=list)
    uri_series: list[Series] = field(default_factory=list)
    changed_clients: list[Change] = field(default_factory=list)
    changed_uris: list[Change] = field(default_factory=list)
    usage_columns: list[str] = field(default_factory=list)
    usage_rows: list[tuple[Any, ...]] = field(default_factory=list)
    bytes_scanned: int | None = None

    @property
    def has_data(self) -> bool:
        return self.row_count > 0

    @property
    def previous_range(self) -> DateRange:
        return self.range.previous()

    @property
    def client_status(self) -> Counts:
        """The selected OAuth clients' requests by status."""
        return total(one.counts for one in self.client_series)

    @property
    def uri_status(self) -> Counts:
        """The selected template URIs' requests by status."""
        return total(one.counts for one in self.uri_series)


def client_labels(rows: Iterable[tuple[str, str | None]]) -> dict[str, OAuthClient]:
    """id -> OAuthClient; two clients with one name are told apart by the start of their id."""
    names: dict[str, str | None] = dict(rows)
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name or ""] = seen.get(name or "", 0) + 1
    clients = {}
    for client_id, name in names.items():
        label = name or "(no name)"
        if seen[name or ""] > 1 or not name:
            label = f"{label} ({client_id[:8]})"
        clients[client_id] = OAuthClient(client_id, name, label)
    return clients


def usages(
    rows: Sequence[Mapping[str, Any]], key: str, labels: Mapping[str, str] | None = None
) -> list[Usage]:
    """Per key: counts in the range and the period before, busiest in the range first."""
    current: dict[str, Counts] = {}
    previous: dict[str, Counts] = {}
    for row in rows:
        target = current if row["period"] == "current" else previous
        target[row[key]] = Counts.from_row(row)
    found = [
        Usage(
            key=item,
            label=(labels or {}).get(item, item),
            current=current.get(item, Counts()),
            previous=previous.get(item, Counts()),
        )
        for item in {*current, *previous}
    ]
    return sorted(found, key=lambda usage: (-usage.current.requests, usage.label, usage.key))


def active(found: Sequence[Usage]) -> list[Usage]:
    """Those with requests in the range (not only in the period before)."""
    return [usage for usage in found if usage.current.requests > 0]


def changes(found: Sequence[Usage]) -> list[Change]:
    """The biggest movers by requests and by 429s (new and gone ones included), biggest first."""
    all_changes = [
        Change(
            usage.key,
            usage.label,
            usage.current.requests,
            usage.previous.requests,
            usage.current.status429,
            usage.previous.status429,
        )
        for usage in found
    ]
    by_requests = sorted(all_changes, key=lambda c: (-abs(c.requests_change), c.label))
    by_429 = sorted(all_changes, key=lambda c: (-abs(c.status429_change), c.label))
    picked: dict[str, Change] = {}
    for ranked, measure in ((by_requests, "requests_change"), (by_429, "status429_change")):
        for change in ranked[:CHANGES_PER_MEASURE]:
            if getattr(change, measure) != 0:
                picked[change.key] = change
    return sorted(picked.values(), key=lambda c: (-abs(c.requests_change), c.label))


def series(
    rows: Sequence[Mapping[str, Any]], key: str, chosen: Sequence[tuple[str, str]], days: DateRange
) -> list[Series]:
    """One series per chosen (key, label), with every day of the range (0 where nothing landed)."""
    by_key_day: dict[tuple[str, str], Counts] = {
        (row[key], str(row["date"])): Counts.from_row(row) for row in rows
    }
    return [
        Series(
            item,
            label,
            [(day, by_key_day.get((item, day.isoformat()), Counts())) for day in days.each_day()],
        )
        for item, label in chosen
    ]
