"""land: staged partitions replace the table's, the manifest is written last, the crawler starts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from local.harness import parquet_rows
from usage_pipeline import layout
from usage_pipeline.constants import DEFAULT_GROUPING, METRICS, PARTITION_CONTENT_TYPE
from usage_pipeline.errors import RowCountMismatch
from usage_pipeline.land import land_run
from usage_pipeline.query import NormalizedQuery
from usage_pipeline.staging import stage_run
from usage_pipeline.state import Raw, RunState, to_json
from usage_pipeline.storage import BucketStore

BUCKET = "source-bucket"
CRAWLER = "usage-crawler"
GROUPING = DEFAULT_GROUPING
DEFAULT_GROUP_BY = ("HttpMethod", "OauthClientId", "TemplateUri")
LANDED_AT = "2026-11-22T01:41:07Z"
NOW = datetime(2026, 11, 22, 1, 41, 30, tzinfo=UTC)
EXECUTION = {
    "id": "arn:aws:states:eu-west-1:123456789012:execution:m:e",
    "name": "e",
    "startTime": "2026-11-22T01:40:00Z",
}


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        glue = boto3.client("glue", region_name="eu-west-1")
        glue.create_crawler(
            Name=CRAWLER,
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName="usage",
            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/usage/"}]},
        )
        yield s3, glue


def _query(start: date, days: int, group_by: tuple[str, ...] = DEFAULT_GROUP_BY) -> dict[str, Any]:
    """The state document's query member of a Day run over ``days`` days from ``start``."""
    end = start + timedelta(days=days)
    query = NormalizedQuery(
        api="aggregates",
        start=start,
        end=end,
        granularity="Day",
        group_by=group_by,
        metrics=METRICS,
        aligned_from=None,
        requested={"interval": f"{start.isoformat()}/{end.isoformat()}"},
    )
    return query.to_dict()


def _partition(day: date, grouping: str = GROUPING) -> layout.Partition:
    return layout.partition("aggregates", "Day", grouping, day)


def _key(day: date, grouping: str = GROUPING) -> str:
    """The table's object of the Day partition of ``day``."""
    return layout.partition_key(_partition(day, grouping))


def _entity(day: date, client: str, requests: int) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "httpMethod": "GET",
        "templateUri": "api/v2/users/{userId}",
        "requestCount": requests,
        "status200": requests - 1,
        "status300": 0,
        "status400": 1,
        "status429": 1,
        "status500": 0,
        "oauthClient": {"id": client, "name": f"Client {client}"},
    }


