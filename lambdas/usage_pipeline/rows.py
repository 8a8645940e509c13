"""API rows (legacy ``results[]`` or aggregates ``entities[]``) -> rows of the table schema.

docs/contracts.md section 5 is the schema. This module is the rules of a row, in Python: where
each column comes from in each API (``SOURCES``, which the DuckDB transform's SQL is generated
from), what a valid value is, and the message that names the row, the field and the value when one
is not.
The transform (usage_pipeline.transform) checks every row in DuckDB first, at engine speed; when
DuckDB flags a page, this code reads that page again to say precisely what is wrong, and it checks
each distinct row date. The tests' ground truth normalizes the simulator's rows with it too.

Rows are normalized a page at a time and column by column: each source field is pulled out of every
row with one C-level ``map(dict.get, ...)`` and validated with C-level scans
(``set(map(type, column))``, ``min(...)``); Python bytecode runs per column, not per value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any, Final, NamedTuple

from usage_pipeline.constants import (
    API_AGGREGATES,
    API_LEGACY,
    GRANULARITIES,
    PARTITION_COLUMNS,
    ROW_COLUMNS,
    ROW_COUNT_COLUMNS,
    ROW_STRING_COLUMNS,
)
from usage_pipeline.errors import RowInvalid
from usage_pipeline.periods import next_period_start

Row = dict[str, Any]
# raw rows of one page -> normalized rows, in order.
RowsNormalizer = Callable[[Sequence[Any]], list[Row]]
Column = Sequence[Any] | Iterable[Any]
# A string column's source: a field, an (object field, field) pair, or None (the API lacks it).
StringSource = str | tuple[str, str] | None

OUTPUT_COLUMNS: Final = ROW_COLUMNS + PARTITION_COLUMNS
# The columns that differ from row to row (the rest depend only on the run and the date).
USAGE_COLUMNS: Final = ROW_STRING_COLUMNS + ROW_COUNT_COLUMNS

# Source of each string column (ROW_STRING_COLUMNS order) as (object field, field) or field;
# None marks a column the API does not have.
_LEGACY_STRING_SOURCES: Final[tuple[StringSource, ...]] = (
    "clientId",
    "clientName",
    "organizationId",
    "userId",
    "templateUri",
    "httpMethod",
    None,
)
_AGGREGATES_STRING_SOURCES: Final[tuple[StringSource, ...]] = (
    ("oauthClient", "id"),
    ("oauthClient", "name"),
    None,
    # Genesys's user is a UserReference {id, selfUri}: it has no name, so the table has none.
    ("user", "id"),
    "templateUri",
    "httpMethod",
    "platform",
)
# Source of each count column (ROW_COUNT_COLUMNS order).
# The legacy API names its counts as the table does.
_LEGACY_COUNT_SOURCES: Final = ROW_COUNT_COLUMNS
_AGGREGATES_COUNT_SOURCES: Final = (
    "status200",
    "status300",
    "status400",
    "status429",
    "status500",
    "requestCount",
)
# Per API: (source of each ROW_STRING_COLUMNS column, source of each ROW_COUNT_COLUMNS column).
SOURCES: Final[dict[str, tuple[tuple[StringSource, ...], tuple[str, ...]]]] = {
    API_LEGACY: (_LEGACY_STRING_SOURCES, _LEGACY_COUNT_SOURCES),
    API_AGGREGATES: (_AGGREGATES_STRING_SOURCES, _AGGREGATES_COUNT_SOURCES),
}
# Counts are BIGINT (int64) in the table: a larger number could not be stored.
MAX_COUNT: Final = 2**63 - 1

_NONE_TYPE: Final = type(None)
_STRING_TYPES: Final = frozenset({str, _NONE_TYPE})
_COUNT_TYPES: Final = frozenset({int, _NONE_TYPE})
_OBJECT_TYPES: Final = frozenset({dict, _NONE_TYPE})
_EMPTY_OBJECT: Final[dict[str, Any]] = {}  # stands in for an absent oauthClient/user; never mutated
_dict_get: Final = dict.get

# Date forms the APIs send: aggregates `2021-01-12`, legacy `2021-01-12T00:00:00Z`.
_MIDNIGHT_SUFFIXES: Final = frozenset(
    {"", "T00:00:00Z", "T00:00:00.000Z", "T00:00:00+00:00", "T00:00:00.000+00:00"}
)
_DATE_LENGTH: Final = len("YYYY-MM-DD")


def normalize_row(
    api: str,
    raw_row: Mapping[str, Any],
    *,
    granularity: str,
    grouping: str,
    run_id: str,
    landed_at: str,
    window: tuple[date, date] | None = None,
) -> Row:
    """Normalize one API row into the row schema; raise ``RowInvalid`` naming field and value.

    Single-row form of :func:`make_rows_normalizer` (the same code: one implementation to trust).
    """
    normalize = make_rows_normalizer(
        api,
        granularity=granularity,
        grouping=grouping,
        run_id=run_id,
        landed_at=landed_at,
        window=window,
    )
    return normalize([raw_row])[0]


def make_rows_normalizer(
    api: str,
    *,
    granularity: str,
    grouping: str,
    run_id: str,
    landed_at: str,
    window: tuple[date, date] | None = None,
) -> RowsNormalizer:
    """Build the per-run normalizer: a page's raw rows -> row dicts keyed in OUTPUT_COLUMNS order.

    ``window`` = (start, end), end exclusive: a row dated outside it is refused. RowInvalid
    messages start with `row <index in the page>: field '<API field>': <value> ...`.
    """
    normalize_page = make_page_normalizer(api, granularity=granularity, window=window)
    tails: dict[str, Row] = {}

    def normalize(raw_rows: Sequence[Any]) -> list[Row]:
        page = normalize_page(raw_rows)
        for day in set(page.dates).difference(tails):
            tails[day] = row_tail(api, run_id, landed_at, granularity, grouping, day)
        return [{**usage, **tails[day]} for usage, day in zip(page.usage, page.dates, strict=True)]

    return normalize


class NormalizedPage(NamedTuple):
    """A page's rows split in two: what differs per row, and each row's date.

    ``usage[i]`` holds the USAGE_COLUMNS of row i; the rest of the row (``row_tail``) depends only
    on the run and the date, so the transform writes it once per partition chunk, not per row.
    """

    usage: list[Row]
    dates: list[str]


def row_tail(
    api: str, run_id: str, landed_at: str, granularity: str, grouping: str, day: str
) -> Row:
    """The columns after USAGE_COLUMNS: the same for every row of a run and date."""
    return {
        "run_id": run_id,
        "landed_at": landed_at,
        "api": api,
        "granularity": granularity.lower(),
        "grouping": grouping,
        "date": day,
    }


def make_page_normalizer(
    api: str, *, granularity: str, window: tuple[date, date] | None = None
) -> Callable[[Sequence[Any]], NormalizedPage]:
    """Build the validating core of :func:`make_rows_normalizer`: raw rows -> NormalizedPage."""
    if api not in SOURCES:
        raise ValueError(f"api: {api!r} is not one of {tuple(SOURCES)}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity: {granularity!r} is not one of {GRANULARITIES}")
    string_sources, count_sources = SOURCES[api]
    # Raw date text -> `YYYY-MM-DD`, validated once: a run has few distinct dates.
    known_dates: dict[str, str] = {}

    def normalize(raw_rows: Sequence[Any]) -> NormalizedPage:
        _check_objects(raw_rows)
        objects: dict[str, list[Any]] = {}
        columns: list[Column] = [
            _string_column(raw_rows, source, objects) for source in string_sources
        ]
        columns.extend(_count_column(raw_rows, source) for source in count_sources)
        dates = _date_column(raw_rows, known_dates, granularity, window)
        # A dict display is pre-sized for its keys, the fastest way to build a row (measured
        # ~25% faster than dict(zip(...))); its keys are USAGE_COLUMNS, in order.
        usage = [
            {
                "oauth_client_id": oauth_client_id,
                "oauth_client_name": oauth_client_name,
                "organization_id": organization_id,
                "user_id": user_id,
                "template_uri": template_uri,
                "http_method": http_method,
                "platform": platform,
                "status200": status200,
                "status300": status300,
                "status400": status400,
                "status429": status429,
                "status500": status500,
                "requests": requests,
            }
            for (
                oauth_client_id,
                oauth_client_name,
                organization_id,
                user_id,
                template_uri,
                http_method,
                platform,
                status200,
                status300,
                status400,
                status429,
                status500,
                requests,
            ) in zip(*columns, strict=False)  # absent columns are endless repeat(None)
        ]
        return NormalizedPage(usage, dates)

    return normalize


def _check_objects(raw_rows: Sequence[Any]) -> None:
    if not set(map(type, raw_rows)) <= {dict}:
        index, value = _first(raw_rows, lambda row: type(row) is not dict)
        raise RowInvalid(f"row {index}: {value!r} is not a JSON object")


def _first(values: Iterable[Any], wrong: Callable[[Any], bool]) -> tuple[int, Any]:
    """Index and value of the first wrong value (rare path: only after a column failed a check)."""
    return next((index, value) for index, value in enumerate(values) if wrong(value))


def _field(raw_rows: Sequence[dict[str, Any]], name: str) -> list[Any]:
    return list(map(_dict_get, raw_rows, repeat(name)))


def _string_column(
    raw_rows: Sequence[dict[str, Any]],
    source: StringSource,
    objects: dict[str, list[Any]],
) -> Column:
    """A string column: strings or None, `""` turned into None (legacy's "not grouped")."""
    if source is None:
        return repeat(None)
    if isinstance(source, tuple):
        holder, name = source
        if holder not in objects:
            objects[holder] = _object_field(raw_rows, holder)
        column = _field(objects[holder], name)
        field = f"{holder}.{name}"
    else:
        column = _field(raw_rows, source)
        field = source
    if not set(map(type, column)) <= _STRING_TYPES:
        index, value = _first(column, lambda v: v is not None and type(v) is not str)
        raise RowInvalid(f"row {index}: field {field!r}: {value!r} is not a string")
    if "" not in column:
        return column
    if column.count("") == len(column):
        return repeat(None)
    return [value or None for value in column]


def _object_field(raw_rows: Sequence[dict[str, Any]], holder: str) -> list[dict[str, Any]]:
    """An aggregates object field (`oauthClient`, `user`), absent ones as an empty object."""
    column = _field(raw_rows, holder)
    if not set(map(type, column)) <= _OBJECT_TYPES:
        index, value = _first(column, lambda v: v is not None and type(v) is not dict)
        raise RowInvalid(f"row {index}: field {holder!r}: {value!r} is not a JSON object")
    if None in column:
        return [value or _EMPTY_OBJECT for value in column]
    return column


def _count_column(raw_rows: Sequence[dict[str, Any]], source: str) -> Column:
    """A count column: non-negative ints or None. Not bools; floats only without a fraction."""
    column = _field(raw_rows, source)
    types = set(map(type, column))
    if not types <= _COUNT_TYPES:
        column = _integral_floats(column, source, types)
    # filter(None, ...) drops None (absent) and 0; what is left must fit a BIGINT, sign included.
    present = list(filter(None, column))
    if present and (min(present) < 0 or max(present) > MAX_COUNT):
        index, value = _first(column, lambda v: v is not None and not 0 <= v <= MAX_COUNT)
        raise RowInvalid(_not_a_count(index, source, value))
    return column


def _integral_floats(column: list[Any], source: str, types: set[type]) -> list[Any]:
    if types <= {int, float, _NONE_TYPE}:
        if all(value.is_integer() for value in column if type(value) is float):
            return [int(value) if type(value) is float else value for value in column]
        index, value = _first(column, lambda v: type(v) is float and not v.is_integer())
    else:
        index, value = _first(column, lambda v: type(v) not in (int, float, _NONE_TYPE))
    raise RowInvalid(_not_a_count(index, source, value))


def _not_a_count(index: int, field: str, value: object) -> str:
    return f"row {index}: field {field!r}: {value!r} is not a non-negative integer (at most 2^63-1)"


def _date_column(
    raw_rows: Sequence[dict[str, Any]],
    known_dates: dict[str, str],
    granularity: str,
    window: tuple[date, date] | None,
) -> list[str]:
    column = _field(raw_rows, "date")
    if not set(map(type, column)) <= {str}:
        index, value = _first(column, lambda v: type(v) is not str)
        raise RowInvalid(f"row {index}: field 'date': {value!r} is not a date string")
    for raw_date in set(column).difference(known_dates):
        try:
            known_dates[raw_date] = parse_row_date(raw_date, granularity, window)
        except RowInvalid as error:
            raise RowInvalid(f"row {column.index(raw_date)}: {error}") from None
    return list(map(known_dates.__getitem__, column))


def parse_row_date(raw_date: str, granularity: str, window: tuple[date, date] | None) -> str:
    """`2021-01-12` or `2021-01-12T00:00:00Z` -> `2021-01-12`, checked against the window.

    Genesys does not document on which day its weeks start (nor, strictly, its months), so a Week
    or Month row is taken with the date Genesys gives, as long as the period it starts overlaps
    the (aligned) window: a week dated on the Sunday before a Monday-aligned window is still this
    window's. The partition is the date as given.
    """
    head, suffix = raw_date[:_DATE_LENGTH], raw_date[_DATE_LENGTH:]
    try:
        day: date | None = date.fromisoformat(head)
    except ValueError:
        day = None
    if day is None or len(head) != _DATE_LENGTH or suffix not in _MIDNIGHT_SUFFIXES:
        raise RowInvalid(f"field 'date': {raw_date!r} is not a date (YYYY-MM-DD) at UTC midnight")
    if window is not None and not _overlaps(day, next_period_start(day, granularity), window):
        raise RowInvalid(
            f"field 'date': {raw_date!r} is outside the query window "
            f"[{window[0].isoformat()}, {window[1].isoformat()})"
        )
    return head


def _overlaps(period_start_day: date, period_end: date, window: tuple[date, date]) -> bool:
    """Whether [period_start_day, period_end) and the window share a day."""
    return period_start_day < window[1] and period_end > window[0]
