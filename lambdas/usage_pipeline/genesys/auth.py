"""OAuth client credentials as a ``requests`` auth object: the bearer token's whole lifecycle.

The token is kept per warm container (keyed by login URL and client id) until 60 s before
Genesys says it expires, so warm invocations reuse it; a 401 from the API host drops the token
that failed and sends the request once more with a fresh one (the pattern of requests' own
``HTTPDigestAuth``). When the login host refuses the credentials, the secret is read once more,
past its cache, and tried again if it changed: a fixed or rotated secret works on the next run.
The token itself is fetched by a callable the client passes in, so the token request gets the same
retries as every other call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import requests

from usage_pipeline.errors import GenesysAuthError
from usage_pipeline.genesys.redaction import Redactor
from usage_pipeline.observability import logger
from usage_pipeline.secrets import ClientCredentials, CredentialsSource
from usage_pipeline.warm_container import kept_dict

# A token is used until this long before Genesys says it expires, so it never dies mid-request.
TOKEN_REFRESH_MARGIN_SECONDS: Final = 60.0


@dataclass(frozen=True)
class CachedToken:
    value: str = field(repr=False)
    use_until: float  # wall-clock seconds


# Keyed by (login base URL, client id): warm containers reuse a token across invocations.
_TOKEN_CACHE: dict[tuple[str, str], CachedToken] = kept_dict()

# credentials -> (access token, seconds it lives)
TokenFetcher = Callable[[ClientCredentials], tuple[str, float]]


class ClientCredentialsAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>``; refreshes the token once on a 401."""

    def __init__(
        self,
        login_url: str,
        credentials: CredentialsSource,
        fetch_token: TokenFetcher,
        *,
        wall_clock: Callable[[], float],
        redactor: Redactor,
    ) -> None:
        self._login_url = login_url
        self._credentials = credentials
        self._fetch_token = fetch_token
        # Token expiry uses the wall clock: a frozen Lambda container's monotonic clock may stand
        # still for hours while the token's real lifetime runs out.
        self._wall_clock = wall_clock
        self._redactor = redactor

    def credentials(self, *, fresh: bool = False) -> ClientCredentials:
        credentials = self._credentials(fresh=fresh)
        self._redactor.add(credentials.client_secret)
        return credentials

    def bearer_token(self) -> str:
        credentials = self.credentials()
        cached = _TOKEN_CACHE.get((self._login_url, credentials.client_id))
        if cached is None or self._wall_clock() >= cached.use_until:
            cached = self._new_token(credentials)
        self._redactor.add(cached.value)
        return cached.value

    def _new_token(self, credentials: ClientCredentials) -> CachedToken:
        """A token for ``credentials``; refused, for the secret as it is now, once."""
        try:
            return self._token_for(credentials)
        except GenesysAuthError:
            # The kept secret may be stale: it was fixed or rotated since this container read it.
            current = self.credentials(fresh=True)
            if current == credentials:
                raise
            logger.info("The OAuth secret changed since it was read; asking for a token again")
            return self._token_for(current)

    def _token_for(self, credentials: ClientCredentials) -> CachedToken:
        requested_at = self._wall_clock()
        value, lifetime = self._fetch_token(credentials)
        cached = CachedToken(value, requested_at + lifetime - TOKEN_REFRESH_MARGIN_SECONDS)
        _TOKEN_CACHE[(self._login_url, credentials.client_id)] = cached
        return cached

    def forget(self, token: str) -> None:
        """Drop ``token`` if it is still the cached one (another call may have renewed it)."""
        key = (self._login_url, self.credentials().client_id)
        cached = _TOKEN_CACHE.get(key)
        if cached is not None and cached.value == token:
            del _TOKEN_CACHE[key]

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.bearer_token()}"
        request.register_hook("response", self._refresh_once_on_401)
        return request

    def _refresh_once_on_401(self, response: requests.Response, **send_options: Any) -> Any:
        """The cached token was revoked or expired early: send once more with a fresh one."""
        if response.status_code != 401 or response.history:
            return response
        failed = str(response.request.headers.get("Authorization", "")).removeprefix("Bearer ")
        self.forget(failed)
        _ = response.content  # read the body so the connection can be reused
        response.close()
        again = response.request.copy()
        again.headers["Authorization"] = f"Bearer {self.bearer_token()}"
        adapter: Any = response.connection
        retried: requests.Response = adapter.send(again, **send_options)
        retried.history.append(response)
        retried.request = again
        return retried
