"""transform: raw pages -> every row checked -> one zstd Parquet file a partition, staged in S3."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from local.harness import parquet_rows
from tests.unit.conftest import SOURCE_BUCKET as BUCKET
from usage_pipeline import layout
from usage_pipeline.constants import (
    GROUP_BY_BY_API,
    METRICS,
    PARTITION_CONTENT_TYPE,
    ROW_COUNT_COLUMNS,
)
from usage_pipeline.errors import PageMalformed, RowCountMismatch, RowInvalid
from usage_pipeline.periods import period_starts
from usage_pipeline.query import NormalizedQuery
from usage_pipeline.rows import OUTPUT_COLUMNS, make_rows_normalizer
from usage_pipeline.staging import download_pages, stage_run
from usage_pipeline.state import Raw, to_json
from usage_pipeline.storage import BucketStore
from usage_pipeline.transform import (
    TransformResult,
    duckdb_memory_limit_mb,
    page_files,
    partition_path,
    transform_pages,
    write_page,
)

RUN_ID = "20261122T014000Z-3fa2b1c0"
LANDED_AT = "2026-11-22T01:41:07Z"
GROUPING = "httpmethod_oauthclientid_templateuri"


def _query(api: str, granularity: str, start: date, end: date) -> NormalizedQuery:
    """The default groupBy (GROUPING), every metric."""
    return NormalizedQuery(
        api=api,
        start=start,
        end=end,
        granularity=granularity,
        group_by=tuple(name for name in GROUP_BY_BY_API[api] if name.lower() in GROUPING),
        metrics=METRICS,
        aligned_from=None,
        requested={"interval": f"{start.isoformat()}/{end.isoformat()}"},
    )


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


def _page(api: str, rows: list[Any], *, status: str | None = None) -> bytes:
    field, complete = ("results", "Complete") if api == "legacy" else ("entities", "Succeeded")
    return orjson.dumps({"queryStatus": status or complete, field: rows})


def _pages(
    api: str, days: list[date], rows_per_day: int, page_size: int
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Gzip pages of the API's shape holding rows_per_day rows for each day, and the raw rows."""
    raw_rows = [_raw_row(api, day, i) for day in days for i in range(rows_per_day)]
    pages = [
        gzip.compress(_page(api, raw_rows[i : i + page_size]))
        for i in range(0, len(raw_rows), page_size)
    ]
    return pages, raw_rows


def _run_core(
    pages: list[bytes], query: NormalizedQuery, tmp_path: Path
) -> tuple[TransformResult, Path]:
    pages_dir, out_dir, work_dir = tmp_path / "pages", tmp_path / "out", tmp_path / "work"
    for directory in (pages_dir, work_dir):
        directory.mkdir(exist_ok=True)
    paths = [write_page(pages_dir, number, page) for number, page in enumerate(pages, start=1)]
    result = transform_pages(
        paths,
        out_dir,
        api=query.api,
        granularity=query.granularity,
        grouping=query.grouping,
        start=query.start,
        end=query.end,
        run_id=RUN_ID,
        landed_at=LANDED_AT,
        work_dir=work_dir,
    )
    return result, out_dir


def _partition_file(out_dir: Path, granularity: str, grouping: str, day: str) -> Path:
    """The one partition file of (granularity, grouping, day) under ``out_dir``, whichever API."""
    part = partition_path(out_dir, "aggregates", granularity, grouping, day)
    relative = part.relative_to(out_dir).parts[1:]  # without api=<api>
    (found,) = [path for path in out_dir.glob("api=*/" + "/".join(relative)) if path.is_file()]
    return found


