"""transform: raw pages -> partitioned NDJSON, streamed page by page, staged in S3."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from usage_pipeline import layout
from usage_pipeline.errors import PageMalformed, RowCountMismatch, RowInvalid
from usage_pipeline.rows import (
    OUTPUT_COLUMNS,
    USAGE_COLUMNS,
    make_rows_normalizer,
    window_periods,
)
from usage_pipeline.state import to_json
from usage_pipeline.transform import (
    PREFETCH_PAGES,
    RowTails,
    TransformResult,
    ndjson_lines,
    prefetched,
    transform_pages,
    transform_run,
)

BUCKET = "source-bucket"
RUN_ID = "20261122T014000Z-3fa2b1c0"
LANDED_AT = "2026-11-22T01:41:07Z"
GROUPING = "httpmethod_oauthclientid_templateuri"


class MemorySink:
    """Partition chunks in memory, with the order of writes."""

    def __init__(self) -> None:
        self.data: dict[str, bytearray] = {}
        self.events: list[str] = []

    def write(self, day: str, chunk: bytes) -> None:
        self.data.setdefault(day, bytearray()).extend(chunk)
        self.events.append(f"write {day}")

    def rows(self, day: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in bytes(self.data[day]).splitlines()]


def _query(api: str, granularity: str, start: date, end: date) -> dict[str, Any]:
    return {
        "api": api,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "granularity": granularity,
        "grouping": GROUPING,
        "metrics": ["Requests", "Status200", "Status300", "Status400", "Status429", "Status500"],
        "requested": {"interval": f"{start.isoformat()}/{end.isoformat()}"},
    }


def _raw_row(api: str, day: date, index: int) -> dict[str, Any]:
    """A deterministic row of either API; names carry quotes, commas and non-ASCII."""
    status400 = index % 3
    counts = {
        "status200": 10 + index,
        "status300": 0,
        "status400": status400,
        "status429": status400 // 2,
        "status500": index % 2,
    }
    requests = counts["status200"] + status400 + counts["status500"]
    client_id, client_name = f"client-{index % 4}", f'Clïent "{index % 4}", ltd'
    template, method = f"api/v2/things/{index % 5}/{{id}}", ("GET", "POST")[index % 2]
    if api == "legacy":
        return {
            "clientId": client_id,
            "clientName": client_name,
            "organizationId": "",
            "userId": "",
            "templateUri": template,
            "httpMethod": method,
            **counts,
            "requests": requests,
            "date": f"{day.isoformat()}T00:00:00Z",
        }
    return {
        "date": day.isoformat(),
        "httpMethod": method,
        "templateUri": template,
        "requestCount": requests,
        **counts,
        "oauthClient": {"id": client_id, "name": client_name},
    }


def _pages(
    api: str, days: list[date], rows_per_day: int, page_size: int
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Gzip pages of the API's shape holding rows_per_day rows for each day, and the raw rows."""
    raw_rows = [_raw_row(api, day, i) for day in days for i in range(rows_per_day)]
    field, status = ("results", "Complete") if api == "legacy" else ("entities", "Succeeded")
    pages = [
        gzip.compress(orjson.dumps({"queryStatus": status, field: raw_rows[i : i + page_size]}))
        for i in range(0, len(raw_rows), page_size)
    ]
    return pages, raw_rows


def _run_core(pages: Any, query: dict[str, Any], sink: MemorySink) -> TransformResult:
    return transform_pages(
        pages,
        api=query["api"],
        granularity=query["granularity"],
        grouping=GROUPING,
        start=date.fromisoformat(query["start"]),
        end=date.fromisoformat(query["end"]),
        run_id=RUN_ID,
        landed_at=LANDED_AT,
        sink=sink,
    )


