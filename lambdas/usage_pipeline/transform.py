"""Raw API pages -> partitioned NDJSON staging files (docs/contracts.md sections 5 and 6).

Two layers: :func:`transform_pages` is the pure streaming core (page bytes in, NDJSON chunks out to
a sink, no S3), used by the Lambda, the tests and the benchmark; :func:`transform_run` wires it to
S3: it reads the run's raw pages one at a time, writes each partition to a local temp file (so
memory holds one page, never the whole result), then uploads every partition to staging and writes
the staging index that land reads.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import operator
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from queue import Full, Queue
from types import TracebackType
from typing import IO, Any, Final, Protocol

import orjson

from usage_pipeline import layout
from usage_pipeline.constants import API_AGGREGATES, API_LEGACY, METRICS, PARTITION_OBJECT_NAME
from usage_pipeline.errors import PageMalformed, RowCountMismatch, RowInvalid
from usage_pipeline.rows import (
    USAGE_COLUMNS,
    NormalizedPage,
    Row,
    make_page_normalizer,
    row_tail,
    window_periods,
)
from usage_pipeline.state import Staged

NDJSON_CONTENT_TYPE: Final = "application/x-ndjson"
PREFETCH_PAGES: Final = 2
# Where each API puts a page's rows, and the status a stored (complete) page carries.
_ROWS_FIELD: Final = {API_AGGREGATES: "entities", API_LEGACY: "results"}
_COMPLETE_STATUS: Final = {API_AGGREGATES: "Succeeded", API_LEGACY: "Complete"}
_GZIP_MAGIC: Final = b"\x1f\x8b"
# orjson writes compact JSON and our rows are flat objects that all start with the same key.
# Inside a JSON string every `"` is escaped (`\"`), so this byte sequence, with its bare quotes,
# can only be the boundary between two rows of a dumped array. That makes one
# `orjson.dumps(usage)` per partition chunk, plus bytes replaces, into NDJSON lines without a
# Python call per row (see ndjson_lines).
_FIRST_KEY: Final = b'{"' + USAGE_COLUMNS[0].encode() + b'":'
_ROW_BOUNDARY: Final = b"}," + _FIRST_KEY
_row_requests: Final = operator.itemgetter("requests")
_row_status429: Final = operator.itemgetter("status429")


class PartitionSink(Protocol):
    """Where the core writes NDJSON: ``write(day, chunk)`` appends bytes to that day's partition."""

    def write(self, day: str, chunk: bytes) -> None: ...


@dataclass
class PartitionTally:
    """What was written to one partition: rows, bytes and the sha256 of those bytes."""

    rows: int = 0
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


@dataclass
class TransformResult:
    """Counts of one transform: per partition (by date) and in total."""

    partitions: dict[str, PartitionTally]
    pages: int = 0
    rows: int = 0
    requests: int = 0
    status429: int = 0


class PartitionFiles:
    """A sink writing each partition to `<root>/granularity=<g>/grouping=<t>/date=<d>/usage.json`.

    Files stay open until :meth:`close`: a run has at most a year of Day partitions (366), well
    under Lambda's 1024 file descriptors, and reopening per page would cost a syscall per chunk.
    """

    def __init__(self, root: Path, granularity: str, grouping: str) -> None:
        self.root = root
        self.granularity = granularity
        self.grouping = grouping
        self._files: dict[str, IO[bytes]] = {}

    def path(self, day: str) -> Path:
        part = layout.partition(self.granularity, self.grouping, day)
        return self.root / part.path / PARTITION_OBJECT_NAME

    def write(self, day: str, chunk: bytes) -> None:
        handle = self._files.get(day)
        if handle is None:
            path = self.path(day)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._files[day] = path.open("wb", buffering=1 << 16)
        handle.write(chunk)

    def days(self) -> list[str]:
        return sorted(self._files)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()

    def __enter__(self) -> PartitionFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def transform_pages(
    pages: Iterable[bytes],
    *,
    api: str,
    granularity: str,
    grouping: str,
    start: date,
    end: date,
    run_id: str,
    landed_at: str,
    sink: PartitionSink,
) -> TransformResult:
    """Normalize every row of every page (gzip or plain JSON bytes) into NDJSON chunks on ``sink``.

    Every period of [start, end) gets a partition, even with no rows, so that landing it replaces
    whatever an earlier run left there. Pages are consumed one at a time.
    """
    normalize = make_page_normalizer(api, granularity=granularity, window=(start, end))
    tails = RowTails(api, run_id, landed_at, granularity, grouping)
    result = TransformResult(partitions={})
    for period in window_periods(start, end, granularity):
        day = period.isoformat()
        result.partitions[day] = PartitionTally()
        sink.write(day, b"")
    rows_field = _ROWS_FIELD[api]
    # The loop allocates ~2 dicts per row and no reference cycles; with the collector on, its
    # generation-0 passes re-scan the live page again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for number, page in enumerate(pages, start=1):
            text = _inflated(page, number)
            raw_rows = _page_rows(text, number, rows_field, _COMPLETE_STATUS[api])
            normalized = _normalize_page(raw_rows, normalize, number)
            _write_page(normalized, tails, result, sink)
            result.pages = number
    finally:
        if collecting:
            gc.enable()
    return result


