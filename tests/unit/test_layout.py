"""layout: the S3 keys of docs/contracts.md section 6."""

from __future__ import annotations

from datetime import date

import pytest

from usage_pipeline import layout
from usage_pipeline.constants import DEFAULT_GROUPING

RUN_ID = "20261122T014000Z-3fa2b1c0"
GROUPING = DEFAULT_GROUPING


def test_raw_page_keys() -> None:
    # GIVEN a run / WHEN building page keys / THEN 1-based, five digits
    assert layout.raw_prefix(RUN_ID) == f"raw/run={RUN_ID}/"
    assert layout.raw_page_key(RUN_ID, 1) == f"raw/run={RUN_ID}/page-00001.json.gz"
    assert layout.raw_page_key(RUN_ID, 42) == f"raw/run={RUN_ID}/page-00042.json.gz"
    with pytest.raises(ValueError, match="page number"):
        layout.raw_page_key(RUN_ID, 0)


def test_staging_and_partition_keys() -> None:
    # GIVEN a partition named with the API's granularity spelling
    # WHEN building its keys
    staging = layout.staging_key(
        RUN_ID, layout.partition("aggregates", "Day", GROUPING, date(2026, 11, 20))
    )
    usage = layout.partition_key(layout.partition("legacy", "Day", GROUPING, "2026-11-20"))

    # THEN granularity is lower-cased and the layout is the contract's
    assert layout.staging_prefix(RUN_ID) == f"staging/run={RUN_ID}/"
    assert staging == (
        f"staging/run={RUN_ID}/api=aggregates/granularity=day/grouping={GROUPING}/date=2026-11-20/usage.parquet"
    )
    assert (
        usage
        == f"usage/api=legacy/granularity=day/grouping={GROUPING}/date=2026-11-20/usage.parquet"
    )
    month = layout.partition("aggregates", "Month", "total", "2026-10-01")
    assert layout.partition_prefix(month) == (
        "usage/api=aggregates/granularity=month/grouping=total/date=2026-10-01/"
    )
    assert layout.manifest_key(RUN_ID) == f"manifests/run={RUN_ID}.json"
    assert layout.staging_index_key(RUN_ID) == f"staging/run={RUN_ID}/index.json"


def test_a_partition_has_a_short_id() -> None:
    part = layout.partition("aggregates", "Week", GROUPING, "2026-11-16")
    assert part.id == f"aggregates/week/{GROUPING}/2026-11-16"


@pytest.mark.parametrize(
    ("granularity", "grouping", "day", "message"),
    [
        ("Hour", "total", "2026-11-20", "granularity"),
        ("Day", "../x", "2026-11-20", "grouping"),
        ("Day", "Total", "2026-11-20", "grouping"),
        ("Day", "total", "2026-11-31", "date"),
        ("Day", "total", "20261120", "date"),
    ],
)
def test_bad_key_parts_are_refused(granularity: str, grouping: str, day: str, message: str) -> None:
    # GIVEN a part that would break the layout / WHEN building a key / THEN it is refused
    with pytest.raises(ValueError, match=message):
        layout.partition("aggregates", granularity, grouping, day)


def test_run_id_cannot_escape_its_prefix() -> None:
    with pytest.raises(ValueError, match="run id"):
        layout.staging_prefix("../usage")
    with pytest.raises(ValueError, match="run id"):
        layout.manifest_key("a/b")


def test_an_unknown_api_is_refused_as_a_key_part() -> None:
    with pytest.raises(ValueError, match="api"):
        layout.partition("analytics", "Day", "total", "2026-11-20")
