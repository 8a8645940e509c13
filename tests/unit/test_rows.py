"""rows.normalize_row / make_rows_normalizer: both APIs into the one row schema, and validation."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from usage_pipeline.constants import PARTITION_COLUMNS, ROW_COLUMNS
from usage_pipeline.errors import RowInvalid
from usage_pipeline.rows import OUTPUT_COLUMNS, make_rows_normalizer, normalize_row

RUN_ID = "20261122T014000Z-3fa2b1c0"
LANDED_AT = "2026-11-22T01:41:07Z"
GROUPING = "httpmethod_oauthclientid_templateuri"

# The blueprint's sample output lines (shared/seeds/004, "Transform the JSON result ..."), verbatim.
BLUEPRINT_LINES = (
    '{"clientId":"d57acb58-54a8-44ce-bafa-0c273a357a94","clientName":"Sample Client Credentials",'
    '"organizationId":"","userId":"","templateUri":"","httpMethod":"","status200":3,"status300":0,'
    '"status400":0,"status500":1,"status429":0,"requests":4,"date":"2021-01-12T00:00:00Z"}',
    '{"clientId":"47de8a75-c884-487c-bd30-f4b476622bb7","clientName":"Another OAUth Client",'
    '"organizationId":"","userId":"","templateUri":"","httpMethod":"","status200":16,"status300":0,'
    '"status400":0,"status500":0,"status429":0,"requests":16,"date":"2021-01-29T00:00:00Z"}',
)
# The blueprint's "completed query" example row: no granularity, hence no date.
BLUEPRINT_UNDATED_ROW = {
    "clientId": "e7de8a75-86bb-43eb-9063-38699f8c21af",
    "clientName": "Prince Implicit Grant",
    "organizationId": "",
    "userId": "",
    "templateUri": "",
    "httpMethod": "",
    "status200": 57,
    "status300": 0,
    "status400": 0,
    "status500": 0,
    "status429": 0,
    "requests": 57,
}

AGGREGATES_ENTITY: dict[str, Any] = {
    "date": "2026-11-20",
    "platform": "PureCloud Platform",
    "httpMethod": "GET",
    "templateUri": "api/v2/users/{userId}",
    "requestCount": 12,
    "status200": 10,
    "status300": 0,
    "status400": 2,
    "status429": 1,
    "status500": 0,
    "oauthClient": {"id": "c-1", "name": 'Intégration "CRM", Paris'},
    "user": {"id": "u-1", "name": "Zoë O'Brien"},
}


def _legacy(row: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return normalize_row(
        "legacy",
        row,
        granularity=kwargs.pop("granularity", "Day"),
        grouping=kwargs.pop("grouping", "oauthclientid"),
        run_id=RUN_ID,
        landed_at=LANDED_AT,
        **kwargs,
    )


def _aggregates(row: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return normalize_row(
        "aggregates",
        row,
        granularity=kwargs.pop("granularity", "Day"),
        grouping=kwargs.pop("grouping", GROUPING),
        run_id=RUN_ID,
        landed_at=LANDED_AT,
        **kwargs,
    )


def test_blueprint_sample_rows_normalize_to_the_schema() -> None:
    # GIVEN the blueprint's two sample legacy rows
    raw_rows = [orjson.loads(line) for line in BLUEPRINT_LINES]

    # WHEN they are normalized as a Day query grouped by OAuthClientId
    rows = [_legacy(raw) for raw in raw_rows]

    # THEN keys are the contract's columns in order, "" became null, the date lost its time
    assert list(rows[0]) == [*ROW_COLUMNS, *PARTITION_COLUMNS]
    assert rows[0] == {
        "oauth_client_id": "d57acb58-54a8-44ce-bafa-0c273a357a94",
        "oauth_client_name": "Sample Client Credentials",
        "organization_id": None,
        "user_id": None,
        "template_uri": None,
        "http_method": None,
        "platform": None,
        "status200": 3,
        "status300": 0,
        "status400": 0,
        "status429": 0,
        "status500": 1,
        "requests": 4,
        "api": "legacy",
        "run_id": RUN_ID,
        "landed_at": LANDED_AT,
        "granularity": "day",
        "grouping": "oauthclientid",
        "date": "2021-01-12",
    }
    assert rows[1]["date"] == "2021-01-29"
    assert rows[1]["requests"] == 16


def test_blueprint_undated_row_is_refused_naming_the_date() -> None:
    # GIVEN the blueprint's example row of a query without granularity (no date)
    # WHEN / THEN it cannot be placed in a partition
    with pytest.raises(RowInvalid, match=r"row 0: field 'date': None"):
        _legacy(BLUEPRINT_UNDATED_ROW)


def test_aggregates_entity_is_flattened() -> None:
    # GIVEN an aggregates entity with oauthClient and user objects
    # WHEN it is normalized
    row = _aggregates(AGGREGATES_ENTITY)

    # THEN objects are flattened, requestCount -> requests, organization_id is null
    assert list(row) == list(OUTPUT_COLUMNS)
    assert row["oauth_client_id"] == "c-1"
    assert row["oauth_client_name"] == 'Intégration "CRM", Paris'
    assert row["user_id"] == "u-1"
    assert "user_name" not in row  # Genesys's UserReference has no name
    assert row["organization_id"] is None
    assert row["platform"] == "PureCloud Platform"
    assert row["requests"] == 12
    assert row["status429"] == 1
    assert (row["api"], row["date"], row["grouping"]) == ("aggregates", "2026-11-20", GROUPING)


def test_absent_dimensions_and_metrics_are_null() -> None:
    # GIVEN an aggregates entity grouped by TemplateUri only, asked only Status429
    entity = {"date": "2026-11-20", "templateUri": "api/v2/users", "status429": 3}

    # WHEN it is normalized
    row = _aggregates(entity, grouping="templateuri")

    # THEN every other column is null, never missing and never ""
    assert list(row) == list(OUTPUT_COLUMNS)
    assert row["template_uri"] == "api/v2/users"
    assert row["status429"] == 3
    for column in ("oauth_client_id", "user_id", "platform", "requests", "status200", "status500"):
        assert row[column] is None


def test_names_with_non_ascii_quotes_and_commas_survive_json() -> None:
    # GIVEN a legacy row whose names hold quotes, commas, backslashes and non-ASCII
    name = 'Münchner "Dialer", v2 \\ 日本語 },{"oauth_client_id":'
    raw = orjson.loads(BLUEPRINT_LINES[0]) | {"clientName": name, "templateUri": "api/v2/a,b"}

    # WHEN it is normalized and written as JSON
    line = orjson.dumps(_legacy(raw))

    # THEN reading the JSON back gives the same text
    assert orjson.loads(line)["oauth_client_name"] == name
    assert orjson.loads(line)["template_uri"] == "api/v2/a,b"


def test_mixed_empty_and_set_dimension_in_one_page() -> None:
    # GIVEN a page where some legacy rows have a userId and others ""
    first, second = (orjson.loads(line) for line in BLUEPRINT_LINES)
    second["userId"] = "u-9"
    normalize = make_rows_normalizer(
        "legacy", granularity="Day", grouping="g", run_id=RUN_ID, landed_at=LANDED_AT
    )

    # WHEN the page is normalized
    rows = normalize([first, second])

    # THEN "" is null and the value is kept, row by row
    assert [row["user_id"] for row in rows] == [None, "u-9"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("status200", -1, r"row 0: field 'status200': -1 is not a non-negative integer"),
        ("status429", True, r"row 0: field 'status429': True is not a non-negative integer"),
        ("requests", 2.5, r"row 0: field 'requests': 2.5 is not a non-negative integer"),
        ("requests", "4", r"row 0: field 'requests': '4' is not a non-negative integer"),
        ("requests", 2**63, r"row 0: field 'requests': 9223372036854775808 is not a non-negative"),
        ("clientName", 7, r"row 0: field 'clientName': 7 is not a string"),
        ("date", "2021-13-01", r"field 'date': '2021-13-01' is not a date"),
        ("date", "2021-01-12T05:00:00Z", r"field 'date': '2021-01-12T05:00:00Z' is not a date"),
        ("date", 20210112, r"field 'date': 20210112 is not a date string"),
    ],
)
def test_invalid_values_name_field_and_value(field: str, value: object, message: str) -> None:
    # GIVEN a legacy row with one bad value
    raw = orjson.loads(BLUEPRINT_LINES[0]) | {field: value}

    # WHEN / THEN normalizing refuses it, naming the field and the value
    with pytest.raises(RowInvalid, match=message):
        _legacy(raw)


def test_integral_float_counts_become_ints() -> None:
    # GIVEN a count sent as 4.0
    raw = orjson.loads(BLUEPRINT_LINES[0]) | {"requests": 4.0}

    # WHEN normalized
    row = _legacy(raw)

    # THEN it is the integer 4
    assert row["requests"] == 4
    assert type(row["requests"]) is int


def test_bad_row_is_located_by_index_in_the_page() -> None:
    # GIVEN a page whose third row has a negative count
    good = orjson.loads(BLUEPRINT_LINES[0])
    normalize = make_rows_normalizer(
        "legacy", granularity="Day", grouping="g", run_id=RUN_ID, landed_at=LANDED_AT
    )

    # WHEN / THEN the error names row 2
    with pytest.raises(RowInvalid, match=r"row 2: field 'status500': -3"):
        normalize([good, good, good | {"status500": -3}, good])


def test_aggregates_objects_must_be_objects() -> None:
    # GIVEN an entity whose oauthClient is a string / a page item that is not an object
    # WHEN / THEN both are refused by name
    with pytest.raises(RowInvalid, match=r"field 'oauthClient': 'c-1' is not a JSON object"):
        _aggregates(AGGREGATES_ENTITY | {"oauthClient": "c-1"})
    with pytest.raises(RowInvalid, match=r"row 0: \[1, 2\] is not a JSON object"):
        _aggregates([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("granularity", "dated", "inside", "outside"),
    [
        # Monday-aligned weeks [11-16, 11-30): a Sunday-start week dated 11-15 covers 11-16..21
        ("Week", "2026-11-16", "2026-11-15", "2026-11-09"),
        ("Week", "2026-11-22", "2026-11-29", "2026-11-30"),
        # months [11-01, 12-01)
        ("Month", "2026-11-01", "2026-11-02", "2026-12-01"),
    ],
)
def test_week_and_month_rows_keep_the_date_genesys_gives_if_their_period_overlaps(
    granularity: str, dated: str, inside: str, outside: str
) -> None:
    # GIVEN a Week/Month window; Genesys does not document which day its weeks start on
    window = (date(2026, 11, 16), date(2026, 11, 30))
    if granularity == "Month":
        window = (date(2026, 11, 1), date(2026, 12, 1))

    # WHEN rows are dated on the period start we align to, or on another day
    for day in (dated, inside):
        row = _aggregates(AGGREGATES_ENTITY | {"date": day}, granularity=granularity, window=window)

        # THEN each lands under the date Genesys gave, as long as its period overlaps the window
        assert (row["granularity"], row["date"]) == (granularity.lower(), day)
    with pytest.raises(RowInvalid, match="outside the query window"):
        _aggregates(AGGREGATES_ENTITY | {"date": outside}, granularity=granularity, window=window)


def test_row_outside_the_window_is_refused() -> None:
    # GIVEN the window [2026-11-20, 2026-11-21)
    window = (date(2026, 11, 20), date(2026, 11, 21))

    # WHEN / THEN a row of 2026-11-21 is outside it
    assert _aggregates(AGGREGATES_ENTITY, window=window)["date"] == "2026-11-20"
    with pytest.raises(RowInvalid, match="outside the query window"):
        _aggregates(AGGREGATES_ENTITY | {"date": "2026-11-21"}, window=window)


def test_unknown_api_or_granularity_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="api"):
        make_rows_normalizer("v3", granularity="Day", grouping="g", run_id="r", landed_at="l")
    with pytest.raises(ValueError, match="granularity"):
        make_rows_normalizer("legacy", granularity="Hour", grouping="g", run_id="r", landed_at="l")