@pytest.mark.parametrize(
    ("api", "granularity", "start", "end", "data_periods"),
    [
        ("legacy", "Day", date(2026, 11, 1), date(2026, 11, 8), [0, 1, 2, 5]),
        ("aggregates", "Week", date(2026, 10, 5), date(2026, 11, 2), [0, 2, 3]),
        ("aggregates", "Month", date(2026, 1, 1), date(2026, 4, 1), [0, 2]),
        ("legacy", "Month", date(2025, 12, 1), date(2026, 2, 1), [1]),
    ],
)
def test_multi_page_results_land_in_their_partitions(
    api: str, granularity: str, start: date, end: date, data_periods: list[int]
) -> None:
    # GIVEN a multi-page result whose pages straddle periods, some periods without rows
    periods = window_periods(start, end, granularity)
    days = [periods[i] for i in data_periods]
    pages, raw_rows = _pages(api, days, rows_per_day=7, page_size=5)
    query = _query(api, granularity, start, end)
    sink = MemorySink()

    # WHEN the core transforms them
    result = _run_core(pages, query, sink)

    # THEN every period has a partition, rows sit under their date in API order,
    # each line is the normalized row, and the counts add up
    assert sorted(sink.data) == [p.isoformat() for p in periods]
    normalize = make_rows_normalizer(
        api, granularity=granularity, grouping=GROUPING, run_id=RUN_ID, landed_at=LANDED_AT
    )
    expected = normalize(raw_rows)
    for period in periods:
        day = period.isoformat()
        assert sink.rows(day) == [row for row in expected if row["date"] == day]
        assert result.partitions[day].rows == (7 if period in days else 0)
        assert result.partitions[day].sha256 == hashlib.sha256(sink.data[day]).hexdigest()
        assert result.partitions[day].size == len(sink.data[day])
    assert (result.pages, result.rows) == (len(pages), len(raw_rows))
    assert result.requests == sum(row["requests"] for row in expected)
    assert result.status429 == sum(row["status429"] for row in expected)


def test_pages_are_consumed_one_at_a_time() -> None:
    # GIVEN three pages served by a generator that logs when each is read
    pages, _ = _pages("legacy", [date(2026, 11, 1), date(2026, 11, 2)], 6, page_size=4)
    sink = MemorySink()

    def served() -> Iterator[bytes]:
        for number, page in enumerate(pages, start=1):
            sink.events.append(f"read {number}")
            yield page

    # WHEN transformed
    _run_core(served(), _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 3)), sink)

    # THEN each page's rows are written before the next page is read
    reads = [event for event in sink.events if event.startswith("read")]
    assert reads == ["read 1", "read 2", "read 3"]
    for number in (1, 2):
        after = sink.events[sink.events.index(f"read {number}") + 1]
        assert after.startswith("write"), sink.events


def test_prefetch_reads_a_bounded_number_of_pages_ahead() -> None:
    # GIVEN ten pages served by a generator that counts reads
    reads: list[int] = []

    def served() -> Iterator[bytes]:
        for number in range(1, 11):
            reads.append(number)
            yield str(number).encode()

    # WHEN the consumer takes them slowly
    seen = []
    for page in prefetched(served()):
        time.sleep(0.002)
        seen.append((int(page), len(reads)))

    # THEN all arrive in order and the producer never ran more than the queue + 2 pages ahead
    assert [number for number, _ in seen] == list(range(1, 11))
    assert all(read <= number + PREFETCH_PAGES + 2 for number, read in seen)


