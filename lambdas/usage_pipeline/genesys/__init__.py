"""The Genesys Cloud Usage API client (docs/contracts.md section 1).

- ``client``: GenesysClient (submit, status, pages) and JobStatus.
- ``auth``: OAuth client credentials as a requests auth object, with the token cache.
- ``retry``: the retry policy (tenacity): Retry-After, full-jitter backoff, attempts and time.
- ``paging``: one paginator per API behind one protocol; pages resume at a PageCursor.
- ``transport``: one HTTP round trip, judged; ``wire``: the APIs' names; ``hosts``: base URLs;
  ``redaction``: secrets never shown.
"""

from __future__ import annotations

from usage_pipeline.genesys.client import GenesysClient, JobStatus, RetryLaterError
from usage_pipeline.genesys.hosts import validate_base_url, validate_environment
from usage_pipeline.genesys.paging import Page, PageCursor
from usage_pipeline.genesys.wire import build_query_body

__all__ = [
    "GenesysClient",
    "JobStatus",
    "Page",
    "PageCursor",
    "RetryLaterError",
    "build_query_body",
    "validate_base_url",
    "validate_environment",
]
