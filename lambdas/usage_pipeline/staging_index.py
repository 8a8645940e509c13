"""The staging index (``staging/run=<id>/index.json``): what transform staged, for land to read.

Per partition its rows, bytes, sha256 and content digest: too much for the state document
(Step Functions caps it at 256 KB), so transform writes it next to the staged files
(docs/contracts.md section 6) and land reads it back into these models, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from usage_pipeline import layout


@dataclass(frozen=True)
class IndexedPartition:
    """One staged partition file."""

    partition: layout.Partition
    key: str
    rows: int
    size: int
    sha256: str
    # What the rows say, whatever run wrote them and in whatever order: equal digests mean a
    # re-landed partition did not change (a different one is counted as restated).
    content: str


@dataclass(frozen=True)
class StagingIndex:
    run_id: str
    api: str
    granularity: str  # the partition token: day, week, month
    grouping: str
    pages: int
    rows: int
    requests: int | None  # None: the query did not ask for the metric (not zero)
    status429: int | None
    partitions: tuple[IndexedPartition, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "api": self.api,
            "granularity": self.granularity,
            "grouping": self.grouping,
            "pages": self.pages,
            "rows": self.rows,
            "requests": self.requests,
            "status429": self.status429,
            "partitions": [
                {
                    "date": entry.partition.date,
                    "key": entry.key,
                    "rows": entry.rows,
                    "bytes": entry.size,
                    "sha256": entry.sha256,
                    "content": entry.content,
                }
                for entry in self.partitions
            ],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> StagingIndex:
        """Read back what `to_json` wrote (transform wrote it: trusted, not validated)."""
        api, granularity, grouping = document["api"], document["granularity"], document["grouping"]
        return cls(
            run_id=document["runId"],
            api=api,
            granularity=granularity,
            grouping=grouping,
            pages=int(document["pages"]),
            rows=int(document["rows"]),
            requests=document.get("requests"),
            status429=document.get("status429"),
            partitions=tuple(
                IndexedPartition(
                    partition=layout.partition(api, granularity, grouping, entry["date"]),
                    key=entry["key"],
                    rows=int(entry["rows"]),
                    size=int(entry["bytes"]),
                    sha256=entry["sha256"],
                    content=entry.get("content", ""),
                )
                for entry in document["partitions"]
            ),
        )