def test_prefetch_hands_the_producer_error_to_the_consumer() -> None:
    # GIVEN a page source that fails on its second page
    def served() -> Iterator[bytes]:
        yield b"1"
        raise PageMalformed("page 2: gone")

    # WHEN / THEN the consumer gets the first page, then the error
    pages = prefetched(served())
    assert next(pages) == b"1"
    with pytest.raises(PageMalformed, match="page 2: gone"):
        next(pages)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b'{"queryStatus": "Complete", "results": [', "not valid"),
        (gzip.compress(b"not json"), "not valid"),
        (b"\x1f\x8b\x08garbage", "not valid"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"queryStatus": "Complete", "results": {}}', "'results' is not an array"),
        (b'{"queryStatus": "Running"}', "queryStatus 'Running'"),
    ],
)
def test_malformed_page_is_refused_by_number(page: bytes, message: str) -> None:
    # GIVEN a good first page and a malformed second one
    good, _ = _pages("legacy", [date(2026, 11, 1)], 2, page_size=2)

    # WHEN / THEN the error names page 2
    with pytest.raises(PageMalformed, match=rf"page 2: .*{message}"):
        _run_core(
            [good[0], page],
            _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2)),
            MemorySink(),
        )


def test_invalid_row_names_page_row_and_field() -> None:
    # GIVEN a second page whose row 1 has a negative status200
    pages, raw_rows = _pages("aggregates", [date(2026, 11, 1)], 4, page_size=2)
    bad = [raw_rows[2], raw_rows[3] | {"status200": -5}]
    pages[1] = orjson.dumps({"queryStatus": "Succeeded", "entities": bad})

    # WHEN / THEN
    with pytest.raises(RowInvalid, match=r"page 2 row 1: field 'status200': -5"):
        _run_core(
            pages, _query("aggregates", "Day", date(2026, 11, 1), date(2026, 11, 2)), MemorySink()
        )


def test_row_outside_the_query_window_is_refused() -> None:
    # GIVEN a row dated the day after the window
    pages, _ = _pages("legacy", [date(2026, 11, 2)], 1, page_size=1)

    # WHEN / THEN
    with pytest.raises(RowInvalid, match=r"page 1 row 0: field 'date'.*outside the query window"):
        _run_core(
            pages, _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2)), MemorySink()
        )


def test_ndjson_lines_survive_hostile_names() -> None:
    # GIVEN rows whose names contain what looks like a row boundary, newlines and quotes
    normalize = make_rows_normalizer(
        "legacy", granularity="Day", grouping="g", run_id=RUN_ID, landed_at=LANDED_AT
    )
    raw = _raw_row("legacy", date(2026, 11, 1), 0)
    names = ['},{"oauth_client_id":"x', "line\nbreak", 'a"b\\', "日本語, ok"]
    rows = normalize([raw | {"clientName": name} for name in names])
    usage = [{column: row[column] for column in USAGE_COLUMNS} for row in rows]
    tails = RowTails("legacy", RUN_ID, LANDED_AT, "Day", "g")

    # WHEN serialized as NDJSON
    lines = ndjson_lines(usage, tails["2026-11-01"]).splitlines()

    # THEN one line per row, each the row itself, keys in order
    assert [orjson.loads(line) for line in lines] == rows
    assert [list(orjson.loads(line)) for line in lines] == [list(OUTPUT_COLUMNS)] * len(rows)
    assert ndjson_lines([], tails["2026-11-01"]) == b""


# --- transform_run against S3 (moto) -------------------------------------------------------------


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def _put_raw_pages(s3: Any, pages: list[bytes]) -> dict[str, Any]:
    for number, page in enumerate(pages, start=1):
        s3.put_object(Bucket=BUCKET, Key=layout.raw_page_key(RUN_ID, number), Body=page)
    return {"prefix": layout.raw_prefix(RUN_ID), "pages": len(pages)}


