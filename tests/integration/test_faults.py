"""The fault matrix: each simulator fault through the synthesized state machine.

Each test asserts the final status, the error name, and what S3 holds afterwards: a covered
partition holds its complete old data or its complete new data, never a mix or a part.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration

WINDOW = {"interval": window(3, 0)}


def _assert_partitions_whole(pipeline: LocalPipeline) -> None:
    """Every landed partition is exactly one run's complete rows for that partition."""
    truth = expected_rows(pipeline.simulator, WINDOW, TODAY)
    for key, rows in pipeline.usage_rows_by_key().items():
        assert len({row["run_id"] for row in rows}) <= 1, f"{key} mixes runs"
        date = key.split("date=")[1].split("/")[0]
        expected_here = Counter({k: n for k, n in truth.items() if k[-1] == date})
        assert landed_rows(rows) == expected_here, f"{key} is not complete"


@dataclass
class _Poll:
    entered: datetime
    exited: datetime
    job: dict[str, Any]


def _polls(pipeline: LocalPipeline, execution_arn: str) -> list[_Poll]:
    """Each PollStatus state: when it was entered and left, and the ``job`` it returned."""
    entered: list[datetime] = []
    polls: list[_Poll] = []
    for event in pipeline.history(execution_arn):
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if details is None or details["name"] != "PollStatus":
            continue
        if event["type"] == "TaskStateEntered":
            entered.append(event["timestamp"])
        else:
            job = json.loads(details["output"])["job"]
            polls.append(_Poll(entered[len(polls)], event["timestamp"], job))
    return polls


def _landed_nothing(pipeline: LocalPipeline) -> bool:
    return pipeline.keys("usage/") == [] and pipeline.keys("manifests/") == []


def test_rate_limit_storm_succeeds_honouring_retry_after(pipeline: LocalPipeline) -> None:
    # GIVEN Genesys answers the next eight API requests with 429 and Retry-After: 1
    pipeline.simulator.set_fault("rate-limit", count=8, retry_after=1)

    # WHEN the pipeline runs
    started = time.monotonic()
    report = pipeline.execute(WINDOW)

    # THEN it succeeds, never came back before Retry-After, and stayed under the token's limit
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    stats = pipeline.simulator.stats()
    assert stats["faultsFired"]["rate-limit"] == 8
    assert stats["retriesBeforeRetryAfter"] == 0
    assert stats["maxRequestsPerWindow"] <= stats["rateLimitPerMinute"]
    assert time.monotonic() - started >= 8  # eight one-second waits, in Lambda or in Wait states
    assert landed_rows(pipeline.usage_rows()) == expected_rows(pipeline.simulator, WINDOW, TODAY)


def test_a_binding_rate_limit_is_waited_out_not_hammered(pipeline: LocalPipeline) -> None:
    # GIVEN a token allowed 3 requests per 2-second window, and a run that needs more
    pipeline.simulator.configure(rate_limit_per_minute=3, rate_limit_window_seconds=2)

    # WHEN the pipeline runs a window of several pages
    report = pipeline.execute(WINDOW)

    # THEN the limiter did answer 429, the run waited as told every time, and still succeeded
    stats = pipeline.simulator.stats()
    answers = stats["requests"]
    assert sum(by_status.get("429", 0) for by_status in answers.values()) >= 1
    assert stats["retriesBeforeRetryAfter"] == 0
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    _assert_partitions_whole(pipeline)


def test_server_errors_on_api_and_token_endpoint_are_retried(pipeline: LocalPipeline) -> None:
    # GIVEN 5xx bursts on the token endpoint and on the API
    pipeline.simulator.set_fault("server-error", endpoint="token", count=2, status=503)
    pipeline.simulator.set_fault("server-error", endpoint="api", count=3, status=500)

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN it succeeds after retries and lands the ground truth
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert pipeline.simulator.stats()["faultsFired"]["server-error"] == 5
    _assert_partitions_whole(pipeline)


def test_bad_credentials_fail_fast_without_a_retry_storm(pipeline: LocalPipeline) -> None:
    # GIVEN the token endpoint rejects the client credentials
    pipeline.simulator.set_fault("bad-credentials")

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN it fails in the first state with the named error after one token request
    assert report.status == "FAILED"
    assert report.error == "GenesysAuthError"
    assert report.states == ["SubmitQuery", "SubmitQueryFailed"]
    assert pipeline.simulator.stats()["requests"]["token"] == {"401": 1}
    assert _landed_nothing(pipeline)