def _one_day_core(api: str, rows: list[Any], tmp_path: Path) -> list[dict[str, Any]]:
    """Transform one page of `rows` dated 2026-11-01 (a Day window of one day); return the rows."""
    query = _query(api, "Day", date(2026, 11, 1), date(2026, 11, 2))
    _, out_dir = _run_core([_page(api, rows)], query, tmp_path)
    return parquet_rows([_partition_file(out_dir, "Day", GROUPING, "2026-11-01")])


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
    api: str, granularity: str, start: date, end: date, data_periods: list[int], tmp_path: Path
) -> None:
    # GIVEN a multi-page result whose pages straddle periods, some periods without rows
    periods = period_starts(start, end, granularity)
    days = [periods[i] for i in data_periods]
    pages, raw_rows = _pages(api, days, rows_per_day=7, page_size=5)
    query = _query(api, granularity, start, end)

    # WHEN the core transforms them
    result, out_dir = _run_core(pages, query, tmp_path)

    # THEN every period has a partition file, rows sit under their date in API order, each row
    # is the normalized row, and the counts and checksums are those of the files
    files = sorted(out_dir.rglob("*"))
    expected_files = [
        _partition_file(out_dir, granularity, GROUPING, p.isoformat()) for p in periods
    ]
    assert [f for f in files if f.is_file()] == sorted(expected_files)
    normalize = make_rows_normalizer(
        api, granularity=granularity, grouping=GROUPING, run_id=RUN_ID, landed_at=LANDED_AT
    )
    expected = normalize(raw_rows)
    for period in periods:
        day = period.isoformat()
        path = _partition_file(out_dir, granularity, GROUPING, day)
        assert parquet_rows([path]) == [row for row in expected if row["date"] == day]
        tally = result.partitions[day]
        assert tally.rows == (7 if period in days else 0)
        assert tally.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert tally.size == path.stat().st_size
    assert (result.pages, result.rows) == (len(pages), len(raw_rows))
    assert result.requests == sum(row["requests"] for row in expected)
    assert result.status429 == sum(row["status429"] for row in expected)


def test_partition_files_are_zstd_parquet_with_the_table_types(tmp_path: Path) -> None:
    # GIVEN a Day window of two days, rows on the first only
    pages, _ = _pages("aggregates", [date(2026, 11, 1)], rows_per_day=3, page_size=2)
    query = _query("aggregates", "Day", date(2026, 11, 1), date(2026, 11, 3))

    # WHEN transformed
    _, out_dir = _run_core(pages, query, tmp_path)

    # THEN both files have every column of the schema, in order, typed (counts int64, the rest
    # UTF-8 strings), zstd-compressed; the empty day is a file of zero rows with that schema
    for day, rows in (("2026-11-01", 3), ("2026-11-02", 0)):
        path = str(_partition_file(out_dir, "Day", GROUPING, day))
        schema = duckdb.sql(
            "SELECT name, type, converted_type FROM parquet_schema($p) WHERE num_children IS NULL",
            params={"p": path},
        ).fetchall()
        assert [name for name, _, _ in schema] == list(OUTPUT_COLUMNS)
        for name, physical, annotation in schema:
            expected = ("INT64", "INT_64") if name in ROW_COUNT_COLUMNS else ("BYTE_ARRAY", "UTF8")
            assert (physical, annotation) == expected, name
        count = duckdb.sql("SELECT count(*) FROM read_parquet($p)", params={"p": path}).fetchall()
        assert count == [(rows,)]
    codecs = duckdb.sql(
        "SELECT DISTINCT compression FROM parquet_metadata($p)",
        params={"p": str(_partition_file(out_dir, "Day", GROUPING, "2026-11-01"))},
    ).fetchall()
    assert codecs == [("ZSTD",)]


def test_rows_describe_themselves(tmp_path: Path) -> None:
    # GIVEN one aggregates row
    entity = _raw_row("aggregates", date(2026, 11, 1), 3)

    # WHEN transformed
    [row] = _one_day_core("aggregates", [entity], tmp_path)

    # THEN the file says what the row means without its path: API, run, time, partition
    assert {column: row[column] for column in ("api", "run_id", "landed_at")} == {
        "api": "aggregates",
        "run_id": RUN_ID,
        "landed_at": LANDED_AT,
    }
    assert (row["granularity"], row["grouping"], row["date"]) == ("day", GROUPING, "2026-11-01")
    assert row["oauth_client_id"] == "client-3"
    assert row["requests"] == entity["requestCount"]