def _keys(s3: Any, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_transform_run_stages_every_period(s3: Any, tmp_path: Path) -> None:
    # GIVEN raw pages of a 3-day Day query with rows on the first and last day only
    start = date(2026, 11, 1)
    days = [start, start + timedelta(days=2)]
    pages, raw_rows = _pages("legacy", days, rows_per_day=3, page_size=4)
    raw = _put_raw_pages(s3, pages) | {"rows": len(raw_rows)}
    query = _query("legacy", "Day", start, start + timedelta(days=3))

    # WHEN transformed
    staged = to_json(
        transform_run(
            s3_client=s3,
            bucket=BUCKET,
            run_id=RUN_ID,
            query=query,
            raw=raw,
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    )

    # THEN all three partitions are staged (the middle one empty), with a matching index
    keys = [
        layout.staging_key(RUN_ID, "Day", GROUPING, start + timedelta(days=i)) for i in (0, 1, 2)
    ]
    assert _keys(s3, layout.staging_prefix(RUN_ID)) == sorted(
        [*keys, layout.staging_index_key(RUN_ID)]
    )
    bodies = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys]
    assert [len(body.splitlines()) for body in bodies] == [3, 0, 3]
    assert bodies[1] == b""
    assert staged == {
        "prefix": layout.staging_prefix(RUN_ID),
        "indexKey": layout.staging_index_key(RUN_ID),
        "partitions": 3,
        "rows": 6,
        "requests": staged["requests"],
        "status429": staged["status429"],
        "partitionRows": {
            f"day/{GROUPING}/2026-11-01": 3,
            f"day/{GROUPING}/2026-11-02": 0,
            f"day/{GROUPING}/2026-11-03": 3,
        },
    }
    assert staged["requests"] == sum(row["requests"] for row in raw_rows)
    index = orjson.loads(s3.get_object(Bucket=BUCKET, Key=staged["indexKey"])["Body"].read())
    assert [entry["sha256"] for entry in index["partitions"]] == [
        hashlib.sha256(body).hexdigest() for body in bodies
    ]
    assert [entry["bytes"] for entry in index["partitions"]] == [len(body) for body in bodies]
    # and the local work files are gone (Lambda /tmp outlives an invocation)
    assert list(tmp_path.iterdir()) == []


def test_transform_run_metric_not_asked_has_no_total(s3: Any, tmp_path: Path) -> None:
    # GIVEN a query that did not ask for Requests
    pages, raw_rows = _pages("legacy", [date(2026, 11, 1)], 2, page_size=2)
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))
    query["metrics"] = ["Status429"]

    # WHEN transformed
    staged = to_json(
        transform_run(
            s3_client=s3,
            bucket=BUCKET,
            run_id=RUN_ID,
            query=query,
            raw=_put_raw_pages(s3, pages),
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    )

    # THEN its total is null (unknown), not 0
    assert staged["requests"] is None
    assert staged["status429"] == sum(row["status429"] for row in raw_rows)


def test_malformed_page_stages_nothing(s3: Any, tmp_path: Path) -> None:
    # GIVEN a run whose second raw page is cut short
    pages, _ = _pages("aggregates", [date(2026, 11, 1)], 4, page_size=2)
    pages[1] = gzip.decompress(pages[1])[:-10]
    raw = _put_raw_pages(s3, pages)

    # WHEN / THEN the transform fails and nothing is staged
    with pytest.raises(PageMalformed, match="page 2"):
        transform_run(
            s3_client=s3,
            bucket=BUCKET,
            run_id=RUN_ID,
            query=_query("aggregates", "Day", date(2026, 11, 1), date(2026, 11, 2)),
            raw=raw,
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    assert _keys(s3, "staging/") == []
    assert list(tmp_path.iterdir()) == []


def test_rows_received_must_match_rows_read(s3: Any, tmp_path: Path) -> None:
    # GIVEN raw pages holding 4 rows while poll_status recorded 5
    pages, _ = _pages("legacy", [date(2026, 11, 1)], 4, page_size=2)
    raw = _put_raw_pages(s3, pages) | {"rows": 5}

    # WHEN / THEN
    with pytest.raises(RowCountMismatch, match="4 rows but 5"):
        transform_run(
            s3_client=s3,
            bucket=BUCKET,
            run_id=RUN_ID,
            query=_query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2)),
            raw=raw,
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    assert _keys(s3, "staging/") == []
