"""IAM as deployed: each function calls AWS as its own role from the template, and moto refuses
what that role does not allow, as AWS would."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.harness import DEFAULT_TEMPLATE, LocalPipeline
from local.template_resources import load_template, resources_of_type
from tests.integration.conftest import days_ago, window
from usage_pipeline import constants as rc
from usage_pipeline import layout

pytestmark = pytest.mark.integration

REFUSED = {"AccessDenied", "AccessDeniedException"}
Call = Callable[[LocalPipeline], Any]


def _put(handler: str, key: str) -> Call:
    def put(pipeline: LocalPipeline) -> Any:
        s3 = pipeline.client_as(handler, "s3")
        return s3.put_object(Bucket=pipeline.source_bucket, Key=key, Body=b"{}")

    return put


def _list(handler: str, prefix: str) -> Call:
    def list_keys(pipeline: LocalPipeline) -> Any:
        s3 = pipeline.client_as(handler, "s3")
        return s3.list_objects_v2(Bucket=pipeline.source_bucket, Prefix=prefix)

    return list_keys


def _read_secret(handler: str) -> Call:
    def read(pipeline: LocalPipeline) -> Any:
        secrets = pipeline.client_as(handler, "secretsmanager")
        assert pipeline.resources is not None
        return secrets.get_secret_value(SecretId=pipeline.resources.secret_id)

    return read


@dataclass(frozen=True)
class Boundary:
    """One call a function's role may make and one it may not."""

    allowed: Call
    refused: Call
    # The object the refused call would have written (it must not exist), if it writes one.
    refused_write: str | None = None


BOUNDARIES = {
    "submit reads the secret, not S3": Boundary(
        allowed=_read_secret(rc.HANDLER_SUBMIT_QUERY),
        refused=_list(rc.HANDLER_SUBMIT_QUERY, rc.RAW_PREFIX),
    ),
    "poll writes raw/, not usage/": Boundary(
        allowed=_put(rc.HANDLER_POLL_STATUS, f"{rc.RAW_PREFIX}run=x/page-00001.json.gz"),
        refused=_put(rc.HANDLER_POLL_STATUS, f"{rc.USAGE_PREFIX}x.parquet"),
        refused_write=f"{rc.USAGE_PREFIX}x.parquet",
    ),
    "transform writes staging/, not usage/": Boundary(
        allowed=_put(rc.HANDLER_TRANSFORM, f"{rc.STAGING_PREFIX}run=x/index.json"),
        refused=_put(rc.HANDLER_TRANSFORM, f"{rc.USAGE_PREFIX}x.parquet"),
        refused_write=f"{rc.USAGE_PREFIX}x.parquet",
    ),
    "land finds the staging index, reads no secret": Boundary(
        allowed=_list(rc.HANDLER_LAND, layout.staging_index_key("x")),
        refused=_read_secret(rc.HANDLER_LAND),
    ),
    "poll finds its checkpoint, lists no pages (s3:prefix)": Boundary(
        allowed=_list(rc.HANDLER_POLL_STATUS, layout.raw_progress_key("x")),
        refused=_list(rc.HANDLER_POLL_STATUS, layout.raw_prefix("x")),
    ),
}


@pytest.mark.parametrize("boundary", BOUNDARIES.values(), ids=BOUNDARIES.keys())
def test_a_function_may_do_what_its_role_grants_and_nothing_else(
    pipeline: LocalPipeline, boundary: Boundary
) -> None:
    # WHEN the function's role makes a call its policy allows, then one it does not
    boundary.allowed(pipeline)
    with pytest.raises(ClientError) as refused:
        boundary.refused(pipeline)

    # THEN the second is refused as AWS refuses it, and wrote nothing
    assert refused.value.response["Error"]["Code"] in REFUSED
    if boundary.refused_write is not None:
        assert boundary.refused_write not in pipeline.keys(rc.USAGE_PREFIX)


# --- a grant taken out of a copy of the template ------------------------------------------------


