"""Named pipeline errors.

The class name of each exception is what Lambda reports as ``errorType`` and therefore the error
name that the state machine's Retry and Catch match on; renaming one is a contract change
(docs/contracts.md).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error this pipeline raises on purpose."""


class InvalidInput(PipelineError):
    """The execution input was refused; the message names the field, the value, what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not allowed; {allowed}")


class SecretInvalid(PipelineError):
    """The OAuth secret is missing, not JSON, or lacks clientId/clientSecret (never its value)."""


class GenesysAuthError(PipelineError):
    """The token endpoint rejected the client credentials."""


class GenesysRequestRejected(PipelineError):
    """Genesys answered with a 4xx other than 401/429; the message is the API's own."""


class GenesysUnavailable(PipelineError):
    """5xx answers or connection errors outlasted the client's bounded retries."""


class GenesysRateLimited(PipelineError):
    """429 answers outlasted the client's wait budget."""


class PageMalformed(PipelineError):
    """A page is not JSON, or not the documented shape."""


class PageTruncated(PipelineError):
    """A response body ended early."""


class CursorLoop(PipelineError):
    """A pagination cursor repeated: following it would never end."""


class RowInvalid(PipelineError):
    """A row failed validation during transform."""


class RowCountMismatch(PipelineError):
    """The rows transformed or landed are not the rows received from the API."""


class ConfigurationError(PipelineError):
    """A Lambda environment variable is missing or malformed."""
