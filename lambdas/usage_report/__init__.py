"""The API Usage report of the landed table: its SQL, the typed report, the page and the CSV files.

A library: the operator CLI (`python -m ops.report`), the stack (the workgroup's saved queries) and
a Lambda import it; it imports neither `ops/` nor `local/`. The picture is Genesys's own "API Usage
report" (Most Active Requests, OAuth Client Requests, URL Requests, an export), drawn from our
table, which also holds what that page cannot show: longer history and what changed against the
period before.
"""

from __future__ import annotations
