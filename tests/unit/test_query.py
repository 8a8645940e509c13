"""Execution input validation and normalization (docs/contracts.md section 2)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from usage_pipeline import constants as c
from usage_pipeline.errors import InvalidInput
from usage_pipeline.periods import align_to_periods, period_starts
from usage_pipeline.query import NormalizedQuery, parse_query

# A Sunday: the week 2026-11-16..22 and the month of November are both still incomplete.
TODAY = date(2026, 11, 22)
ALL_METRICS = list(c.METRICS)
DEFAULT_AGGREGATES_GROUP_BY = ["HttpMethod", "OauthClientId", "TemplateUri"]
DEFAULT_LEGACY_GROUP_BY = ["HttpMethod", "OAuthClientId", "TemplateUri"]
ELEVEN = ["Requests"] * 11


def normalize_query(raw_input: object, *, today: date) -> dict[str, Any]:
    """The ``query`` member of the state document the input normalizes to (contracts §2)."""
    return parse_query(raw_input, today=today).to_dict()


# --- Refusals ----------------------------------------------------------------------------------

# (id, input, field, value shown in the message, fragment of what is allowed)
INVALID_INPUTS: list[tuple[str, object, str, object, str]] = [
    # Not a JSON object.
    ("list", [{"interval": "2026-11-20"}], "input", [{"interval": "2026-11-20"}], "JSON object"),
    ("string", "2026-11-20", "input", "2026-11-20", "got string"),
    ("number", 42, "input", 42, "got number"),
    ("boolean", True, "input", True, "got boolean"),
    # Unknown top-level fields.
    ("filters", {"filters": [{"x": 1}]}, "filters", [{"x": 1}], "filters and sortBy"),
    ("sortBy", {"sortBy": "requests"}, "sortBy", "requests", "whole organization's usage"),
    ("misspelled", {"intervall": "2026-11-20"}, "intervall", "2026-11-20", "allowed fields: api"),
    ("wrong case", {"Interval": "2026-11-20"}, "Interval", "2026-11-20", "did you mean 'interval'"),
    # Wrong types.
    ("api number", {"api": 1}, "api", 1, "expected a string, got number"),
    ("api null", {"api": None}, "api", None, "expected a string, got null"),
    ("granularity list", {"granularity": ["Day"]}, "granularity", ["Day"], "got array"),
    ("interval number", {"interval": 20261120}, "interval", 20261120, "got number"),
    ("interval bool", {"interval": False}, "interval", False, "got boolean"),
    ("interval object", {"interval": {"start": "x"}}, "interval", {"start": "x"}, "got object"),
    ("groupBy string", {"groupBy": "HttpMethod"}, "groupBy", "HttpMethod", "got string"),
    ("groupBy null", {"groupBy": None}, "groupBy", None, "expected an array of strings"),
    ("groupBy entry number", {"groupBy": ["HttpMethod", 7]}, "groupBy[1]", 7, "got number"),
    ("metrics bool entry", {"metrics": [True]}, "metrics[0]", True, "got boolean"),
    ("metrics object", {"metrics": {"Requests": 1}}, "metrics", {"Requests": 1}, "got object"),
    # Unknown values.
    ("api unknown", {"api": "analytics"}, "api", "analytics", "one of aggregates, legacy"),
    ("granularity unknown", {"granularity": "Hour"}, "granularity", "Hour", "Day, Week, Month"),
    ("granularity padded", {"granularity": " Day"}, "granularity", " Day", "Day, Week, Month"),
    ("groupBy unknown", {"groupBy": ["HttpMethod", "Queue"]}, "groupBy[1]", "Queue", "UserId"),
    ("groupBy empty name", {"groupBy": [""]}, "groupBy[0]", "", "dimensions of the aggregates"),
    ("groupBy non-ascii", {"groupBy": ["UserId\u212a"]}, "groupBy[0]", "UserId\u212a", "UserId"),
    (
        "metric unknown",
        {"metrics": ["Requests", "Status404"]},
        "metrics[1]",
        "Status404",
        "Status500",
    ),
    ("metrics empty", {"metrics": []}, "metrics", [], "non-empty list"),
    # Duplicates, also when they differ only by case or API spelling.
    (
        "groupBy duplicate",
        {"groupBy": ["UserId", "HttpMethod", "userid"]},
        "groupBy[2]",
        "userid",
        "duplicate of groupBy[0]",
    ),
    (
        "groupBy duplicate spelling",
        {"groupBy": ["OAuthClientId", "OauthClientId"]},
        "groupBy[1]",
        "OauthClientId",
        "duplicate",
    ),
    (
        "metric duplicate",
        {"metrics": ["Requests", "REQUESTS"]},
        "metrics[1]",
        "REQUESTS",
        "duplicate",
    ),
    # A dimension the chosen API does not have.
    (
        "Platform with legacy",
        {"api": "legacy", "groupBy": ["Platform"]},
        "groupBy[0]",
        "Platform",
        "dimension of the aggregates API, not of the legacy API",
    ),
    (
        "OrganizationId with aggregates",
        {"groupBy": ["HttpMethod", "OrganizationId"]},
        "groupBy[1]",
        "OrganizationId",
        "dimension of the legacy API, not of the aggregates API",
    ),
    (
        "OauthClientName with legacy",
        {"api": "legacy", "groupBy": ["OauthClientName"]},
        "groupBy[0]",
        "OauthClientName",
        "not of the legacy API",
    ),
    # Oversized arrays.
    ("groupBy too long", {"groupBy": ["UserId"] * 11}, "groupBy", ["UserId"] * 11, "at most 10"),
    ("metrics too long", {"metrics": ELEVEN}, "metrics", ELEVEN, "11 entries is too many"),
    # Malformed intervals.
    ("interval empty", {"interval": ""}, "interval", "", "YYYY-MM-DD"),
    ("interval words", {"interval": "yesterday"}, "interval", "yesterday", "YYYY-MM"),
    (
        "interval 30 Feb",
        {"interval": "2026-02-30"},
        "interval",
        "2026-02-30",
        "not a calendar date",
    ),
    ("interval month 13", {"interval": "2026-13"}, "interval", "2026-13", "not a calendar date"),
    ("interval year 0", {"interval": "0000-01-01"}, "interval", "0000-01-01", "calendar date"),
    ("interval no padding", {"interval": "2026-1-5"}, "interval", "2026-1-5", "YYYY-MM-DD"),
    ("interval slashes", {"interval": "2026/11/20"}, "interval", "2026/11/20", "START/END"),
    ("interval spaces", {"interval": " 2026-11-20"}, "interval", " 2026-11-20", "YYYY-MM-DD"),
    ("interval newline", {"interval": "2026-11-20\n"}, "interval", "2026-11-20\n", "YYYY-MM-DD"),
    (
        "interval spaced slash",
        {"interval": "2026-11-01 / 2026-11-02"},
        "interval",
        "2026-11-01 / 2026-11-02",
        "START/END",
    ),
    ("interval open end", {"interval": "2026-11-01/"}, "interval", "2026-11-01/", "same form"),
    ("interval arabic digits", {"interval": "٢٠٢٦-11-20"}, "interval", "٢٠٢٦-11-20", "YYYY-MM-DD"),
    (
        "interval mixed forms",
        {"interval": "2026-10-01/2026-11"},
        "interval",
        "2026-10-01/2026-11",
        "same form",
    ),
    (
        "date-time without zone",
        {"interval": "2026-11-01T00:00:00/2026-11-02T00:00:00"},
        "interval",
        "2026-11-01T00:00:00/2026-11-02T00:00:00",
        "with Z or an offset",
    ),
    (
        "date-time not midnight",
        {"interval": "2026-11-01T06:00:00Z/2026-11-02T00:00:00Z"},
        "interval",
        "2026-11-01T06:00:00Z/2026-11-02T00:00:00Z",
        "Genesys counts whole UTC days",
    ),
    (
        "date-time local midnight",
        {"interval": "2026-11-01T00:00:00+01:00/2026-11-02T00:00:00+01:00"},
        "interval",
        "2026-11-01T00:00:00+01:00/2026-11-02T00:00:00+01:00",
        "is 2026-10-31T23:00:00Z in UTC",
    ),
    (
        "date-time fraction",
        {"interval": "2026-11-01T00:00:00.5Z/2026-11-02T00:00:00Z"},
        "interval",
        "2026-11-01T00:00:00.5Z/2026-11-02T00:00:00Z",
        "UTC midnight",
    ),
    (
        "date-time offset out of range",
        {"interval": "2026-11-01T00:00:00Z/2026-11-02T00:00:00+24:00"},
        "interval",
        "2026-11-01T00:00:00Z/2026-11-02T00:00:00+24:00",
        "out of range",
    ),
    (
        "three parts",
        {"interval": "2026-11-01/2026-11-02/2026-11-03"},
        "interval",
        "2026-11-01/2026-11-02/2026-11-03",
        "START/END",
    ),
    (
        "interval too long",
        {"interval": "2026-11-01" + " " * 1000},
        "interval",
        "2026-11-01" + " " * 290 + "... (1010 characters)",
        "at most 100 characters",
    ),
    # Reversed, empty, future, today.
    (
        "reversed",
        {"interval": "2026-11-20/2026-11-10"},
        "interval",
        "2026-11-20/2026-11-10",
        "end must be after the start",
    ),
    (
        "empty window",
        {"interval": "2026-11-20/2026-11-20"},
        "interval",
        "2026-11-20/2026-11-20",
        "end must be after the start",
    ),
    ("today", {"interval": "2026-11-22"}, "interval", "2026-11-22", "no data for the current UTC"),
    (
        "ends after today",
        {"interval": "2026-11-20/2026-11-23"},
        "interval",
        "2026-11-20/2026-11-23",
        "on or before 2026-11-22",
    ),
    ("future month", {"interval": "2027-01"}, "interval", "2027-01", "current UTC day"),
    ("this month", {"interval": "2026-11"}, "interval", "2026-11", "last day that can be asked"),
    # Too old, too long.
    ("too old", {"interval": "2025-11-21"}, "interval", "2025-11-21", "on or after 2025-11-22"),
    (
        "91 days aggregates",
        {"interval": "2026-08-23/2026-11-22"},
        "interval",
        "2026-08-23/2026-11-22",
        "split longer backfills",
    ),
    (
        "three months aggregates",
        {"interval": "2026-08/2026-11"},
        "interval",
        "2026-08/2026-11",
        "92",
    ),
    # Week/Month alignment that reaches an incomplete period or breaks a limit.
    (
        "incomplete week",
        {"granularity": "Week", "interval": "2026-11-16/2026-11-22"},
        "interval",
        "2026-11-16/2026-11-22",
        "not complete until 2026-11-23",
    ),
    (
        "incomplete week by default",
        {"granularity": "week"},
        "interval",
        "2026-11-21T00:00:00Z/2026-11-22T00:00:00Z (no interval given: the previous UTC day)",
        "the week starting 2026-11-16 is not complete until 2026-11-23",
    ),
    (
        "incomplete month",
        {"granularity": "Month", "interval": "2026-11-01/2026-11-20"},
        "interval",
        "2026-11-01/2026-11-20",
        "the month starting 2026-11-01 is not complete until 2026-12-01",
    ),
    (
        "month aligned before lookback",
        {"granularity": "Month", "interval": "2025-11-25/2025-12-01"},
        "interval",
        "2025-11-25/2025-12-01",
        "aligned to whole months the interval is 2025-11-01/2025-12-01",
    ),
    (
        "week aligned past 90 days",
        {"granularity": "Week", "interval": "2026-08-18/2026-11-16"},
        "interval",
        "2026-08-18/2026-11-16",
        "aligned to whole weeks the interval is 2026-08-17/2026-11-16 (end exclusive); 91 days",
    ),
]


@pytest.mark.parametrize(
    ("raw_input", "field", "value", "allowed_fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID_INPUTS],
)
def test_invalid_input_is_refused_naming_field_value_and_what_is_allowed(
    raw_input: object, field: str, value: object, allowed_fragment: str
) -> None:
    # GIVEN an execution input that must be refused
    # WHEN it is normalized
    with pytest.raises(InvalidInput) as caught:
        normalize_query(raw_input, today=TODAY)

    # THEN the error names the field, the offending value and what is allowed
    error = caught.value
    message = str(error)
    assert error.field == field
    assert error.value == value
    assert message.startswith(f"{field}: {value!r} is not allowed; ")
    assert allowed_fragment in error.allowed
    assert message.endswith(error.allowed)


def test_there_are_at_least_thirty_refusal_cases() -> None:
    assert len(INVALID_INPUTS) >= 30
    assert len({case[0] for case in INVALID_INPUTS}) == len(INVALID_INPUTS)


def test_a_huge_value_is_shown_clipped_so_the_cause_stays_small() -> None:
    # GIVEN an input that is a very long list
    raw_input = list(range(100_000))

    # WHEN it is normalized
    with pytest.raises(InvalidInput) as caught:
        normalize_query(raw_input, today=TODAY)

    # THEN the message stays short and says how long the value was
    assert len(str(caught.value)) < 1000
    assert "characters)" in str(caught.value)


@pytest.mark.parametrize(
    "raw_input",
    [
        pytest.param({1: "x"}, id="non-string key"),
        pytest.param({"interval": "9999-12-31"}, id="last representable day"),
        pytest.param({"interval": "9999-12"}, id="last representable month"),
        pytest.param({"interval": "0001-01-01T00:00:00+01:00/0001-01-02T00:00:00Z"}, id="year 0"),
        pytest.param({"interval": "2026-11-01T24:00:00Z/2026-11-02T00:00:00Z"}, id="hour 24"),
        pytest.param({"interval": "2026-11-01T00:00:00+05:60/2026-11-02T00:00:00Z"}, id="min 60"),
        pytest.param({"groupBy": [["HttpMethod"]]}, id="nested array"),
        pytest.param({"metrics": [None]}, id="null metric"),
        pytest.param({"granularity": "DAY\u0131"}, id="dotless i"),
    ],
)
def test_edge_inputs_raise_only_invalid_input(raw_input: object) -> None:
    # GIVEN an input at the edges of what Python's date types can represent or parse
    # WHEN it is normalized
    # THEN only InvalidInput escapes (no ValueError, OverflowError, TypeError or KeyError)
    with pytest.raises(InvalidInput):
        normalize_query(raw_input, today=TODAY)


def test_today_must_be_a_date_not_a_datetime() -> None:
    # GIVEN a caller passing a datetime (a programming error, not bad input)
    # WHEN / THEN it is refused loudly rather than compared wrongly
    with pytest.raises(TypeError, match="UTC date"):
        normalize_query({}, today=datetime(2026, 11, 22, 1, 40))


# --- Accepted forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        pytest.param("2026-11-20", "2026-11-20", "2026-11-21", id="one day"),
        pytest.param("2026-11-21", "2026-11-21", "2026-11-22", id="yesterday"),
        pytest.param("2026-10", "2026-10-01", "2026-11-01", id="one month"),
        pytest.param("2026-02", "2026-02-01", "2026-03-01", id="february"),
        pytest.param("2026-10-01/2026-11-01", "2026-10-01", "2026-11-01", id="dates"),
        pytest.param("2026-09/2026-11", "2026-09-01", "2026-11-01", id="months"),
        pytest.param(
            "2026-10-01T00:00:00Z/2026-11-01T00:00:00+00:00",
            "2026-10-01",
            "2026-11-01",
            id="date-times Z and +00:00",
        ),
        pytest.param(
            "2026-10-01T02:00:00+02:00/2026-10-31T19:00:00-05:00",
            "2026-10-01",
            "2026-11-01",
            id="date-times with offsets at UTC midnight",
        ),
        pytest.param(
            "2026-10-01T00:00:00.000Z/2026-10-02T00:00:00.000000Z",
            "2026-10-01",
            "2026-10-02",
            id="date-times with zero fractions",
        ),
        pytest.param(
            "2026-11-21T00:00:00-00:00/2026-11-22T00:00:00Z",
            "2026-11-21",
            "2026-11-22",
            id="-00:00",
        ),
    ],
)
def test_every_interval_form_is_normalized_to_utc_dates_end_exclusive(
    interval: str, start: str, end: str
) -> None:
    # GIVEN an interval in one of the accepted forms
    # WHEN it is normalized
    query = normalize_query({"interval": interval}, today=TODAY)

    # THEN start and end are UTC dates, end exclusive, and the interval string is canonical
    assert (query["start"], query["end"]) == (start, end)
    assert query["interval"] == f"{start}T00:00:00Z/{end}T00:00:00Z"
    assert query["alignedFrom"] is None
    assert query["periods"] == (date.fromisoformat(end) - date.fromisoformat(start)).days


@pytest.mark.parametrize("raw_input", [None, {}], ids=["null", "empty object"])
def test_no_input_means_the_previous_utc_day_with_all_defaults(raw_input: object) -> None:
    # GIVEN no input at all
    # WHEN it is normalized
    query = normalize_query(raw_input, today=TODAY)

    # THEN it is exactly the documented normalized query for yesterday
    assert query == {
        "api": "aggregates",
        "start": "2026-11-21",
        "end": "2026-11-22",
        "interval": "2026-11-21T00:00:00Z/2026-11-22T00:00:00Z",
        "granularity": "Day",
        "groupBy": DEFAULT_AGGREGATES_GROUP_BY,
        "metrics": ALL_METRICS,
        "grouping": "httpmethod_oauthclientid_templateuri",
        "periods": 1,
        "alignedFrom": None,
        "requested": {},
    }
    assert list(query) == [
        "api",
        "start",
        "end",
        "interval",
        "granularity",
        "groupBy",
        "metrics",
        "grouping",
        "periods",
        "alignedFrom",
        "requested",
    ]


def test_the_previous_day_follows_today_across_a_year_end() -> None:
    # GIVEN the first of January
    # WHEN no interval is given
    query = normalize_query({}, today=date(2027, 1, 1))

    # THEN the run covers the 31st of December
    assert (query["start"], query["end"]) == ("2026-12-31", "2027-01-01")


def test_legacy_defaults_use_the_legacy_spelling() -> None:
    # GIVEN the legacy API with default groupBy
    # WHEN normalized
    query = normalize_query({"api": "legacy"}, today=TODAY)

    # THEN the default dimensions are written as the legacy API spells them
    assert query["api"] == "legacy"
    assert query["groupBy"] == DEFAULT_LEGACY_GROUP_BY
    assert query["grouping"] == "httpmethod_oauthclientid_templateuri"


@pytest.mark.parametrize(
    ("raw_input", "group_by", "grouping"),
    [
        pytest.param(
            {"groupBy": ["oauthclientid", "TEMPLATEURI", "httpMethod"]},
            ["HttpMethod", "OauthClientId", "TemplateUri"],
            "httpmethod_oauthclientid_templateuri",
            id="aggregates any case",
        ),
        pytest.param(
            {"groupBy": ["OAuthClientId"]},
            ["OauthClientId"],
            "oauthclientid",
            id="legacy spelling to aggregates",
        ),
        pytest.param(
            {"api": "legacy", "groupBy": ["OauthClientId", "organizationid"]},
            ["OAuthClientId", "OrganizationId"],
            "oauthclientid_organizationid",
            id="aggregates spelling to legacy",
        ),
        pytest.param(
            {"groupBy": ["UserId", "Platform", "OauthClientName"]},
            ["OauthClientName", "Platform", "UserId"],
            "oauthclientname_platform_userid",
            id="sorted canonically",
        ),
        pytest.param({"groupBy": []}, [], "total", id="empty is the organization total"),
        pytest.param({"api": "LEGACY", "groupBy": []}, [], "total", id="legacy total"),
    ],
)
def test_group_by_is_matched_case_insensitively_and_written_in_the_apis_spelling(
    raw_input: dict[str, Any], group_by: list[str], grouping: str
) -> None:
    # GIVEN groupBy names in any case or the other API's spelling
    # WHEN normalized
    query = normalize_query(raw_input, today=TODAY)

    # THEN they are in the chosen API's spelling, canonical order, with the grouping token
    assert query["groupBy"] == group_by
    assert query["grouping"] == grouping


def test_metrics_are_matched_case_insensitively_and_put_in_canonical_order() -> None:
    # GIVEN metrics in any case and order
    raw_input = {"metrics": ["status429", "REQUESTS", "Status200"]}

    # WHEN normalized
    query = normalize_query(raw_input, today=TODAY)

    # THEN they are spelled as the API does, in the documented order
    assert query["metrics"] == ["Requests", "Status200", "Status429"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("day", "Day"), ("WEEK", "Week"), ("month", "Month"), ("Day", "Day")],
)
def test_granularity_is_case_insensitive_and_normalized_to_the_api_spelling(
    value: str, expected: str
) -> None:
    # GIVEN a granularity in any case, with an interval of whole periods
    raw_input = {"granularity": value, "interval": "2026-06-01/2026-06-29"}

    # WHEN normalized
    query = normalize_query(raw_input, today=TODAY)

    # THEN it is spelled as the API does
    assert query["granularity"] == expected


def test_requested_is_the_input_as_given_and_a_copy() -> None:
    # GIVEN an input in non-canonical spelling
    raw_input: dict[str, Any] = {"groupBy": ["userid"], "granularity": "day", "api": "Aggregates"}

    # WHEN normalized
    query = normalize_query(raw_input, today=TODAY)
    raw_input["groupBy"].append("Platform")

    # THEN `requested` keeps the input as it was given, unaffected by later changes
    assert query["requested"] == {
        "groupBy": ["userid"],
        "granularity": "day",
        "api": "Aggregates",
    }
    assert query["api"] == "aggregates"


def test_ten_entries_pass_the_size_limit_and_eleven_do_not() -> None:
    # GIVEN ten and eleven groupBy entries (only six dimensions exist, so both repeat one)
    ten, eleven = ["UserId"] * 10, ["UserId"] * 11

    # WHEN normalized
    with pytest.raises(InvalidInput) as ten_refused:
        normalize_query({"groupBy": ten}, today=TODAY)
    with pytest.raises(InvalidInput) as eleven_refused:
        normalize_query({"groupBy": eleven}, today=TODAY)

    # THEN ten fail only on the duplicate, eleven on the size
    assert ten_refused.value.field == "groupBy[1]"
    assert eleven_refused.value.field == "groupBy"
    assert "11 entries is too many" in eleven_refused.value.allowed


# --- Week / Month alignment --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_input", "start", "end", "aligned_from", "period_count"),
    [
        pytest.param(
            {"granularity": "Week", "interval": "2026-11-04/2026-11-12"},
            "2026-11-02",
            "2026-11-16",
            "2026-11-04T00:00:00Z/2026-11-12T00:00:00Z",
            2,
            id="week both ends",
        ),
        pytest.param(
            {"granularity": "Week", "interval": "2026-11-02/2026-11-16"},
            "2026-11-02",
            "2026-11-16",
            None,
            2,
            id="week already whole",
        ),
        pytest.param(
            {"granularity": "Week", "interval": "2026-11-15"},
            "2026-11-09",
            "2026-11-16",
            "2026-11-15T00:00:00Z/2026-11-16T00:00:00Z",
            1,
            id="week from its Sunday",
        ),
        pytest.param(
            {"granularity": "Week", "interval": "2025-12-29/2026-01-05"},
            "2025-12-29",
            "2026-01-05",
            None,
            1,
            id="ISO week across a year end",
        ),
        pytest.param(
            {"granularity": "Month", "interval": "2026-09-15/2026-10-02"},
            "2026-09-01",
            "2026-11-01",
            "2026-09-15T00:00:00Z/2026-10-02T00:00:00Z",
            2,
            id="month both ends",
        ),
        pytest.param(
            {"granularity": "Month", "interval": "2026-10"},
            "2026-10-01",
            "2026-11-01",
            None,
            1,
            id="month already whole",
        ),
        pytest.param(
            {"granularity": "Month", "interval": "2025-12/2026-03"},
            "2025-12-01",
            "2026-03-01",
            None,
            3,
            id="three months of exactly 90 days",
        ),
    ],
)
def test_week_and_month_are_aligned_outward_and_the_alignment_recorded(
    raw_input: dict[str, Any], start: str, end: str, aligned_from: str | None, period_count: int
) -> None:
    # GIVEN a Week or Month query
    # WHEN normalized
    query = normalize_query(raw_input, today=TODAY)

    # THEN the window covers whole periods and says what was asked when it had to grow
    assert (query["start"], query["end"]) == (start, end)
    assert query["alignedFrom"] == aligned_from
    assert query["periods"] == period_count
    assert query["requested"] == raw_input


def test_a_weekly_schedule_on_monday_covers_the_week_just_ended() -> None:
    # GIVEN a Monday and no interval
    monday = date(2026, 11, 23)

    # WHEN a Week query is normalized
    query = normalize_query({"granularity": "Week"}, today=monday)

    # THEN the previous day aligns to the complete week before it
    assert (query["start"], query["end"]) == ("2026-11-16", "2026-11-23")
    assert query["alignedFrom"] == "2026-11-22T00:00:00Z/2026-11-23T00:00:00Z"


def test_a_monthly_schedule_on_the_first_covers_the_month_just_ended() -> None:
    # GIVEN the first of a month and no interval
    # WHEN a Month query is normalized
    query = normalize_query({"granularity": "Month"}, today=date(2026, 12, 1))

    # THEN the previous day aligns to the complete month before it
    assert (query["start"], query["end"]) == ("2026-11-01", "2026-12-01")
    assert query["periods"] == 1


# --- Limits at their boundaries ----------------------------------------------------------------


def test_exactly_ninety_days_is_accepted_by_the_aggregates_api() -> None:
    # GIVEN a 90-day window ending yesterday (91 days is in the refusal table)
    # WHEN normalized
    query = normalize_query({"interval": "2026-08-24/2026-11-22"}, today=TODAY)

    # THEN it is accepted as 90 daily periods
    assert query["periods"] == 90


def test_legacy_allows_windows_longer_than_ninety_days() -> None:
    # GIVEN a whole-year window that the aggregates API would refuse
    raw_input = {"api": "legacy", "interval": "2025-11-22/2026-11-22"}

    # WHEN normalized for the legacy API
    query = normalize_query(raw_input, today=TODAY)

    # THEN it is accepted
    assert query["periods"] == 365
    with pytest.raises(InvalidInput, match="split longer backfills"):
        normalize_query({"interval": "2025-11-22/2026-11-22"}, today=TODAY)


def test_the_start_may_be_exactly_the_lookback_limit_ago() -> None:
    # GIVEN a start exactly 365 days ago (366 is in the refusal table)
    # WHEN normalized
    query = normalize_query({"interval": "2025-11-22"}, today=TODAY)

    # THEN it is accepted
    assert query["start"] == "2025-11-22"


def test_legacy_is_held_to_the_lookback_limit_too() -> None:
    # GIVEN the legacy API and a start 366 days ago
    # WHEN / THEN it is refused
    with pytest.raises(InvalidInput, match="on or after 2025-11-22"):
        normalize_query({"api": "legacy", "interval": "2025-11-21/2025-11-23"}, today=TODAY)


# --- Helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_input", "expected"),
    [
        pytest.param(
            {"interval": "2026-10-30/2026-11-02"},
            ["2026-10-30", "2026-10-31", "2026-11-01"],
            id="days",
        ),
        pytest.param(
            {"granularity": "Week", "interval": "2026-10-26/2026-11-09"},
            ["2026-10-26", "2026-11-02"],
            id="weeks start on Monday",
        ),
        pytest.param(
            {"granularity": "Month", "interval": "2025-12/2026-02"},
            ["2025-12-01", "2026-01-01"],
            id="months across a year end",
        ),
    ],
)
def test_partition_dates_are_the_first_day_of_each_period(
    raw_input: dict[str, Any], expected: list[str]
) -> None:
    # GIVEN a normalized query
    query = parse_query(raw_input, today=TODAY)

    # WHEN its periods are listed
    # THEN each is the first day of a period in [start, end), as the state document counts them
    assert query.periods() == [date.fromisoformat(day) for day in expected]
    assert len(expected) == query.to_dict()["periods"]


def test_the_dataclass_round_trips_through_the_state_document() -> None:
    # GIVEN a parsed query
    parsed = parse_query({"granularity": "Week", "interval": "2026-11-04"}, today=TODAY)

    # WHEN it goes through its dict form and back
    document = copy.deepcopy(parsed.to_dict())
    restored = NormalizedQuery.from_dict(document)

    # THEN nothing is lost and both forms give the same periods
    assert restored == parsed
    assert restored.to_dict() == document
    assert restored.periods() == [date(2026, 11, 2)]
    assert hash(restored) == hash(parsed)


@pytest.mark.parametrize(
    ("start", "end", "granularity", "expected"),
    [
        pytest.param(
            date(2026, 11, 4), date(2026, 11, 5), "Day", ("2026-11-04", "2026-11-05"), id="day"
        ),
        pytest.param(
            date(2026, 11, 2), date(2026, 11, 3), "Week", ("2026-11-02", "2026-11-09"), id="monday"
        ),
        pytest.param(
            date(2026, 11, 8),
            date(2026, 11, 10),
            "Week",
            ("2026-11-02", "2026-11-16"),
            id="2 weeks",
        ),
        pytest.param(
            date(2026, 12, 31), date(2027, 1, 1), "Month", ("2026-12-01", "2027-01-01"), id="dec"
        ),
        pytest.param(
            date(2026, 12, 31),
            date(2027, 1, 2),
            "Month",
            ("2026-12-01", "2027-02-01"),
            id="2 months",
        ),
    ],
)
def test_align_to_periods(
    start: date, end: date, granularity: str, expected: tuple[str, str]
) -> None:
    # GIVEN an end-exclusive window
    # WHEN aligned
    aligned = align_to_periods(start, end, granularity)

    # THEN it is the smallest run of whole periods covering it
    assert tuple(day.isoformat() for day in aligned) == expected


@pytest.mark.parametrize(
    ("start", "end", "granularity", "expected"),
    [
        pytest.param(date(2026, 11, 20), date(2026, 11, 22), "Day", [20, 21], id="days"),
        pytest.param(date(2026, 11, 2), date(2026, 11, 16), "Week", [2, 9], id="weeks"),
        pytest.param(date(2026, 11, 4), date(2026, 11, 17), "Week", [9, 16], id="from midweek"),
        pytest.param(date(2026, 10, 15), date(2026, 12, 1), "Month", [1], id="from mid-month"),
    ],
)
def test_period_starts_are_the_first_days_of_the_periods_starting_in_the_window(
    start: date, end: date, granularity: str, expected: list[int]
) -> None:
    # GIVEN an end-exclusive window, aligned to its periods or not
    # WHEN its periods are listed
    starts = period_starts(start, end, granularity)

    # THEN each is a period's first day, at or after the start and before the end
    assert [day.day for day in starts] == expected
    assert all(start <= day < end for day in starts)


# --- lastDays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 3, 90])
def test_last_days_is_the_last_n_complete_utc_days(days: int) -> None:
    query = parse_query({"lastDays": days}, today=TODAY)
    assert (query.start, query.end) == (TODAY - timedelta(days=days), TODAY)
    assert query.requested == {"lastDays": days}
    assert query.granularity == "Day"


def test_last_days_reaches_a_year_back_with_the_legacy_api() -> None:
    query = parse_query({"lastDays": 365, "api": "legacy"}, today=TODAY)
    assert query.start == TODAY - timedelta(days=365)


@pytest.mark.parametrize(
    "fields",
    [
        {"lastDays": 0},
        {"lastDays": -1},
        {"lastDays": 91},
        {"lastDays": 366, "api": "legacy"},
        {"lastDays": True},
        {"lastDays": "3"},
        {"lastDays": 2.5},
        {"lastDays": None},
        {"lastDays": 3, "interval": "2026-11-20"},
    ],
)
def test_a_bad_last_days_is_refused_by_name(fields: dict) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_query(fields, today=TODAY)
    assert raised.value.field == "lastDays"
    assert raised.value.value == fields["lastDays"]
    assert "1 to" in raised.value.allowed


def test_last_days_that_ends_in_an_incomplete_week_names_last_days() -> None:
    # TODAY is a Sunday: the week that started on Monday the 16th is not complete
    with pytest.raises(InvalidInput) as raised:
        parse_query({"lastDays": 3, "granularity": "Week"}, today=TODAY)
    assert raised.value.field == "lastDays"
    assert "not complete" in raised.value.allowed
