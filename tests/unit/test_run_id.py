"""The run id (docs/contracts.md section 3)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from usage_pipeline.errors import InvalidInput
from usage_pipeline.run_id import execution_start_utc, run_id_for

EXECUTION_ID = (
    "arn:aws:states:eu-west-1:123456789012:execution:GenesysApiUsage:"
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
)
EXECUTION_HASH = hashlib.sha256(EXECUTION_ID.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("start_time", "stamp"),
    [
        pytest.param("2026-11-22T01:40:00.123Z", "20261122T014000Z", id="milliseconds Z"),
        pytest.param("2026-11-22T01:40:00Z", "20261122T014000Z", id="no fraction"),
        pytest.param("2026-11-22T01:40:00+00:00", "20261122T014000Z", id="+00:00"),
        pytest.param(
            "2026-11-22T01:40:00.999999999Z", "20261122T014000Z", id="truncated not rounded"
        ),
        pytest.param("2026-11-22T02:40:00+01:00", "20261122T014000Z", id="offset to UTC"),
        pytest.param("2026-11-21T20:40:00-05:00", "20261122T014000Z", id="across midnight"),
    ],
)
def test_run_id_is_utc_start_second_and_hash_of_the_execution(start_time: str, stamp: str) -> None:
    # GIVEN a Step Functions start time in any of its forms
    # WHEN the run id is computed
    run_id = run_id_for(EXECUTION_ID, start_time)

    # THEN it is the UTC start to the second and the first 8 hex of sha256(execution id)
    assert run_id == f"{stamp}-{EXECUTION_HASH}"
    assert re.fullmatch(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}", run_id)


def test_run_id_is_stable_across_retries_and_unique_per_execution() -> None:
    # GIVEN two executions that started in the same second
    other_execution = EXECUTION_ID.replace("0a1b2c3d", "ffffffff")
    start = "2026-11-22T01:40:00.123Z"

    # WHEN the run id is computed twice for one and once for the other
    first, retried = run_id_for(EXECUTION_ID, start), run_id_for(EXECUTION_ID, start)
    other = run_id_for(other_execution, start)

    # THEN a retry gets the same id and the other execution a different one
    assert first == retried
    assert other != first
    assert other.split("-")[0] == first.split("-")[0]


def test_the_start_gives_the_utc_date_for_today() -> None:
    # GIVEN an execution started late in the evening west of UTC
    # WHEN its start is read
    started = execution_start_utc("2026-11-21T20:40:00.5-05:00")

    # THEN it is the UTC moment (its date is the `today` to normalize the query with)
    assert started == datetime(2026, 11, 22, 1, 40, tzinfo=UTC)
    assert started.date().isoformat() == "2026-11-22"


@pytest.mark.parametrize(
    "start_time",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("2026-11-22", id="date only"),
        pytest.param("2026-11-22T01:40:00", id="no zone"),
        pytest.param("2026-11-22 01:40:00Z", id="space separator"),
        pytest.param(" 2026-11-22T01:40:00Z", id="leading space"),
        pytest.param("2026-11-22T01:40:00Z\n", id="trailing newline"),
        pytest.param("2026-11-22T01:40Z", id="no seconds"),
        pytest.param("2026-02-30T01:40:00Z", id="30 February"),
        pytest.param("2026-11-22T24:00:00Z", id="hour 24"),
        pytest.param("2026-11-22T01:40:00+24:00", id="offset 24 hours"),
        pytest.param("2026-11-22T01:40:00.1234567890Z", id="ten fraction digits"),
        pytest.param("0001-01-01T00:00:00+01:00", id="before year 1 in UTC"),
        pytest.param("1764" + "0" * 200, id="epoch digits"),
        pytest.param(1764034800, id="number"),
        pytest.param(None, id="null"),
    ],
)
def test_a_start_time_that_is_not_a_step_functions_timestamp_is_refused(
    start_time: object,
) -> None:
    # GIVEN a start time that is not an ISO date-time with a zone
    # WHEN the run id is computed
    with pytest.raises(InvalidInput) as caught:
        run_id_for(EXECUTION_ID, start_time)  # type: ignore[arg-type]

    # THEN the error names the field and the accepted form, and stays short
    assert caught.value.field == "execution.startTime"
    assert "2026-11-22T01:40:00.123Z" in caught.value.allowed
    assert len(str(caught.value)) < 600


@pytest.mark.parametrize(
    "execution_id",
    [pytest.param("", id="empty"), pytest.param(None, id="null"), pytest.param(7, id="number")],
)
def test_an_execution_id_that_is_not_a_non_empty_string_is_refused(execution_id: object) -> None:
    # GIVEN no usable execution id
    # WHEN the run id is computed
    with pytest.raises(InvalidInput) as caught:
        run_id_for(execution_id, "2026-11-22T01:40:00Z")  # type: ignore[arg-type]

    # THEN the error names the field
    assert caught.value.field == "execution.id"
    assert "$$.Execution.Id" in str(caught.value)