def test_names_survive_exactly(tmp_path: Path) -> None:
    # GIVEN names with quotes, backslashes, control characters, non-ASCII and what looks like
    # JSON, one sent with \\u escapes, and legacy's "" for a dimension not grouped
    names = ['},{"oauth_client_id":"x', "line\nbreak\ttab\x01", 'a"b\\', "日本語, ok", "\u2028"]
    base = _raw_row("legacy", date(2026, 11, 1), 0)
    rows = [base | {"clientName": name, "userId": ""} for name in names]
    escaped = orjson.dumps(base).replace(b'"Cl\xc3\xafent', b'"\\u0043l\\u00efent\\/')

    # WHEN transformed (the escaped row as its own page)
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))
    page = _page("legacy", rows)
    second = b'{"queryStatus":"Complete","results":[' + escaped + b"]}"
    _, out_dir = _run_core([page, second], query, tmp_path)
    landed = parquet_rows([_partition_file(out_dir, "Day", GROUPING, "2026-11-01")])

    # THEN every name is the exact text, "" is null, and \\u escapes are decoded
    assert [row["oauth_client_name"] for row in landed] == [*names, 'Clïent/ "0", ltd']
    assert {row["user_id"] for row in landed} == {None}


def test_integral_float_counts_become_integers(tmp_path: Path) -> None:
    # GIVEN a count sent as 4.0
    row = _raw_row("legacy", date(2026, 11, 1), 0) | {"requests": 4.0}

    # WHEN / THEN it lands as the integer 4
    [landed] = _one_day_core("legacy", [row], tmp_path)
    assert landed["requests"] == 4
    assert type(landed["requests"]) is int


def test_absent_dimensions_and_metrics_are_null(tmp_path: Path) -> None:
    # GIVEN an aggregates entity grouped by TemplateUri only, asked only Status429
    entity = {"date": "2026-11-01", "templateUri": "api/v2/users", "status429": 3}

    # WHEN / THEN every other column is null
    [row] = _one_day_core("aggregates", [entity], tmp_path)
    assert (row["template_uri"], row["status429"]) == ("api/v2/users", 3)
    for column in ("oauth_client_id", "user_id", "platform", "requests", "status200", "status500"):
        assert row[column] is None


# --- every rule of a row, through the whole transform ------------------------------------------

GOOD = {
    "clientId": "c-1",
    "clientName": "Client",
    "organizationId": "",
    "userId": "",
    "templateUri": "api/v2/users",
    "httpMethod": "GET",
    "status200": 3,
    "status300": 0,
    "status400": 1,
    "status429": 1,
    "status500": 0,
    "requests": 4,
    "date": "2026-11-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status200": -1}, r"field 'status200': -1 is not a non-negative integer"),
        ({"status429": True}, r"field 'status429': True is not a non-negative integer"),
        ({"requests": 2.5}, r"field 'requests': 2.5 is not a non-negative integer"),
        ({"requests": "4"}, r"field 'requests': '4' is not a non-negative integer"),
        ({"requests": 2**63}, r"field 'requests': 9223372036854775808 is not a non-negative"),
        ({"status500": [1]}, r"field 'status500': \[1\] is not a non-negative integer"),
        ({"clientName": 7}, r"field 'clientName': 7 is not a string"),
        ({"templateUri": {"a": 1}}, r"field 'templateUri': \{'a': 1\} is not a string"),
        ({"httpMethod": False}, r"field 'httpMethod': False is not a string"),
        ({"date": "2026-13-01"}, r"field 'date': '2026-13-01' is not a date"),
        ({"date": "2026-11-01T05:00:00Z"}, r"field 'date': '2026-11-01T05:00:00Z' is not a date"),
        ({"date": 20261101}, r"field 'date': 20261101 is not a date string"),
        ({"date": None}, r"field 'date': None is not a date string"),
        ({"date": "2026-11-02"}, r"field 'date': '2026-11-02' is outside the query window"),
    ],
)
def test_invalid_row_names_page_row_field_and_value(
    changes: dict[str, Any], message: str, tmp_path: Path
) -> None:
    # GIVEN a good first page and a second page whose row 1 has one bad value
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))
    pages = [gzip.compress(_page("legacy", [GOOD])), _page("legacy", [GOOD, GOOD | changes])]

    # WHEN / THEN the transform refuses it, naming page 2, row 1, the field and the value
    with pytest.raises(RowInvalid, match=rf"^page 2 row 1: {message}"):
        _run_core(pages, query, tmp_path)
    # AND writes no partition
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (None, r"page 1 row 1: None is not a JSON object"),
        ([1, 2], r"page 1 row 1: \[1, 2\] is not a JSON object"),
        ("row", r"page 1 row 1: 'row' is not a JSON object"),
    ],
)
def test_a_row_that_is_not_an_object_is_refused(row: Any, message: str, tmp_path: Path) -> None:
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))
    with pytest.raises(RowInvalid, match=message):
        _run_core([_page("legacy", [GOOD, row])], query, tmp_path)