def _stage_run(
    s3: Any, tmp_path: Path, run_id: str, query: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Raw pages + transform for a run: the state document as land receives it."""
    page = orjson.dumps({"queryStatus": "Succeeded", "entities": rows})
    s3.put_object(Bucket=BUCKET, Key=layout.raw_page_key(run_id, 1), Body=page)
    raw = Raw(prefix=layout.raw_prefix(run_id), pages=1, rows=len(rows))
    work = tmp_path / run_id
    work.mkdir()
    staged = stage_run(
        store=BucketStore(s3, BUCKET),
        run_id=run_id,
        query=NormalizedQuery.from_dict(query),
        raw=raw,
        landed_at=LANDED_AT,
        tmp_dir=work,
    )
    return {
        "runId": run_id,
        "execution": EXECUTION,
        "query": query,
        "job": {
            "api": "aggregates",
            "id": f"job-{run_id}",
            "state": "complete",
            "status": "Succeeded",
            "polls": 1,
            "submittedAt": "2026-11-22T01:40:01Z",
            "message": None,
        },
        "wait": {"seconds": 0},
        "raw": to_json(raw),
        "staged": to_json(staged),
    }


def _land(s3: Any, glue: Any, state: dict[str, Any]) -> dict[str, Any]:
    landed = land_run(
        store=BucketStore(s3, BUCKET),
        glue_client=glue,
        state=RunState.from_json(state),
        crawler_name=CRAWLER,
        now=NOW,
    )
    return to_json(landed)


def _usage(s3: Any, prefix: str = "usage/") -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed
    }


def _rows(body: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    """The rows of a partition object (a Parquet file)."""
    path = tmp_path / "read" / hashlib.sha256(body).hexdigest()
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(body)
    return parquet_rows([path])


def _versions(s3: Any) -> list[tuple[str, str, bool]]:
    listed = s3.list_object_versions(Bucket=BUCKET)
    entries = [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed.get("Versions", [])]
    markers = [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed.get("DeleteMarkers", [])]
    return sorted(entries + markers)


def test_land_replaces_partitions_and_removes_stale_objects(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN a partition already holding an old partition object and a stale extra file
    day = date(2026, 11, 20)
    prefix = layout.partition_prefix(_partition(day))
    key = _key(day)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"old")
    s3.put_object(Bucket=BUCKET, Key=prefix + "query-result.json", Body=b'{"stale": 1}\n')
    state = _stage_run(
        s3, tmp_path, "run-a", _query(day, 2), [_entity(day, "c1", 5), _entity(day, "c2", 7)]
    )

    # WHEN the run lands
    landed = _land(s3, glue, state)

    # THEN each partition holds only this run's object; the empty day is an object of no rows
    usage = _usage(s3)
    assert sorted(usage) == [
        _key(day),
        _key(day + timedelta(days=1)),
    ]
    lines = _rows(usage[key], tmp_path)
    assert [row["oauth_client_id"] for row in lines] == ["c1", "c2"]
    assert {row["run_id"] for row in lines} == {"run-a"}
    empty_day = usage[_key(day + timedelta(days=1))]
    assert _rows(empty_day, tmp_path) == []
    assert landed == {
        "manifestKey": "manifests/run=run-a.json",
        "partitions": 2,
        "rows": 2,
        "requests": 12,
        "status429": 2,
        "crawlerStarted": True,
        "crawlerAlreadyRunning": False,
        "landedAt": "2026-11-22T01:41:30Z",
        "alreadyLanded": False,
        "restated": 0,
    }
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"


def test_manifest_records_asked_received_and_landed(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN a staged run of one day
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-m", _query(day, 1), [_entity(day, "c1", 3)])

    # WHEN it lands
    _land(s3, glue, state)

    # THEN the manifest says what was asked, received and landed, with checksums and versions
    manifest = orjson.loads(
        s3.get_object(Bucket=BUCKET, Key="manifests/run=run-m.json")["Body"].read()
    )
    key = _key(day)
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert manifest["runId"] == "run-m"
    assert manifest["execution"] == EXECUTION
    assert manifest["api"] == "aggregates"
    assert manifest["job"] == {"api": "aggregates", "id": "job-run-m"}
    assert manifest["query"]["requested"] == {"interval": "2026-11-20/2026-11-21"}
    assert manifest["query"]["normalized"]["grouping"] == GROUPING
    assert "requested" not in manifest["query"]["normalized"]
    assert manifest["received"] == {"prefix": "raw/run=run-m/", "pages": 1, "rows": 1}
    assert manifest["landed"]["rows"] == 1
    assert manifest["landed"]["partitionRows"] == {f"aggregates/day/{GROUPING}/2026-11-20": 1}
    [partition] = manifest["partitions"]
    assert partition["key"] == key
    assert partition["rows"] == 1
    assert partition["bytes"] == len(body)
    assert partition["sha256"] == hashlib.sha256(body).hexdigest()
    assert partition["versionId"] == s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    assert manifest["landedAt"] == "2026-11-22T01:41:30Z"
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"]["run-id"] == "run-m"
    assert head["ContentType"] == PARTITION_CONTENT_TYPE


def test_landing_twice_changes_nothing(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN a landed run
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-b", _query(day, 1), [_entity(day, "c1", 3)])
    first = _land(s3, glue, state)
    versions = _versions(s3)
    glue.stop_crawler(Name=CRAWLER)

    # WHEN land runs again (a retry or a re-drive)
    second = _land(s3, glue, state)

    # THEN no object version changed and the same summary comes back
    assert _versions(s3) == versions
    assert second == first | {
        "crawlerStarted": False,
        "crawlerAlreadyRunning": False,
        "alreadyLanded": True,
    }


def test_overlapping_runs_leave_one_copy_per_partition(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN run A covering 20-21 Nov and a later run B covering 21-22 Nov
    d20, d21, d22 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)
    run_a = _stage_run(
        s3, tmp_path, "run-a", _query(d20, 2), [_entity(d20, "c1", 3), _entity(d21, "c1", 4)]
    )
    run_b = _stage_run(
        s3, tmp_path, "run-b", _query(d21, 2), [_entity(d21, "c1", 4), _entity(d22, "c1", 6)]
    )

    # WHEN both land (the crawler is still running for the second)
    _land(s3, glue, run_a)
    landed_b = _land(s3, glue, run_b)

    # THEN every partition holds its rows once, the shared day from the later run
    rows = [row for body in _usage(s3).values() for row in _rows(body, tmp_path)]
    assert sorted((row["date"], row["run_id"]) for row in rows) == [
        ("2026-11-20", "run-a"),
        ("2026-11-21", "run-b"),
        ("2026-11-22", "run-b"),
    ]
    assert landed_b["crawlerStarted"] is False
    assert landed_b["crawlerAlreadyRunning"] is True


def test_different_groupings_never_mix(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN two runs of the same day with different groupBy
    day = date(2026, 11, 20)
    by_client = _stage_run(
        s3, tmp_path, "run-c", _query(day, 1, ("OauthClientId",)), [_entity(day, "c1", 3)]
    )
    total = _stage_run(s3, tmp_path, "run-t", _query(day, 1, ()), [_entity(day, "c1", 3)])

    # WHEN both land
    _land(s3, glue, by_client)
    _land(s3, glue, total)

    # THEN each keeps its own partition
    assert sorted(_usage(s3)) == [
        _key(day, "oauthclientid"),
        _key(day, "total"),
    ]


def test_rows_received_must_equal_rows_landed(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN a state document claiming more rows received than were staged
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-x", _query(day, 1), [_entity(day, "c1", 3)])
    state["raw"] = state["raw"] | {"rows": 2}

    # WHEN / THEN land refuses and lands nothing
    with pytest.raises(RowCountMismatch, match="row counts differ"):
        _land(s3, glue, state)
    assert _usage(s3) == {}
    assert _usage(s3, "manifests/") == {}


def test_crawler_errors_other_than_running_are_raised(aws: Any, tmp_path: Path) -> None:
    s3, glue = aws
    # GIVEN a crawler name that does not exist
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-y", _query(day, 1), [_entity(day, "c1", 3)])

    # WHEN / THEN land fails after the data and manifest are in place (a retry returns it)
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        land_run(
            store=BucketStore(s3, BUCKET),
            glue_client=glue,
            state=RunState.from_json(state),
            crawler_name="missing",
            now=NOW,
        )
    assert "manifests/run=run-y.json" in _usage(s3, "manifests/")


class _PrefixScopedS3:
    """An S3 client as the land role sees it: ListBucket only by prefix, so reading a missing
    object is answered AccessDenied (403), never NoSuchKey (404)."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def _refuse_if_missing(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        listing = self._s3.list_objects_v2(Bucket=kwargs["Bucket"], Prefix=kwargs["Key"])
        if not any(item["Key"] == kwargs["Key"] for item in listing.get("Contents", [])):
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError(error, operation)
        return getattr(self._s3, operation.lower().replace("object", "_object"))(**kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        return self._refuse_if_missing("GetObject", **kwargs)

    def head_object(self, **kwargs: Any) -> Any:
        return self._refuse_if_missing("HeadObject", **kwargs)


def test_first_landing_works_when_missing_objects_read_as_access_denied(
    aws: Any, tmp_path: Path
) -> None:
    # GIVEN the land role's view of S3 (a missing manifest reads as AccessDenied, not 404)
    s3, glue = aws
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-403", _query(day, 1), [_entity(day, "c1", 3)])

    # WHEN a run lands for the first time
    landed = _land(_PrefixScopedS3(s3), glue, state)

    # THEN it lands instead of failing on the manifest it checked for
    assert landed["alreadyLanded"] is False
    assert landed["rows"] == 1


def test_a_missing_staging_index_is_a_row_count_mismatch_in_the_land_roles_view(
    aws: Any, tmp_path: Path
) -> None:
    # GIVEN a staged run whose index is gone, seen as the land role sees S3 (AccessDenied on a
    # missing object, as AWS answers a role whose ListBucket is limited to prefixes)
    s3, glue = aws
    day = date(2026, 11, 20)
    state = _stage_run(s3, tmp_path, "run-gone", _query(day, 1), [_entity(day, "c1", 3)])
    s3.delete_object(Bucket=BUCKET, Key=state["staged"]["indexKey"])

    # WHEN / THEN land fails with the documented error and lands nothing
    with pytest.raises(RowCountMismatch, match="no staging index"):
        _land(_PrefixScopedS3(s3), glue, state)
    assert _usage(s3) == {}
    assert _usage(s3, "manifests/") == {}


def test_a_partition_landed_again_with_other_rows_is_counted_as_restated(
    aws: Any, tmp_path: Path
) -> None:
    # GIVEN two days landed, then Genesys's numbers for the first day grow (late data)
    s3, glue = aws
    day, next_day = date(2026, 11, 20), date(2026, 11, 21)
    first = _stage_run(
        s3, tmp_path, "run-1", _query(day, 2), [_entity(day, "c1", 3), _entity(next_day, "c1", 5)]
    )
    assert _land(s3, glue, first)["restated"] == 0

    # WHEN a later run lands the same days, the first with other counts, the second unchanged
    later = _stage_run(
        s3, tmp_path, "run-2", _query(day, 2), [_entity(day, "c1", 9), _entity(next_day, "c1", 5)]
    )
    landed = _land(s3, glue, later)

    # THEN only the first day counts as restated, in the state and in the manifest
    assert landed["restated"] == 1
    manifest = orjson.loads(
        s3.get_object(Bucket=BUCKET, Key="manifests/run=run-2.json")["Body"].read()
    )
    assert manifest["landed"]["restated"] == [f"aggregates/day/{GROUPING}/2026-11-20"]