def _function_role_statements(template: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """The statements of the role of the function running ``handler``."""
    functions = resources_of_type(template, "AWS::Lambda::Function")
    (role_ref,) = [
        f["Properties"]["Role"] for f in functions.values() if f["Properties"]["Handler"] == handler
    ]
    return _role_statements(template, role_ref["Fn::GetAtt"][0])


def _role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements: list[dict[str, Any]] = policy["Statement"]
    return statements


def _by_sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (statement,) = [s for s in statements if s.get("Sid") == sid]
    return statement


def without_land_finding_the_staging_index(template: dict[str, Any]) -> None:
    statements = _function_role_statements(template, rc.HANDLER_LAND)
    statements.remove(_by_sid(statements, "FindStagingIndex"))


def without_poll_writing_raw(template: dict[str, Any]) -> None:
    statements = _function_role_statements(template, rc.HANDLER_POLL_STATUS)
    statements.remove(_by_sid(statements, "WriteRawPages"))


def without_the_machine_invoking_transform(template: dict[str, Any]) -> None:
    ((_, machine),) = resources_of_type(template, "AWS::StepFunctions::StateMachine").items()
    statements = _role_statements(template, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    functions = resources_of_type(template, "AWS::Lambda::Function")
    (transform_id,) = [
        logical_id
        for logical_id, f in functions.items()
        if f["Properties"]["Handler"] == rc.HANDLER_TRANSFORM
    ]
    invoking = [s for s in statements if transform_id in json.dumps(s.get("Resource"))]
    assert [s["Action"] for s in invoking] == ["lambda:InvokeFunction"]
    statements.remove(invoking[0])


@pytest.mark.parametrize(
    ("take_out", "failed_state", "error", "action"),
    [
        (without_land_finding_the_staging_index, "LandFailed", "AccessDenied", "s3:ListBucket"),
        (without_poll_writing_raw, "PollStatusFailed", "AccessDenied", "s3:PutObject"),
        (
            without_the_machine_invoking_transform,
            "TransformFailed",
            "Lambda.AccessDeniedException",
            "lambda:InvokeFunction",
        ),
    ],
    ids=["land may not list staging/", "poll may not write raw/", "no invoking transform"],
)
def test_a_grant_missing_from_the_template_fails_the_run_by_name(
    make_pipeline: Any,
    tmp_path: Path,
    take_out: Callable[[dict[str, Any]], None],
    failed_state: str,
    error: str,
    action: str,
) -> None:
    # GIVEN the synthesized template with one grant taken out
    template = load_template(DEFAULT_TEMPLATE)
    take_out(template)
    copy = tmp_path / "template.json"
    copy.write_text(json.dumps(template), encoding="utf-8")
    pipeline: LocalPipeline = make_pipeline(template_path=copy)

    # WHEN a run needs it
    report = pipeline.execute({"interval": window(1, 0)})

    # THEN the run fails in that task's Fail state with AWS's error, naming the action refused,
    # and lands nothing
    assert report.status == "FAILED"
    assert report.states[-1] == failed_state
    assert report.error == error
    assert action in (report.cause or "")
    assert pipeline.keys(rc.USAGE_PREFIX) == []


def test_land_deletes_a_stray_object_of_a_partition_with_its_own_grant(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN an object other than the partition's own under yesterday's partition
    partition = layout.partition(
        rc.DEFAULT_API, rc.DEFAULT_GRANULARITY, rc.DEFAULT_GROUPING, days_ago(1)
    )
    prefix = layout.partition_prefix(partition)
    pipeline.client("s3").put_object(
        Bucket=pipeline.source_bucket, Key=f"{prefix}stray.parquet", Body=b"old"
    )

    # WHEN a run replaces that partition (land deletes the stray object, as its own role)
    report = pipeline.execute({"interval": window(1, 0)})

    # THEN the run succeeded and only the partition's own object is left
    assert report.succeeded, report.cause
    assert pipeline.keys(prefix) == [layout.partition_key(partition)]


def test_land_again_for_a_landed_run_answers_from_its_manifest_with_its_own_grant(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN a landed run, and what the state machine gave land (as a retry would give it again)
    report = pipeline.execute({"interval": window(1, 0)})
    assert report.succeeded, report.cause
    (land_input,) = [
        event["stateEnteredEventDetails"]["input"]
        for event in pipeline.history(report.arn)
        if event["type"] == "TaskStateEntered"
        and event["stateEnteredEventDetails"]["name"] == "Land"
    ]
    assert pipeline.resources is not None
    land = pipeline.resources.lambdas[rc.HANDLER_LAND].name
    landed_before = pipeline.usage_rows_by_key()

    # WHEN land runs again (it reads the manifest back, as its own role)
    answer = pipeline.client("lambda").invoke(FunctionName=land, Payload=land_input)

    # THEN it answers from the manifest and changes nothing
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["landed"]["alreadyLanded"] is True
    assert pipeline.usage_rows_by_key() == landed_before
