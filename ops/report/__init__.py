"""`python -m ops.report`: the API Usage report of the landed table, as one HTML page and CSV files.

The picture is Genesys's own "API Usage report" (Most Active Requests, OAuth Client Requests, URL
Requests, an export), drawn from our table, which also holds what that page cannot show: longer
history and what changed against the period before.
"""

from __future__ import annotations