def _inflated(page: bytes, number: int) -> bytes:
    """A raw page's JSON text: pages are stored gzip; plain JSON is accepted as well."""
    if page[:2] != _GZIP_MAGIC:
        return page
    try:
        return gzip.decompress(page)
    except (OSError, EOFError, zlib.error) as error:
        raise PageMalformed(f"page {number}: not valid gzip: {error}") from None


def _page_rows(text: bytes, number: int, rows_field: str, complete_status: str) -> list[Any]:
    """The rows of one page's JSON; PageMalformed if it is not JSON or not the documented shape."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PageMalformed(f"page {number}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PageMalformed(f"page {number}: not a JSON object")
    status = document.get("queryStatus", complete_status)
    if status != complete_status:
        raise PageMalformed(f"page {number}: queryStatus {status!r}, expected {complete_status!r}")
    rows = document.get(rows_field, [])
    if not isinstance(rows, list):
        raise PageMalformed(f"page {number}: {rows_field!r} is not an array")
    return rows


def _normalize_page(
    raw_rows: list[Any], normalize: Callable[[list[Any]], NormalizedPage], number: int
) -> NormalizedPage:
    try:
        return normalize(raw_rows)
    except RowInvalid as error:
        raise RowInvalid(f"page {number} {error}") from None


class RowTails:
    """The serialized row tails (api ... date) of a run, one per date, made once."""

    def __init__(self, api: str, run_id: str, landed_at: str, granularity: str, grouping: str):
        self._parts = (api, run_id, landed_at, granularity, grouping)
        self._tails: dict[str, tuple[bytes, bytes]] = {}

    def __getitem__(self, day: str) -> tuple[bytes, bytes]:
        """(what goes between two rows, what ends the last row) for rows of ``day``."""
        tail = self._tails.get(day)
        if tail is None:
            text = orjson.dumps(row_tail(*self._parts, day))[1:-1]  # `"api":...,"date":"..."`
            tail = self._tails[day] = (b"," + text + b"}\n" + _FIRST_KEY, b"," + text + b"}\n")
        return tail


def ndjson_lines(usage: list[Row], tail: tuple[bytes, bytes]) -> bytes:
    """NDJSON lines of rows sharing a date: each usage dict completed with the date's tail.

    `[{u1},{u2}]` -> `{u1,tail}\n{u2,tail}\n`: the array brackets go, and every row boundary
    (unambiguous, see _ROW_BOUNDARY) and the last row's end get the tail and a newline.
    """
    if not usage:
        return b""
    between, last = tail
    return orjson.dumps(usage)[1:-2].replace(_ROW_BOUNDARY, between) + last


def _write_page(
    page: NormalizedPage, tails: RowTails, result: TransformResult, sink: PartitionSink
) -> None:
    """Append a page's rows to their partitions, one chunk per partition."""
    usage, days = page
    if not usage:
        return
    first_day = days[0]
    if days.count(first_day) == len(days):
        # Pages usually hold one date (results come ordered by date): no per-row grouping.
        by_day = {first_day: usage}
    else:
        by_day = {}
        for day, row in zip(days, usage, strict=True):
            day_rows = by_day.get(day)
            if day_rows is None:
                by_day[day] = [row]
            else:
                day_rows.append(row)
    for day, day_rows in by_day.items():
        _append(day, ndjson_lines(day_rows, tails[day]), len(day_rows), result, sink)
    result.rows += len(usage)
    # Absent metrics are None: filter(None, ...) drops them (and zeros, which add nothing).
    result.requests += sum(filter(None, map(_row_requests, usage)))
    result.status429 += sum(filter(None, map(_row_status429, usage)))


def _append(
    day: str, chunk: bytes, rows: int, result: TransformResult, sink: PartitionSink
) -> None:
    tally = result.partitions[day]
    tally.rows += rows
    tally.size += len(chunk)
    tally.digest.update(chunk)
    sink.write(day, chunk)


# --- S3 wiring ---------------------------------------------------------------------------------


