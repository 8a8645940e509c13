"""The source bucket: the one module in ``usage_pipeline`` that speaks S3.

The logic asks for what it needs (an object, a JSON document, whether a key exists, the keys
under a prefix, the paging checkpoint) and never builds an S3 request itself; keys come from
``layout.py``. The roles' grants (stacks/functions.py) are written for the calls made here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from usage_pipeline import layout
from usage_pipeline.state import Raw, from_json, to_json

JSON_CONTENT_TYPE: Final = "application/json"
_DELETE_BATCH: Final = 1000  # DeleteObjects takes at most 1000 keys


@dataclass(frozen=True)
class StoredObject:
    """What S3 says about an object without reading it."""

    size: int
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CopiedObject:
    etag: str
    version_id: str | None


class BucketStore:
    """One bucket, through one boto3 S3 client."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    # --- objects ---------------------------------------------------------------------------------
    def put_bytes(self, key: str, body: bytes, *, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def put_json(self, key: str, document: Mapping[str, Any], *, indent: bool = False) -> None:
        option = orjson.OPT_INDENT_2 if indent else None
        self.put_bytes(key, orjson.dumps(document, option=option), content_type=JSON_CONTENT_TYPE)

    def upload_file(self, path: Path, key: str, *, content_type: str) -> None:
        """A local file to ``key`` (multipart when large; boto3's transfer manager decides)."""
        self._s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def get_json(self, key: str) -> dict[str, Any]:
        document: dict[str, Any] = orjson.loads(self.get_bytes(key))
        return document

    def head(self, key: str) -> StoredObject:
        response = self._s3.head_object(Bucket=self.bucket, Key=key)
        return StoredObject(
            size=int(response["ContentLength"]),
            etag=str(response["ETag"]),
            metadata=dict(response.get("Metadata", {})),
        )

    def copy(
        self,
        source_key: str,
        target_key: str,
        *,
        if_match: str,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> CopiedObject:
        """A server-side copy (atomic per object), of the source only if its ETag is still
        ``if_match``; the target gets ``content_type`` and ``metadata`` instead of the source's."""
        copied = self._s3.copy_object(
            Bucket=self.bucket,
            Key=target_key,
            CopySource={"Bucket": self.bucket, "Key": source_key},
            CopySourceIfMatch=if_match,
            MetadataDirective="REPLACE",
            ContentType=content_type,
            Metadata=dict(metadata),
        )
        return CopiedObject(copied["CopyObjectResult"]["ETag"], copied.get("VersionId"))

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = self._s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                raise RuntimeError(
                    f"could not delete {len(errors)} of {len(batch)} objects: {errors}"
                )

    # --- listing -----------------------------------------------------------------------------
    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, page after page."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists, asked by listing its own prefix.

        The roles' s3:ListBucket is limited to their prefixes (condition on s3:prefix); a
        GetObject or HeadObject of a missing key is then answered 403 in AWS, not 404 (only moto
        says 404), so existence is asked by a list call, which carries the prefix the condition
        checks.
        """
        listing = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(item["Key"] == key for item in listing.get("Contents", []))

    # --- the paging checkpoint ---------------------------------------------------------------
    def read_checkpoint(self, run_id: str) -> Raw | None:
        """How far storing the result pages got (``raw/run=<id>/progress.json``), if begun."""
        key = layout.raw_progress_key(run_id)
        if not self.exists(key):
            return None
        return from_json(Raw, self.get_json(key))

    def write_checkpoint(self, run_id: str, raw: Raw) -> None:
        self.put_json(layout.raw_progress_key(run_id), to_json(raw))
