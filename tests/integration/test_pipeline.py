"""The synthesized state machine, end to end: both APIs, ground truth, re-runs and overlaps."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration

WITHOUT_RUN_COLUMNS = ("run_id", "landed_at")


def _content(pipeline: LocalPipeline) -> Counter:
    return landed_rows(pipeline.usage_rows())


@pytest.mark.parametrize("api", ["aggregates", "legacy"])
def test_a_run_lands_exactly_the_simulators_ground_truth(pipeline: LocalPipeline, api: str) -> None:
    # GIVEN three whole UTC days ending yesterday, and a job still running at the first poll
    execution_input = {"api": api, "interval": window(3, 0)}
    pipeline.simulator.configure(polls_until_done=1)

    # WHEN the state machine runs
    report = pipeline.execute(execution_input)

    # THEN it succeeds through every state, polling until the job is done, and the table holds
    # exactly what Genesys says
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.states[0] == "SubmitQuery"
    assert {"Transform", "Land"} <= set(report.states)
    assert Counter(report.states)["WaitForJob"] == Counter(report.states)["PollStatus"] == 2
    expected = expected_rows(pipeline.simulator, execution_input, TODAY)
    assert sum(expected.values()) > 0
    assert _content(pipeline) == expected
    assert sum(report.rows_by_partition.values()) == sum(expected.values())
    assert len(report.rows_by_partition) == 3


def test_default_input_takes_the_previous_utc_day(pipeline: LocalPipeline) -> None:
    # GIVEN the schedule's empty input
    # WHEN it runs
    report = pipeline.execute({})

    # THEN yesterday's single partition of the default grouping is landed
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    query = report.output["query"]
    assert (query["start"], query["granularity"]) == (window(1, 0).split("/")[0], "Day")
    assert list(report.rows_by_partition) == [
        f"usage/api=aggregates/granularity=day/grouping={query['grouping']}/date={query['start']}/usage.parquet"
    ]
    assert _content(pipeline) == expected_rows(pipeline.simulator, {}, TODAY)


def test_running_the_same_input_twice_changes_nothing(pipeline: LocalPipeline) -> None:
    # GIVEN a window that has been landed once
    execution_input = {"interval": window(2, 0)}
    first = pipeline.execute(execution_input)
    keys_after_first = pipeline.keys("usage/")
    content_after_first = _content(pipeline)

    # WHEN the same input runs again
    second = pipeline.execute(execution_input)

    # THEN the table holds the same rows in the same objects: nothing duplicated
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert pipeline.keys("usage/") == keys_after_first
    assert _content(pipeline) == content_after_first
    rows = pipeline.usage_rows()
    assert {row["run_id"] for row in rows} == {second.output["runId"]}  # type: ignore[index]


def test_an_overlapping_window_leaves_no_duplicate_rows(pipeline: LocalPipeline) -> None:
    # GIVEN days 6..3 ago landed, then days 4..1 ago (two days overlap)
    first = pipeline.execute({"interval": window(6, 2)})
    second = pipeline.execute({"interval": window(4, 0)})

    # THEN the table equals one clean run over the union of both windows
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    union = expected_rows(pipeline.simulator, {"interval": window(6, 0)}, TODAY)
    assert _content(pipeline) == union
    assert max(_content(pipeline).values()) == 1


def test_runs_with_different_groupings_never_mix(pipeline: LocalPipeline) -> None:
    # GIVEN the same day landed per OAuth client and per URI
    by_client = {"interval": window(1, 0), "groupBy": ["OAuthClientId"]}
    by_uri = {"interval": window(1, 0), "groupBy": ["TemplateUri"]}

    # WHEN both run
    reports = [pipeline.execute(by_client), pipeline.execute(by_uri)]

    # THEN each grouping has its own partition holding its own ground truth
    assert [r.status for r in reports] == ["SUCCEEDED", "SUCCEEDED"]
    rows = pipeline.usage_rows()
    for execution_input, grouping in ((by_client, "oauthclientid"), (by_uri, "templateuri")):
        mine = [row for row in rows if row["grouping"] == grouping]
        assert landed_rows(mine) == expected_rows(pipeline.simulator, execution_input, TODAY)


def test_week_granularity_lands_whole_weeks(pipeline: LocalPipeline) -> None:
    # GIVEN two weeks asked by dates that do not fall on Mondays
    execution_input: dict[str, Any] = {"granularity": "Week", "interval": window(20, 8)}

    # WHEN it runs
    report = pipeline.execute(execution_input)

    # THEN the window was aligned to whole weeks, recorded, and each row is a whole week
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    assert report.output["query"]["alignedFrom"] is not None
    assert _content(pipeline) == expected_rows(pipeline.simulator, execution_input, TODAY)


def test_a_failed_genesys_job_fails_the_execution_and_lands_nothing(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN Genesys fails the query job
    pipeline.simulator.set_fault("job-failed")

    # WHEN the pipeline runs
    report = pipeline.execute({"interval": window(2, 0)})

    # THEN the execution fails with the named error and nothing reaches the table
    assert report.status == "FAILED"
    assert report.error == "GenesysJobFailed"
    assert report.cause
    assert pipeline.keys("usage/") == []
    assert pipeline.keys("manifests/") == []