def transform_run(
    *,
    s3_client: Any,
    bucket: str,
    run_id: str,
    query: Mapping[str, Any],
    raw: Mapping[str, Any],
    landed_at: str,
    tmp_dir: str | Path,
) -> Staged:
    """Transform the run's raw pages into staging; return the state document's ``staged`` member.

    Nothing is uploaded until every page has been read and validated, so a malformed page or an
    invalid row leaves staging untouched.
    """
    granularity = str(query["granularity"])
    grouping = str(query["grouping"])
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="transform-") as work_dir:
        with PartitionFiles(Path(work_dir), granularity, grouping) as files:
            result = transform_pages(
                prefetched(_read_raw_pages(s3_client, bucket, run_id, int(raw["pages"]))),
                api=str(query["api"]),
                granularity=granularity,
                grouping=grouping,
                start=date.fromisoformat(query["start"]),
                end=date.fromisoformat(query["end"]),
                run_id=run_id,
                landed_at=landed_at,
                sink=files,
            )
        _check_rows_received(raw, result)
        for day in files.days():
            s3_client.upload_file(
                str(files.path(day)),
                bucket,
                layout.staging_key(run_id, granularity, grouping, day),
                ExtraArgs={"ContentType": NDJSON_CONTENT_TYPE},
            )
    index = staging_index(run_id, query, result)
    index_key = layout.staging_index_key(run_id)
    s3_client.put_object(
        Bucket=bucket, Key=index_key, Body=orjson.dumps(index), ContentType="application/json"
    )
    return staged_member(run_id, query, result, index_key)


def prefetched(pages: Iterable[bytes]) -> Iterator[bytes]:
    """The pages, fetched by a background thread up to PREFETCH_PAGES ahead.

    An S3 GET is mostly waiting on the network (the GIL is released), so fetching the next pages
    overlaps with transforming the current one; the bounded queue keeps memory at a few pages.
    Not used for local files: there the thread only contends for the GIL (measured slower).
    """
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=PREFETCH_PAGES)
    stop = threading.Event()

    def offer(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer((True, page)):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            offer((False, error))
            return
        offer((False, None))

    producer = threading.Thread(target=produce, name="transform-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            is_page, value = queue.get()
            if is_page:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stop.set()  # the consumer stopped early (an error): let the producer end
        producer.join()


def _read_raw_pages(s3_client: Any, bucket: str, run_id: str, pages: int) -> Iterator[bytes]:
    """The run's raw pages in order, fetched lazily: one page in memory at a time."""
    for number in range(1, pages + 1):
        response = s3_client.get_object(Bucket=bucket, Key=layout.raw_page_key(run_id, number))
        yield response["Body"].read()


def _check_rows_received(raw: Mapping[str, Any], result: TransformResult) -> None:
    received = raw.get("rows")
    if received is not None and int(received) != result.rows:
        raise RowCountMismatch(
            f"raw pages hold {result.rows} rows but {received} were received from the API"
        )


def _metric_total(query: Mapping[str, Any], metric: str, total: int) -> int | None:
    """A metric's total, or None when the query did not ask for it (no data, not zero)."""
    return total if metric in query.get("metrics", METRICS) else None


def staging_index(run_id: str, query: Mapping[str, Any], result: TransformResult) -> dict[str, Any]:
    """The staging index object: what land needs per partition, kept out of the state document."""
    granularity, grouping = str(query["granularity"]), str(query["grouping"])
    return {
        "runId": run_id,
        "api": query["api"],
        "granularity": granularity.lower(),
        "grouping": grouping,
        "pages": result.pages,
        "rows": result.rows,
        "requests": _metric_total(query, "Requests", result.requests),
        "status429": _metric_total(query, "Status429", result.status429),
        "partitions": [
            {
                "date": day,
                "key": layout.staging_key(run_id, granularity, grouping, day),
                "rows": tally.rows,
                "bytes": tally.size,
                "sha256": tally.sha256,
            }
            for day, tally in sorted(result.partitions.items())
        ],
    }


def staged_member(
    run_id: str, query: Mapping[str, Any], result: TransformResult, index_key: str
) -> Staged:
    """The state document's ``staged`` member: keys and counts only."""
    granularity, grouping = str(query["granularity"]), str(query["grouping"])
    return Staged(
        prefix=layout.staging_prefix(run_id),
        index_key=index_key,
        partitions=len(result.partitions),
        rows=result.rows,
        requests=_metric_total(query, "Requests", result.requests),
        status429=_metric_total(query, "Status429", result.status429),
        partition_rows={
            layout.partition(granularity, grouping, day).id: tally.rows
            for day, tally in sorted(result.partitions.items())
        },
    )


def read_pages_from_directory(directory: Path) -> Iterator[bytes]:
    """Raw page files `page-NNNNN.json.gz` of a directory in page order (local runs, benchmark)."""
    for path in sorted(directory.glob("page-*.json*")):
        yield path.read_bytes()
