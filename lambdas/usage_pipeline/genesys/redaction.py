"""Values that must never appear in a message, even when a server echoes them back."""

from __future__ import annotations

REDACTED = "***"


class Redactor:
    """Collects the secrets of one client (client secret, Basic credentials, bearer tokens)."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        if value:
            self._values.add(value)

    def scrub(self, text: str) -> str:
        # Longest first: a token that contains another secret is replaced whole.
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text
