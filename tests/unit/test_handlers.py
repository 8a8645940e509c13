"""Each handler's own logic, through the handler itself: settings at the door, which step runs,
what goes into the state, the metrics. Genesys is a scripted HTTP stub, AWS is moto."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from handlers import land, poll_status, submit_query, transform
from handlers._runtime import aws_client
from handlers.genesys import http_session, wait_for_genesys
from tests.unit.fake_genesys import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeGenesys,
    error_reply,
    json_reply,
    token_reply,
)
from usage_pipeline import constants as c
from usage_pipeline import layout, utc
from usage_pipeline.config import TransformSettings
from usage_pipeline.errors import ConfigurationError, InvalidInput
from usage_pipeline.genesys import PageCursor
from usage_pipeline.query import parse_query
from usage_pipeline.state import Execution, Job, Raw, RunState, Wait, to_json
from usage_pipeline.storage import BucketStore
from usage_pipeline.warm_container import forget_all

BUCKET = "source-bucket"
CRAWLER = "usage-crawler"
SECRET_ID = "genesys-oauth"
RUN_ID = "20261122T014000Z-3fa2b1c0"
JOB_ID = "job-1"
JOB_PATH = f"{c.AGGREGATES_JOBS_PATH}/{JOB_ID}"
DAY = date(2026, 11, 20)
EXECUTION = Execution(
    id="arn:aws:states:eu-west-1:123456789012:execution:m:e",
    name="e",
    start_time="2026-11-21T01:40:00Z",
)


def context(seconds_left: float = 300.0) -> Any:
    """A Lambda context whose remaining time stands still (every step has time)."""
    return SimpleNamespace(
        function_name="handler-under-test",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:handler-under-test",
        memory_limit_in_mb=512,
        aws_request_id="request-1",
        get_remaining_time_in_millis=lambda: int(seconds_left * 1000),
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto with the source bucket, the OAuth secret and the crawler; each test a new container."""
    forget_all()
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        secret = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
        boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
            Name=SECRET_ID, SecretString=json.dumps(secret)
        )
        boto3.client("glue", region_name="eu-west-1").create_crawler(
            Name=CRAWLER,
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName="usage",
            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/usage/"}]},
        )
        for name, value in {
            c.ENV_SOURCE_BUCKET: BUCKET,
            c.ENV_GENESYS_ENVIRONMENT: "mypurecloud.com",
            c.ENV_GENESYS_SECRET_ID: SECRET_ID,
            c.ENV_GLUE_CRAWLER_NAME: CRAWLER,
        }.items():
            monkeypatch.setenv(name, value)
        yield s3
    forget_all()


@pytest.fixture
def genesys(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGenesys]:
    with FakeGenesys() as fake:
        monkeypatch.setenv(c.ENV_GENESYS_LOGIN_URL, fake.base_url)
        monkeypatch.setenv(c.ENV_GENESYS_API_URL, fake.base_url)
        fake.add("POST", c.TOKEN_PATH, token_reply())
        yield fake


def running_state(**members: Any) -> RunState:
    """The state document after SubmitQuery: a Day query of one day, its job submitted."""
    return RunState(
        run_id=RUN_ID,
        execution=EXECUTION,
        query=parse_query({"interval": DAY.isoformat()}, today=DAY + timedelta(days=1)),
        job=Job(
            api="aggregates",
            id=JOB_ID,
            state=c.JOB_RUNNING,
            status="Submitted",
            polls=0,
            # Submitted just now: the handler times the job out by its own clock.
            submitted_at=utc.timestamp(utc.now()),
        ),
        wait=Wait(2),
        **members,
    )


def entity(client: str, requests: int, status429: int) -> dict[str, Any]:
    return {
        "date": DAY.isoformat(),
        "httpMethod": "GET",
        "templateUri": "api/v2/users/{userId}",
        "requestCount": requests,
        "status200": requests - status429,
        "status300": 0,
        "status400": status429,
        "status429": status429,
        "status500": 0,
        "oauthClient": {"id": client, "name": f"Client {client}"},
    }


def page(rows: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"queryStatus": "Succeeded", "entities": rows}
    if after is not None:
        document["nextUri"] = f"{JOB_PATH}?pageSize=1000&after={after}"
    return document


