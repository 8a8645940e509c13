"""Transform benchmark against the blueprint's `jq -c '.results[]'` (run: `make bench`)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
