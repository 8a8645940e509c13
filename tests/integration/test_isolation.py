"""Tests share one pipeline: whatever a test leaves behind, the next test never sees.

The first test below leaves every kind of state a test can leave; the second, run right after it,
reads each one back and finds none of it. The third asks for a pipeline of its own.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from local.genesys_simulator import SimulatorServer
from local.harness import LocalPipeline
from tests.integration.conftest import FAST_POLLING, POLLS_UNTIL_DONE, TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration

LEFT_BEHIND: dict[str, Any] = {}
STRAY_KEY = "raw/left-behind-by-a-test.json"


def _versions(pipeline: LocalPipeline, bucket: str) -> list[str]:
    page = pipeline.client("s3").list_object_versions(Bucket=bucket)
    return [item["Key"] for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]


def test_a_test_may_leave_every_kind_of_state_behind(pipeline: LocalPipeline) -> None:
    # GIVEN a landed run: objects in the bucket, an execution, a crawl, simulator counts, a token
    assert pipeline.execute({"interval": window(1, 0)}).status == "SUCCEEDED"
    assert pipeline.resources is not None and pipeline.resources.results_bucket is not None
    s3 = pipeline.client("s3")
    # AND an object overwritten and then deleted: two versions and a delete marker
    for body in (b"1", b"2"):
        s3.put_object(Bucket=pipeline.source_bucket, Key=STRAY_KEY, Body=body)
    s3.delete_object(Bucket=pipeline.source_bucket, Key=STRAY_KEY)
    s3.put_object(Bucket=pipeline.resources.results_bucket, Key="athena/result.csv", Body=b"x")
    # AND another secret, another Lambda environment, simulator settings and unfired faults
    pipeline.client("secretsmanager").put_secret_value(
        SecretId=pipeline.resources.secret_id,
        SecretString=json.dumps({"clientId": "other", "clientSecret": "other"}),
    )
    pipeline.override_environment(JOB_TIMEOUT_SECONDS="40", NOT_IN_THE_TEMPLATE="1")
    pipeline.simulator.configure(polls_until_done=5, page_size=10)
    pipeline.simulator.set_fault("malformed-page", page=7)
    # AND an execution still running when the test ends (its job never finishes)
    pipeline.simulator.set_fault("job-stuck")
    pipeline.start({"interval": window(2, 0)})

    # THEN all of it is there when the test ends
    assert len(pipeline.leftovers()) == 10, pipeline.leftovers()
    LEFT_BEHIND["pipeline"] = pipeline


def test_the_next_test_sees_none_of_it(pipeline: LocalPipeline) -> None:
    # GIVEN the pipeline the test above left dirty (when it ran first, as in a whole run)
    if LEFT_BEHIND:
        assert LEFT_BEHIND["pipeline"] is pipeline  # reset, not replaced by a fresh one
    assert pipeline.resources is not None and pipeline.resources.results_bucket is not None

    # THEN no object, version or delete marker is in either bucket
    assert _versions(pipeline, pipeline.source_bucket) == []
    assert _versions(pipeline, pipeline.resources.results_bucket) == []
    # AND no execution, running or past, and a crawler that never crawled
    sfn = pipeline.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=pipeline.resources.state_machine_arn)
    assert executions["executions"] == []
    assert pipeline.resources.crawler is not None
    crawler = pipeline.client("glue").get_crawler(Name=pipeline.resources.crawler)["Crawler"]
    assert (crawler["State"], "LastCrawl" in crawler) == ("READY", False)
    # AND the secret, the Lambda environment and the simulator are as started
    secret = pipeline.client("secretsmanager").get_secret_value(
        SecretId=pipeline.resources.secret_id
    )
    assert json.loads(secret["SecretString"])["clientId"] == "local-client"
    template_environment = pipeline.resources.lambdas["handlers.poll_status.handler"].environment
    assert os.environ["JOB_TIMEOUT_SECONDS"] == template_environment["JOB_TIMEOUT_SECONDS"]
    assert os.environ["POLL_MAX_WAIT_SECONDS"] == FAST_POLLING["POLL_MAX_WAIT_SECONDS"]
    assert "NOT_IN_THE_TEMPLATE" not in os.environ
    assert pipeline.simulator.faults() == []
    started = SimulatorServer(polls_until_done=POLLS_UNTIL_DONE, today=TODAY)
    assert pipeline.simulator.configure() == started.configure()
    assert pipeline.simulator.stats()["totalRequests"] == 0


def test_a_test_can_have_a_pipeline_of_its_own(make_pipeline: Any) -> None:
    # GIVEN a pipeline of its own: another organization, other client credentials
    own: LocalPipeline = make_pipeline(seed=7, client_id="own-client", client_secret="own-secret")

    # WHEN it runs
    report = own.execute({"interval": window(1, 0)})

    # THEN it logged in with its own credentials and landed its organization's ground truth,
    # which is not the shared organization's
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert own.simulator.stats()["tokensIssued"] == 1
    execution_input = {"interval": window(1, 0)}
    expected = expected_rows(own.simulator, execution_input, TODAY)
    assert landed_rows(own.usage_rows()) == expected
    assert expected != expected_rows(SimulatorServer(), execution_input, TODAY)