# --- settings, at the door of every handler ------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "variable", "value", "allowed"),
    [
        (land.handler, c.ENV_GLUE_CRAWLER_NAME, "", "required"),
        (transform.handler, c.ENV_SOURCE_BUCKET, " ", "required"),
        (poll_status.handler, c.ENV_PAGE_SIZE, "5000", "from 1 to 1000"),
        (poll_status.handler, c.ENV_POLL_MAX_WAIT_SECONDS, "soon", "whole number"),
        (submit_query.handler, c.ENV_GENESYS_ENVIRONMENT, "https://mypurecloud.com", "host name"),
        (submit_query.handler, c.ENV_GENESYS_API_URL, "http://api.example.com", "loopback"),
    ],
)
def test_a_bad_variable_fails_the_invocation_naming_it_before_anything_runs(
    aws: Any, monkeypatch: pytest.MonkeyPatch, handler: Any, variable: str, value: str, allowed: str
) -> None:
    # GIVEN a function whose environment holds a bad value
    monkeypatch.setenv(variable, value)

    # WHEN it is invoked (with an event it never gets to read)
    with pytest.raises(ConfigurationError) as raised:
        handler({}, context())

    # THEN the error names the variable, the value and what is allowed
    assert variable in str(raised.value)
    assert repr(value) in str(raised.value) or value in str(raised.value)
    assert allowed in str(raised.value)


def test_settings_are_read_once_per_container(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a warm container that read its settings
    with pytest.raises(ValueError, match="no raw member"):
        transform.handler(running_state().to_json(), context())

    # WHEN the variable changes under it (a new deployment starts new containers)
    monkeypatch.delenv(c.ENV_SOURCE_BUCKET)

    # THEN the warm container keeps the settings it started with, and a new one reads them again
    with pytest.raises(ValueError, match="no raw member"):
        transform.handler(running_state().to_json(), context())
    forget_all()
    with pytest.raises(ConfigurationError, match=c.ENV_SOURCE_BUCKET):
        transform.handler(running_state().to_json(), context())


# --- SubmitQuery ---------------------------------------------------------------------------------


def test_submit_query_refuses_bad_input_before_calling_genesys(
    aws: Any, genesys: FakeGenesys
) -> None:
    event = {"input": {"granularity": "Hour"}, "execution": to_json(EXECUTION)}
    with pytest.raises(InvalidInput, match="granularity"):
        submit_query.handler(event, context())
    assert genesys.calls() == []


def test_submit_query_starts_the_state_document(aws: Any, genesys: FakeGenesys) -> None:
    # GIVEN
    genesys.add("POST", c.AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))
    event = {"input": {"lastDays": 2}, "execution": to_json(EXECUTION)}

    # WHEN
    state = RunState.from_json(submit_query.handler(event, context()))

    # THEN the run id, the query of the execution's day, the job and the first wait are in it
    assert state.run_id.startswith("20261121T014000Z-")
    assert (state.query.start, state.query.end) == (date(2026, 11, 19), date(2026, 11, 21))
    assert (state.job.id, state.job.state, state.job.status) == (JOB_ID, "running", "Submitted")
    assert state.wait == Wait(c.DEFAULT_POLL_INITIAL_WAIT_SECONDS)
    assert state.raw is None


# --- PollStatus / FetchPages ----------------------------------------------------------------------


def test_a_running_job_is_polled_again_after_a_backoff(aws: Any, genesys: FakeGenesys) -> None:
    genesys.add("GET", JOB_PATH, json_reply(202, {"queryStatus": "Running"}))
    state = RunState.from_json(poll_status.handler(running_state().to_json(), context()))
    assert (state.job.state, state.job.polls, state.wait) == ("running", 1, Wait(4))
    assert state.raw is None
    assert list(BucketStore(aws, BUCKET).list_keys("raw/")) == []


def test_a_rate_limited_poll_waits_what_genesys_asked(aws: Any, genesys: FakeGenesys) -> None:
    genesys.add(
        "GET",
        JOB_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", {"Retry-After": "12"}),
    )
    state = RunState.from_json(poll_status.handler(running_state().to_json(), context()))
    assert (state.job.state, state.wait) == ("running", Wait(12))
    assert len(genesys.calls("GET", JOB_PATH)) == 1  # never slept on, never asked again


def test_a_job_found_complete_has_its_pages_stored_at_once(aws: Any, genesys: FakeGenesys) -> None:
    # GIVEN a job whose status answer is page 1 of 2
    first = page([entity("c1", 10, 1)], after="p2")
    genesys.add(
        "GET", JOB_PATH, json_reply(200, first), json_reply(200, page([entity("c2", 4, 0)]))
    )

    # WHEN PollStatus runs
    state = RunState.from_json(poll_status.handler(running_state().to_json(), context()))

    # THEN both pages are stored, page 1 from the status answer: two GETs in all
    assert (state.job.state, state.wait) == ("complete", Wait(0))
    assert state.raw == Raw(layout.raw_prefix(RUN_ID), pages=2, rows=2, next=None)
    assert len(genesys.calls("GET", JOB_PATH)) == 2


