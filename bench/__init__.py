"""Benchmarks (run: `make bench`): the transform against the blueprint's `jq -c '.results[]'`, and
what the saved queries scan in the Parquet table against the same rows as NDJSON."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
