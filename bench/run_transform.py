"""One benchmark run of our transform core: `python -m bench.run_transform <pages dir> <out dir>`.

Reads the raw pages (`page-NNNNN.json.gz`) and the query (`query.json`) that
`bench.transform_bench` generated, and writes one Parquet file per partition under the output
directory, with no S3 involved: it measures exactly the code path the transform Lambda runs once
the pages are downloaded.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import orjson

from usage_pipeline.transform import page_files, transform_pages

USAGE = "usage: python -m bench.run_transform <pages dir> <out dir>"
RUN_ID = "20261122T014000Z-3fa2b1c0"
LANDED_AT = "2026-11-22T01:41:07Z"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    pages_dir, out_dir = Path(argv[0]), Path(argv[1])
    query = orjson.loads((pages_dir / "query.json").read_bytes())
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as work_dir:
        result = transform_pages(
            page_files(pages_dir),
            out_dir,
            api=query["api"],
            granularity=query["granularity"],
            grouping=query["grouping"],
            start=date.fromisoformat(query["start"]),
            end=date.fromisoformat(query["end"]),
            run_id=RUN_ID,
            landed_at=LANDED_AT,
            work_dir=Path(work_dir),
        )
    print(f"{result.pages} pages, {result.rows} rows, {len(result.partitions)} partitions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