def test_fetch_pages_resumes_at_the_checkpoint_without_asking_for_the_status(
    aws: Any, genesys: FakeGenesys
) -> None:
    # GIVEN a complete job whose first page is stored, and where storing left off
    left_off = Raw(layout.raw_prefix(RUN_ID), pages=1, rows=1, next=PageCursor(2, "p2"))
    BucketStore(aws, BUCKET).write_checkpoint(RUN_ID, left_off)
    running = running_state(raw=left_off)
    complete = dataclasses.replace(running, job=dataclasses.replace(running.job, state="complete"))
    genesys.add("GET", JOB_PATH, json_reply(200, page([entity("c2", 4, 0)])))

    # WHEN FetchPages runs
    state = RunState.from_json(poll_status.handler(complete.to_json(), context()))

    # THEN it asked only for page 2, with its cursor, and stored it
    [call] = genesys.calls("GET", JOB_PATH)
    assert call.query["after"] == ["p2"]
    assert state.raw == Raw(layout.raw_prefix(RUN_ID), pages=2, rows=2, next=None)
    assert state.job.polls == 0


@pytest.mark.parametrize(
    ("retry_after", "otherwise", "expected"), [(None, 4, 4), (12.2, 4, 13), (0.0, 0, 1)]
)
def test_genesys_waits_become_whole_seconds_never_shorter(
    retry_after: float | None, otherwise: int, expected: int
) -> None:
    assert wait_for_genesys(retry_after, otherwise=otherwise) == Wait(expected)


# --- Transform and Land ---------------------------------------------------------------------


def landed_state(aws: Any, tmp_path: Path, rows: list[dict[str, Any]], **query: Any) -> RunState:
    """A run through Transform: its raw page in the bucket, staged by the handler."""
    aws.put_object(Bucket=BUCKET, Key=layout.raw_page_key(RUN_ID, 1), Body=orjson.dumps(page(rows)))
    state = running_state(raw=Raw(layout.raw_prefix(RUN_ID), pages=1, rows=len(rows)))
    if query:
        state = RunState.from_json(
            {
                **state.to_json(),
                "query": parse_query(
                    {"interval": DAY.isoformat(), **query}, today=DAY + timedelta(days=1)
                ).to_dict(),
            }
        )
    return RunState.from_json(transform.handler(state.to_json(), context()))


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The metrics of the EMF line Powertools printed: name -> value."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    [emf] = lines
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: emf[name][0] if isinstance(emf[name], list) else emf[name] for name in names}


def test_land_reports_rows_and_the_share_of_429s(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a staged run of 300 requests of which 15 were answered 429
    state = landed_state(aws, tmp_path, [entity("c1", 200, 10), entity("c2", 100, 5)])
    capsys.readouterr()

    # WHEN it lands
    landed = RunState.from_json(land.handler(state.to_json(), context())).landed

    # THEN the metrics say 2 rows and 5 % rate limited
    assert landed is not None
    assert (landed.rows, landed.requests, landed.status429) == (2, 300, 15)
    assert emitted_metrics(capsys) == {
        c.METRIC_ROWS_LANDED: 2.0,
        c.METRIC_RATE_LIMITED_PERCENT: 5.0,
    }


@pytest.mark.parametrize(
    ("rows", "query"),
    [
        pytest.param([], {}, id="no requests"),
        pytest.param([entity("c1", 200, 10)], {"metrics": ["Requests"]}, id="429 not asked for"),
    ],
)
def test_land_reports_no_share_of_429s_it_cannot_know(
    aws: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: list[dict[str, Any]],
    query: dict[str, Any],
) -> None:
    state = landed_state(aws, tmp_path, rows, **query)
    capsys.readouterr()
    land.handler(state.to_json(), context())
    assert emitted_metrics(capsys) == {c.METRIC_ROWS_LANDED: float(len(rows))}


def test_one_call_forgets_everything_a_warm_container_keeps(aws: Any) -> None:
    # GIVEN a warm container: its clients, HTTP session and settings made once and kept
    kept = (aws_client("s3"), http_session(), TransformSettings.current())
    assert (aws_client("s3"), http_session(), TransformSettings.current()) == kept
    assert aws_client("s3") is kept[0] and http_session() is kept[1]

    # WHEN the local runtime starts a new container
    forget_all()

    # THEN each is made again
    assert aws_client("s3") is not kept[0]
    assert http_session() is not kept[1]
    assert TransformSettings.current() is not kept[2]
