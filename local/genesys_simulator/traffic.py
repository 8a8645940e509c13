"""Per-token rate limiting and the request accounting a test reads back through `stats()`."""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from typing import Any

from local.genesys_simulator.wire import RATE_LIMIT_WINDOW_SECONDS


class TrafficLedger:
    """Counts every answer and enforces Genesys' per-token limit over a rolling window.

    Two windows per token: every request received (what the client did: its maximum is the number a
    test compares with the limit) and every request admitted (what the limiter allows).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: dict[str, deque[float]] = {}
        self._admitted: dict[str, deque[float]] = {}
        self._max_received: dict[str, int] = {}
        self._answers: dict[str, Counter[int]] = {}
        self._retry_after: list[int] = []
        self._faults_fired: Counter[str] = Counter()
        self._jobs_submitted: Counter[str] = Counter()
        self._tokens_issued = 0
        # Retry-After discipline: when each token may come back, and how often it came back early.
        self._wait_until: dict[str, float] = {}
        self._early_retries = 0

    def note_told_to_wait(self, token: str, now: float, retry_after: float) -> None:
        with self._lock:
            self._wait_until[token] = now + retry_after

    def note_retry_timing(self, token: str, now: float) -> None:
        """Count a request that arrives before the Retry-After its token was given has passed."""
        # 50 ms of slack: the client measures from when it read the answer, we from when we sent it.
        with self._lock:
            if now + 0.05 < self._wait_until.get(token, 0.0):
                self._early_retries += 1

    def note_received(
        self, token: str, now: float, window_seconds: float = RATE_LIMIT_WINDOW_SECONDS
    ) -> None:
        with self._lock:
            window = self._received.setdefault(token, deque())
            window.append(now)
            _expire(window, now, window_seconds)
            self._max_received[token] = max(self._max_received.get(token, 0), len(window))

    def admit(
        self,
        token: str,
        limit: int,
        now: float,
        window_seconds: float = RATE_LIMIT_WINDOW_SECONDS,
    ) -> int | None:
        """None when the request is within the limit, else the Retry-After seconds to answer."""
        with self._lock:
            window = self._admitted.setdefault(token, deque())
            _expire(window, now, window_seconds)
            if len(window) >= limit:
                # The earliest moment a slot frees up, rounded up: retrying then succeeds.
                return max(1, math.ceil(window[0] + window_seconds - now))
            window.append(now)
            return None

    def record_answer(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._answers.setdefault(endpoint, Counter())[status] += 1

    def record_retry_after(self, seconds: int) -> None:
        with self._lock:
            self._retry_after.append(seconds)

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults_fired[kind] += 1

    def record_job(self, api: str) -> None:
        with self._lock:
            self._jobs_submitted[api] += 1

    def record_token_issued(self) -> None:
        with self._lock:
            self._tokens_issued += 1

    def reset(self) -> None:
        """Forget the counts; keep the rate-limit windows (Genesys' clock does not reset)."""
        with self._lock:
            self._max_received = {token: 0 for token in self._max_received}
            self._answers.clear()
            self._retry_after.clear()
            self._faults_fired.clear()
            self._jobs_submitted.clear()
            self._tokens_issued = 0
            self._early_retries = 0

    def snapshot(
        self, rate_limit_per_minute: int, window_seconds: float = RATE_LIMIT_WINDOW_SECONDS
    ) -> dict[str, Any]:
        with self._lock:
            answers = {
                endpoint: {str(status): count for status, count in sorted(counter.items())}
                for endpoint, counter in sorted(self._answers.items())
            }
            return {
                "requests": answers,
                "totalRequests": sum(sum(counter.values()) for counter in self._answers.values()),
                "maxRequestsPerWindowByToken": dict(self._max_received),
                "maxRequestsPerWindow": max(self._max_received.values(), default=0),
                "windowSeconds": window_seconds,
                "rateLimitPerMinute": rate_limit_per_minute,
                "retryAfter": list(self._retry_after),
                "faultsFired": dict(self._faults_fired),
                "jobsSubmitted": dict(self._jobs_submitted),
                "tokensIssued": self._tokens_issued,
                "retriesBeforeRetryAfter": self._early_retries,
            }


def _expire(window: deque[float], now: float, window_seconds: float) -> None:
    while window and window[0] <= now - window_seconds:
        window.popleft()