def test_aggregates_objects_must_be_objects(tmp_path: Path) -> None:
    # GIVEN an entity whose oauthClient is a string
    entity = _raw_row("aggregates", date(2026, 11, 1), 0) | {"oauthClient": "c-1"}

    # WHEN / THEN it is refused by name
    with pytest.raises(RowInvalid, match=r"page 1 row 0: field 'oauthClient': 'c-1' is not a"):
        _one_day_core("aggregates", [entity], tmp_path)


def test_the_first_bad_row_in_page_order_is_named(tmp_path: Path) -> None:
    # GIVEN bad rows on pages 3 and 2 (a bad date on page 2, a bad count on page 3)
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))
    pages = [
        _page("legacy", [GOOD] * 3),
        _page("legacy", [GOOD, GOOD, GOOD | {"date": "2026-11-03"}]),
        _page("legacy", [GOOD | {"status300": -1}, GOOD]),
    ]

    # WHEN / THEN the bad date of page 2 row 2 is the one named
    with pytest.raises(RowInvalid, match=r"^page 2 row 2: field 'date'"):
        _run_core(pages, query, tmp_path)


@pytest.mark.parametrize(
    "value",
    [0, 1, 2**63 - 1, 2**63, -1, 4.0, 4.5, -0.0, 1e20, "4", "", True, None, [], {}],
)
@pytest.mark.parametrize("field", ["requests", "clientName"])
def test_the_engine_and_the_python_rules_agree(field: str, value: Any, tmp_path: Path) -> None:
    # GIVEN one row with one value in a count or a string field
    row = GOOD | {field: value}
    normalize = make_rows_normalizer(
        "legacy", granularity="Day", grouping=GROUPING, run_id=RUN_ID, landed_at=LANDED_AT
    )
    try:
        expected: list[dict[str, Any]] | None = normalize([row])
    except RowInvalid:
        expected = None

    # WHEN the transform reads it
    try:
        landed: list[dict[str, Any]] | None = _one_day_core("legacy", [row], tmp_path)
    except RowInvalid:
        landed = None

    # THEN it refuses what the row rules refuse, and lands what they accept, as they read it
    assert landed == expected


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b'{"queryStatus": "Complete", "results": [', "not valid JSON"),
        (gzip.compress(b"not json"), "not valid JSON"),
        (b"\x1f\x8b\x08garbage", "not valid gzip"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"queryStatus": "Complete", "results": {}}', "'results' is not an array"),
        (b'{"queryStatus": "Complete", "results": null}', "'results' is not an array"),
        (b'{"queryStatus": "Running"}', "queryStatus 'Running'"),
        (_page("legacy", [GOOD], status="Running"), "queryStatus 'Running'"),
        (b'{"results": [{"date": "2026-11-01", "date": "2026-11-01"}]}', "duplicate key"),
    ],
)
def test_malformed_page_is_refused_by_number(page: bytes, message: str, tmp_path: Path) -> None:
    # GIVEN a good first page and a malformed second one
    query = _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2))

    # WHEN / THEN the error names page 2 and nothing is written
    with pytest.raises(PageMalformed, match=rf"page 2\b.*{message}"):
        _run_core([_page("legacy", [GOOD]), page], query, tmp_path)
    assert not (tmp_path / "out").exists()


