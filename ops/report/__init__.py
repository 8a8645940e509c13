"""`python -m ops.report`: the operator's command for the API Usage report (`usage_report`)."""

from __future__ import annotations
