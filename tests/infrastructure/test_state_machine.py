"""The state machine's definition, parsed out of the template, against docs/contracts.md 3 and 4."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.functions import FUNCTIONS, FunctionSpec
from stacks.retry_policy import BACKOFF_RATE, retriers
from tests.infrastructure.helpers import (
    function_by_handler,
    grants,
    one,
    render,
    role_statements,
    state_machine_definition,
)
from usage_pipeline import constants as rc

TASKS = {  # state: (handler, Lambda timeout, Fail state of its Catch, calls Genesys)
    "SubmitQuery": (rc.HANDLER_SUBMIT_QUERY, 60, "SubmitQueryFailed", True),
    "PollStatus": (rc.HANDLER_POLL_STATUS, 300, "PollStatusFailed", True),
    "FetchPages": (rc.HANDLER_POLL_STATUS, 300, "FetchPagesFailed", True),
    "Transform": (rc.HANDLER_TRANSFORM, 900, "TransformFailed", False),
    "Land": (rc.HANDLER_LAND, 300, "LandFailed", False),
}
NOT_RETRIED = {
    "InvalidInput",
    "SecretInvalid",
    "GenesysAuthError",
    "GenesysRequestRejected",
    "PageMalformed",
    "PageTruncated",
    "CursorLoop",
    "RowInvalid",
    "States.ALL",
    "States.TaskFailed",
}


@pytest.fixture(scope="module")
def definition(template_json: dict[str, Any]) -> dict[str, Any]:
    return state_machine_definition(template_json)


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(definition["States"])


def test_machine_is_standard_with_logging_tracing_and_a_timeout(
    template_json: dict[str, Any], definition: dict[str, Any]
) -> None:
    _, machine = one(template_json, "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert "StateMachineName" not in props
    # jobTimeoutMinutes (60) plus room for download, transform and land.
    assert definition["TimeoutSeconds"] > 60 * 60 + 300 + 900 + 300
    assert definition["StartAt"] == "SubmitQuery"


def test_states_and_flow(states: dict[str, dict[str, Any]]) -> None:
    assert set(states) == {
        "SubmitQuery",
        "WaitForJob",
        "PollStatus",
        "JobState",
        "PagesLeft",
        "WaitForPages",
        "FetchPages",
        "Transform",
        "Land",
        "Done",
        "GenesysJobFailed",
        "GenesysJobCancelled",
        "GenesysJobTimedOut",
        "UnknownJobState",
        "SubmitQueryFailed",
        "PollStatusFailed",
        "FetchPagesFailed",
        "TransformFailed",
        "LandFailed",
    }
    assert states["SubmitQuery"]["Next"] == "WaitForJob"
    assert states["WaitForJob"] == {
        "Type": "Wait",
        "SecondsPath": "$.wait.seconds",
        "Next": "PollStatus",
        "Comment": states["WaitForJob"]["Comment"],
    }
    assert states["PollStatus"]["Next"] == "JobState"
    assert states["WaitForPages"] == {
        "Type": "Wait",
        "SecondsPath": "$.wait.seconds",
        "Next": "FetchPages",
        "Comment": states["WaitForPages"]["Comment"],
    }
    assert states["FetchPages"]["Next"] == "PagesLeft"
    assert states["Transform"]["Next"] == "Land"
    assert states["Land"]["Next"] == "Done"
    assert states["Done"]["Type"] == "Succeed"


def test_choice_switches_on_job_state(states: dict[str, dict[str, Any]]) -> None:
    choice = states["JobState"]
    assert choice["Type"] == "Choice"
    branches = {(b["Variable"], b["StringEquals"]): b["Next"] for b in choice["Choices"]}
    assert branches == {
        ("$.job.state", rc.JOB_RUNNING): "WaitForJob",
        ("$.job.state", rc.JOB_COMPLETE): "PagesLeft",
        ("$.job.state", rc.JOB_FAILED): "GenesysJobFailed",
        ("$.job.state", rc.JOB_CANCELLED): "GenesysJobCancelled",
        ("$.job.state", rc.JOB_TIMED_OUT): "GenesysJobTimedOut",
    }
    assert states[choice["Default"]]["Type"] == "Fail"
    for name in ("GenesysJobFailed", "GenesysJobCancelled", "GenesysJobTimedOut"):
        assert states[name] == {"Type": "Fail", "Error": name, "CausePath": "$.job.message"}


def test_pages_left_loops_while_a_cursor_is_left(states: dict[str, dict[str, Any]]) -> None:
    # raw.next present and not null: pages remain (docs/contracts.md section 3)
    choice = states["PagesLeft"]
    (branch,) = choice["Choices"]
    assert branch["Next"] == "WaitForPages"
    assert branch["And"] == [
        {"Variable": "$.raw.next", "IsPresent": True},
        {"Variable": "$.raw.next", "IsNull": False},
    ]
    assert choice["Default"] == "Transform"


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_invokes_its_function_and_passes_the_state_document(
    template_json: dict[str, Any], states: dict[str, dict[str, Any]], name: str
) -> None:
    handler, _, _, _ = TASKS[name]
    task = states[name]
    function_id, _ = function_by_handler(template_json, handler)
    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == f"<{function_id}.Arn>"
    assert task["OutputPath"] == "$.Payload"
    if name == "SubmitQuery":
        assert task["Parameters"]["Payload"] == {
            "input.$": "$",
            "execution": {
                "id.$": "$$.Execution.Id",
                "name.$": "$$.Execution.Name",
                "startTime.$": "$$.Execution.StartTime",
            },
        }
    else:
        assert task["Parameters"]["Payload.$"] == "$"


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_timeout_retry_and_catch(states: dict[str, dict[str, Any]], name: str) -> None:
    _, lambda_timeout, fail_state, calls_genesys = TASKS[name]
    task = states[name]
    assert lambda_timeout < task["TimeoutSeconds"] <= lambda_timeout + 60
    retried: set[str] = set()
    for retrier in task["Retry"]:
        assert retrier["BackoffRate"] >= 1.5
        # Rate limiting is retried without jitter: a jittered retry could beat Retry-After.
        rate_limited = retrier["ErrorEquals"] == ["GenesysRateLimited"]
        assert retrier["JitterStrategy"] == ("NONE" if rate_limited else "FULL")
        assert retrier["MaxDelaySeconds"] <= 60
        assert retrier["IntervalSeconds"] <= 5  # moto's interpreter really sleeps
        assert 2 <= retrier["MaxAttempts"] <= 5
        retried |= set(retrier["ErrorEquals"])
    assert {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    } <= retried
    genesys = {"GenesysUnavailable", "GenesysRateLimited"}
    assert (genesys <= retried) is calls_genesys
    assert not retried & NOT_RETRIED
    # SubmitQuery's input may be any JSON (a refused list or string): the error replaces it.
    error_at = "$" if name == "SubmitQuery" else "$.error"
    assert task["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": error_at, "Next": fail_state}
    ]
    assert states[fail_state] == {
        "Type": "Fail",
        "ErrorPath": f"{error_at}.Error",
        "CausePath": f"{error_at}.Cause",
    }


def test_machine_role_invokes_exactly_the_four_functions(template_json: dict[str, Any]) -> None:
    _, machine = one(template_json, "AWS::StepFunctions::StateMachine")
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invoked = {
        r for a, r in grants(role_statements(template_json, role)) if a.startswith("lambda:")
    }
    expected = set()
    for handler, _, _, _ in TASKS.values():
        function_id, _ = function_by_handler(template_json, handler)
        expected |= {f"<{function_id}.Arn>", f"<{function_id}.Arn>:*"}
    assert invoked == expected
    log_group = render(machine["Properties"]["LoggingConfiguration"]["Destinations"][0])
    assert "CloudWatchLogsLogGroup" in log_group


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.construct_id)
def test_each_function_has_a_task_retrying_as_the_retry_policy_says(
    template_json: dict[str, Any], states: dict[str, dict[str, Any]], spec: FunctionSpec
) -> None:
    # The task is named after its function's row and waits a little longer than the function.
    task = states[spec.construct_id]
    function_id, _ = function_by_handler(template_json, spec.handler)
    assert task["Parameters"]["FunctionName"] == f"<{function_id}.Arn>"
    assert spec.timeout_s < task["TimeoutSeconds"] <= spec.timeout_s + 60
    assert task["Retry"] == [
        {
            "ErrorEquals": list(retrier.errors),
            "IntervalSeconds": retrier.interval_s,
            "MaxAttempts": retrier.max_attempts,
            "BackoffRate": BACKOFF_RATE,
            "MaxDelaySeconds": retrier.max_delay_s,
            "JitterStrategy": retrier.jitter.value,
        }
        for retrier in retriers(
            calls_genesys=spec.calls_genesys, resumable=spec.resumes_after_interruption
        )
    ]


def test_only_resumable_tasks_retry_an_interrupted_invocation(
    states: dict[str, dict[str, Any]],
) -> None:
    # A timed-out invocation is retried only where the function resumes from its checkpoint.
    interrupted = {"Sandbox.Timedout", "Lambda.Unknown", "States.Timeout"}
    for name in TASKS:
        retried = {error for r in states[name]["Retry"] for error in r["ErrorEquals"]}
        assert (interrupted <= retried) is (name in ("PollStatus", "FetchPages")), name