def test_pages_without_rows_are_fine(tmp_path: Path) -> None:
    # GIVEN a result of one empty page (no traffic in the window), and one without a rows member
    query = _query("aggregates", "Day", date(2026, 11, 1), date(2026, 11, 3))
    pages = [_page("aggregates", []), b'{"queryStatus": "Succeeded"}']

    # WHEN transformed
    result, out_dir = _run_core(pages, query, tmp_path)

    # THEN every period still gets a file, of zero rows (landing it clears older data)
    assert {day: tally.rows for day, tally in result.partitions.items()} == {
        "2026-11-01": 0,
        "2026-11-02": 0,
    }
    for day in result.partitions:
        assert parquet_rows([_partition_file(out_dir, "Day", GROUPING, day)]) == []


def test_no_pages_at_all_still_land_every_period(tmp_path: Path) -> None:
    # GIVEN a run that stored no page
    query = _query("legacy", "Week", date(2026, 11, 2), date(2026, 11, 16))

    # WHEN transformed / THEN both weeks get a file of zero rows
    result, out_dir = _run_core([], query, tmp_path)
    assert {day: tally.rows for day, tally in result.partitions.items()} == {
        "2026-11-02": 0,
        "2026-11-09": 0,
    }
    assert parquet_rows(sorted(out_dir.rglob("*.parquet"))) == []


def test_page_files_must_be_the_pages_in_order(tmp_path: Path) -> None:
    # GIVEN pages 1 and 2 written, handed over in the wrong order
    paths = [write_page(tmp_path, number, _page("legacy", [GOOD])) for number in (1, 2)]

    # WHEN / THEN the core refuses the list (page numbers travel in the file names)
    with pytest.raises(ValueError, match="is not page 1"):
        transform_pages(
            paths[::-1],
            tmp_path / "out",
            api="legacy",
            granularity="Day",
            grouping=GROUPING,
            start=date(2026, 11, 1),
            end=date(2026, 11, 2),
            run_id=RUN_ID,
            landed_at=LANDED_AT,
            work_dir=tmp_path,
        )
    assert page_files(tmp_path) == paths


def test_transform_memory_follows_the_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert duckdb_memory_limit_mb() == 1024
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert duckdb_memory_limit_mb() > 0


# --- stage_run against S3 (moto) -------------------------------------------------------------


@pytest.fixture
def s3(s3_with_bucket: Any) -> Any:
    return s3_with_bucket


def _put_raw_pages(s3: Any, pages: list[bytes], rows: int) -> Raw:
    """The run's raw pages in the bucket, and the ``raw`` member that says they hold ``rows``."""
    for number, page in enumerate(pages, start=1):
        s3.put_object(Bucket=BUCKET, Key=layout.raw_page_key(RUN_ID, number), Body=page)
    return Raw(prefix=layout.raw_prefix(RUN_ID), pages=len(pages), rows=rows)


def _keys(s3: Any, prefix: str) -> list[str]:
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Versions", []))


def test_download_keeps_the_exact_bytes_in_page_order(s3: Any, tmp_path: Path) -> None:
    # GIVEN twelve raw pages, gzip and plain
    pages = [gzip.compress(b'{"n": %d}' % n) if n % 2 else b'{"n": %d}' % n for n in range(12)]
    _put_raw_pages(s3, pages, rows=0)

    # WHEN downloaded
    paths = download_pages(BucketStore(s3, BUCKET), RUN_ID, len(pages), tmp_path)

    # THEN each file holds its page's bytes, named for what they are, in page order
    assert [path.read_bytes() for path in paths] == pages
    assert [path.name for path in paths[:2]] == ["page-00001.json", "page-00002.json.gz"]


