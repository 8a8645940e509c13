"""Benchmarks (run: `make bench`): the transform against the blueprint's `jq -c '.results[]'`, and
what the saved queries scan in the Parquet table against the same rows as NDJSON."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def lambdas_on_path() -> None:
    """Make `usage_pipeline` importable as the Lambda asset root (`lambdas/`) makes it."""
    lambdas = str(REPO_ROOT / "lambdas")
    if lambdas not in sys.path:
        sys.path.insert(0, lambdas)


lambdas_on_path()