def test_a_fixed_secret_works_on_the_very_next_run(pipeline: LocalPipeline) -> None:
    # GIVEN a wrong client secret in Secrets Manager, and a run that failed on it
    assert pipeline.resources is not None
    secrets, secret_id = pipeline.client("secretsmanager"), pipeline.resources.secret_id
    right = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    wrong = json.dumps({**json.loads(right), "clientSecret": "not-the-secret"})
    secrets.put_secret_value(SecretId=secret_id, SecretString=wrong)
    failed = pipeline.execute(WINDOW)
    assert (failed.status, failed.error) == ("FAILED", "GenesysAuthError")

    # WHEN the right secret is put and the next run starts at once, in the same warm containers
    secrets.put_secret_value(SecretId=secret_id, SecretString=right)
    fixed = pipeline.execute(WINDOW)

    # THEN it succeeds and lands the ground truth
    assert fixed.succeeded, (fixed.error, fixed.cause)
    rows = landed_rows(pipeline.usage_rows())
    assert rows == expected_rows(pipeline.simulator, WINDOW, TODAY)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("job-failed", "GenesysJobFailed"), ("job-cancelled", "GenesysJobCancelled")],
)
def test_a_job_that_ends_badly_fails_with_its_named_error(
    pipeline: LocalPipeline, fault: str, error: str
) -> None:
    # GIVEN Genesys ends the job Failed / Cancelled
    pipeline.simulator.set_fault(fault)

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN the execution fails with the named error and lands nothing
    assert report.status == "FAILED"
    assert report.error == error
    assert _landed_nothing(pipeline)


def test_a_stuck_job_fails_with_a_timeout_error_within_the_bound(pipeline: LocalPipeline) -> None:
    # GIVEN a job that never finishes and a job timeout of 2 seconds
    pipeline.override_environment(JOB_TIMEOUT_SECONDS="2")
    pipeline.simulator.set_fault("job-stuck")

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN it fails with GenesysJobTimedOut at the first poll past the bound, and lands nothing
    assert report.status == "FAILED"
    assert report.error == "GenesysJobTimedOut"
    # (the clocks of moto's history and of the handlers are this process's)
    polls = _polls(pipeline, report.arn)
    bound = datetime.fromisoformat(polls[-1].job["submittedAt"]) + timedelta(seconds=2)
    # (the first poll may already be past it: submittedAt has whole seconds)
    assert [poll.job["state"] for poll in polls] == ["running"] * (len(polls) - 1) + ["timed_out"]
    assert all(poll.entered <= bound for poll in polls[:-1])
    assert bound < polls[-1].exited
    assert _landed_nothing(pipeline)


@pytest.mark.parametrize(
    ("fault", "options", "error"),
    [
        ("malformed-page", {"page": 2}, "PageMalformed"),
        ("truncated-page", {"page": 2, "count": None}, "PageTruncated"),
        ("cursor-loop", {}, "CursorLoop"),
    ],
)
def test_a_bad_page_fails_with_its_named_error_and_lands_nothing(
    pipeline: LocalPipeline, fault: str, options: dict[str, Any], error: str
) -> None:
    # GIVEN a result whose second page is broken (several pages: three days by client and URI)
    pipeline.simulator.set_fault(fault, **options)

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN it fails with the named error and nothing reaches the table
    assert report.status == "FAILED"
    assert report.error == error
    assert "PollStatusFailed" in report.states
    assert _landed_nothing(pipeline)


def test_a_failure_while_landing_keeps_partitions_whole_and_the_next_run_repairs(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a window landed once
    first = pipeline.execute(WINDOW)
    assert first.status == "SUCCEEDED", (first.error, first.cause)

    # AND S3 refusing every write into usage/ after the first one
    from moto.s3.models import S3Backend

    original_copy = S3Backend.copy_object
    copies: list[str] = []

    def failing_copy(
        self: Any, src_key: Any, dest_bucket_name: str, dest_key_name: str, *a: Any, **k: Any
    ) -> Any:
        if dest_key_name.startswith("usage/"):
            copies.append(dest_key_name)
            if len(copies) > 1:
                raise RuntimeError("injected: S3 refused the write")
        return original_copy(self, src_key, dest_bucket_name, dest_key_name, *a, **k)

    monkeypatch.setattr(S3Backend, "copy_object", failing_copy)

    # WHEN the same window runs again
    second = pipeline.execute(WINDOW)

    # THEN it fails in Land, and every partition is whole: one run's complete rows
    assert second.status == "FAILED"
    assert "LandFailed" in second.states
    _assert_partitions_whole(pipeline)
    runs = {row["run_id"] for row in pipeline.usage_rows()}
    assert len(runs) == 2  # one partition new, the others still the first run's

    # AND WHEN S3 works again, the next run repairs everything
    monkeypatch.setattr(S3Backend, "copy_object", original_copy)
    third = pipeline.execute(WINDOW)
    assert third.status == "SUCCEEDED", (third.error, third.cause)
    assert {row["run_id"] for row in pipeline.usage_rows()} == {third.output["runId"]}  # type: ignore[index]
    _assert_partitions_whole(pipeline)


def test_a_crawler_that_is_already_running_is_not_an_error(pipeline: LocalPipeline) -> None:
    # GIVEN the crawler is running when the run lands
    assert pipeline.resources is not None
    pipeline.client("glue").start_crawler(Name=pipeline.resources.crawler)

    # WHEN the pipeline runs
    report = pipeline.execute(WINDOW)

    # THEN it succeeds and says the crawler was already running
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    assert report.output["landed"]["crawlerAlreadyRunning"] is True
    _assert_partitions_whole(pipeline)