def test_stage_run_stages_every_period(s3: Any, tmp_path: Path) -> None:
    # GIVEN raw pages of a 3-day Day query with rows on the first and last day only
    start = date(2026, 11, 1)
    days = [start, start + timedelta(days=2)]
    pages, raw_rows = _pages("legacy", days, rows_per_day=3, page_size=4)
    raw = _put_raw_pages(s3, pages, rows=len(raw_rows))
    query = _query("legacy", "Day", start, start + timedelta(days=3))

    # WHEN transformed
    staged = to_json(
        stage_run(
            store=BucketStore(s3, BUCKET),
            run_id=RUN_ID,
            query=query,
            raw=raw,
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    )

    # THEN all three partitions are staged as Parquet (the middle one of zero rows), with a
    # matching index
    keys = [
        layout.staging_key(
            RUN_ID, layout.partition("legacy", "Day", GROUPING, start + timedelta(days=i))
        )
        for i in (0, 1, 2)
    ]
    assert _keys(s3, layout.staging_prefix(RUN_ID)) == sorted(
        [*keys, layout.staging_index_key(RUN_ID)]
    )
    bodies = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys]
    assert {s3.head_object(Bucket=BUCKET, Key=key)["ContentType"] for key in keys} == {
        PARTITION_CONTENT_TYPE
    }
    for number, body in enumerate(bodies):
        (tmp_path / f"{number}.parquet").write_bytes(body)
    rows = [len(parquet_rows([tmp_path / f"{number}.parquet"])) for number in range(3)]
    assert rows == [3, 0, 3]
    assert staged == {
        "prefix": layout.staging_prefix(RUN_ID),
        "indexKey": layout.staging_index_key(RUN_ID),
        "partitions": 3,
        "rows": 6,
    }
    index = orjson.loads(s3.get_object(Bucket=BUCKET, Key=staged["indexKey"])["Body"].read())
    assert index["requests"] == sum(row["requests"] for row in raw_rows)
    assert [entry["sha256"] for entry in index["partitions"]] == [
        hashlib.sha256(body).hexdigest() for body in bodies
    ]
    assert [entry["bytes"] for entry in index["partitions"]] == [len(body) for body in bodies]
    assert [entry["rows"] for entry in index["partitions"]] == [3, 0, 3]
    # and the local work files are gone (Lambda /tmp outlives an invocation)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "0.parquet",
        "1.parquet",
        "2.parquet",
    ]


def test_stage_run_metric_not_asked_has_no_total(s3: Any, tmp_path: Path) -> None:
    # GIVEN a query that did not ask for Requests
    pages, raw_rows = _pages("legacy", [date(2026, 11, 1)], 2, page_size=2)
    query = dataclasses.replace(
        _query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2)), metrics=("Status429",)
    )

    # WHEN transformed
    staged = to_json(
        stage_run(
            store=BucketStore(s3, BUCKET),
            run_id=RUN_ID,
            query=query,
            raw=_put_raw_pages(s3, pages, rows=len(raw_rows)),
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    )

    # THEN its total is null (unknown), not 0
    index = orjson.loads(s3.get_object(Bucket=BUCKET, Key=staged["indexKey"])["Body"].read())
    assert index["requests"] is None
    assert index["status429"] == sum(row["status429"] for row in raw_rows)


def test_malformed_page_stages_nothing(s3: Any, tmp_path: Path) -> None:
    # GIVEN a run whose second raw page is cut short
    pages, _ = _pages("aggregates", [date(2026, 11, 1)], 4, page_size=2)
    pages[1] = gzip.decompress(pages[1])[:-10]
    raw = _put_raw_pages(s3, pages, rows=4)

    # WHEN / THEN the transform fails and nothing is staged
    with pytest.raises(PageMalformed, match="page 2"):
        stage_run(
            store=BucketStore(s3, BUCKET),
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
    raw = _put_raw_pages(s3, pages, rows=5)

    # WHEN / THEN
    with pytest.raises(RowCountMismatch, match="4 rows but 5"):
        stage_run(
            store=BucketStore(s3, BUCKET),
            run_id=RUN_ID,
            query=_query("legacy", "Day", date(2026, 11, 1), date(2026, 11, 2)),
            raw=raw,
            landed_at=LANDED_AT,
            tmp_dir=tmp_path,
        )
    assert _keys(s3, "staging/") == []
