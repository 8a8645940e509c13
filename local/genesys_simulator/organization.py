"""A deterministic synthetic Genesys Cloud organization and its API usage, day by day.

The organization (OAuth clients, people, endpoints, traffic streams) is drawn once from the seed.
A day's usage is drawn from a generator seeded by (seed, date), so any day is reproducible on its
own without storing a year of data, and a day is cached once drawn because queries overlap.
`random.Random` is the right tool here (S311 does not apply): the data must repeat, not be secret.
"""

from __future__ import annotations

import functools
import random
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, NamedTuple, TypeVar

from local.genesys_simulator import catalog


@dataclass(frozen=True, slots=True)
class OAuthClient:
    id: str
    name: str
    grant_type: str


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class TrafficStream:
    """One combination of every dimension (client, user, template, method, platform) and habits."""

    client: OAuthClient
    user: User
    template_uri: str
    http_method: str
    platform: str
    active_probability: float
    daily_volume: float
    works_weekends: bool
    redirect_rate: float
    client_error_rate: float
    throttle_share: float  # share of the 4xx answers that are 429s
    server_error_rate: float


class DailyUsage(NamedTuple):
    """What one traffic stream did on one day; the finest grain the simulator knows.

    A NamedTuple rather than a frozen dataclass: a 90-day query builds ~150k of these and a frozen
    dataclass's __init__ is several times slower.
    """

    stream: TrafficStream
    status200: int
    status300: int
    status400: int
    status429: int  # a subset of status400, as in Genesys
    status500: int

    @property
    def requests(self) -> int:
        return self.status200 + self.status300 + self.status400 + self.status500


K = TypeVar("K")
V = TypeVar("V")

# Weekend traffic of people-driven clients drops to this share; integrations run every day.
_WEEKEND_ACTIVITY = 0.35
_DAY_CACHE_SIZE = 800  # more than the 366 days a query may reach, so a warm cache never thrashes


class Organization:
    """The simulated organization; `usage_on(day)` is its whole usage history, drawn on demand."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        rng = random.Random(f"genesys-sim/organization/{seed}")  # noqa: S311
        self.id = _uuid(rng)
        self.name = catalog.ORGANIZATION_NAME
        self.users = _draw_users(rng)
        self.clients = tuple(
            OAuthClient(id=_uuid(rng), name=name, grant_type=grant)
            for name, grant in catalog.OAUTH_CLIENTS
        )
        self.templates = template_catalog()
        self.streams = _draw_streams(rng, self.clients, self.users, self.templates)
        self.client_by_id = {client.id: client for client in self.clients}
        self.user_by_id = {user.id: user for user in self.users}
        # Days grouped by a set of dimensions, filled by the query layer (queries.py).
        self.grouped_cache: BoundedCache[Any, Any] = BoundedCache(maxsize=4 * _DAY_CACHE_SIZE)
        # Bound per instance so two organizations never share (or evict) each other's days.
        self._cached_usage_on = functools.lru_cache(maxsize=_DAY_CACHE_SIZE)(self._draw_day)

    def usage_on(self, day: date) -> tuple[DailyUsage, ...]:
        """Every stream that had traffic on `day` (most streams are quiet on most days)."""
        return self._cached_usage_on(day)

    def _draw_day(self, day: date) -> tuple[DailyUsage, ...]:
        rng = random.Random(f"genesys-sim/usage/{self.seed}/{day.isoformat()}")  # noqa: S311
        weekend = day.weekday() >= 5
        usage: list[DailyUsage] = []
        for stream in self.streams:
            quiet_weekend = weekend and not stream.works_weekends
            activity = stream.active_probability * (_WEEKEND_ACTIVITY if quiet_weekend else 1.0)
            # Draw for every stream, active or not, so one stream's luck never shifts another's.
            active_draw, volume_draw = rng.random(), rng.random()
            if active_draw >= activity:
                continue
            volume = stream.daily_volume * (_WEEKEND_ACTIVITY if quiet_weekend else 1.0)
            requests = max(1, round(volume * (0.5 + volume_draw)))
            status500 = _portion(requests, stream.server_error_rate, rng)
            status300 = _portion(requests - status500, stream.redirect_rate, rng)
            status400 = _portion(requests - status500 - status300, stream.client_error_rate, rng)
            status429 = _portion(status400, stream.throttle_share, rng)
            usage.append(
                DailyUsage(
                    stream=stream,
                    status200=requests - status500 - status300 - status400,
                    status300=status300,
                    status400=status400,
                    status429=status429,
                    status500=status500,
                )
            )
        return tuple(usage)


class BoundedCache(Generic[K, V]):
    """A small thread-safe LRU map: request threads share it, and a year of days stays bounded."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)


def template_catalog() -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    """Every template URI with the methods it answers and how often each is used."""
    templates: list[tuple[str, tuple[tuple[str, int], ...]]] = []
    for collection, placeholder, sub_resources in catalog.RESOURCE_FAMILIES:
        base = f"api/v2/{collection}"
        item = f"{base}/{{{placeholder}}}"
        templates.append((base, catalog.COLLECTION_METHOD_WEIGHTS))
        templates.append((item, catalog.ITEM_METHOD_WEIGHTS))
        templates.extend(
            (f"{item}/{sub}", catalog.SUB_RESOURCE_METHOD_WEIGHTS) for sub in sub_resources
        )
    for path, methods in catalog.STANDALONE_TEMPLATES:
        templates.append((f"api/v2/{path}", tuple((method, 1) for method in methods)))
    return tuple(templates)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _portion(total: int, rate: float, rng: random.Random) -> int:
    """About `rate` of `total`, jittered, rounded stochastically so small counts still vary."""
    if rate == 0.0 or total == 0:
        return 0  # most streams never see a 3xx or 5xx; skipping the draws keeps a day cheap
    expected = total * rate * (0.5 + rng.random())
    whole = int(expected)
    if rng.random() < expected - whole:
        whole += 1
    return min(total, whole)


def _draw_users(rng: random.Random) -> tuple[User, ...]:
    names = [f"{first} {last}" for first in catalog.FIRST_NAMES for last in catalog.LAST_NAMES]
    return tuple(User(id=_uuid(rng), name=name) for name in rng.sample(names, 80))


def _draw_streams(
    rng: random.Random,
    clients: tuple[OAuthClient, ...],
    users: tuple[User, ...],
    templates: tuple[tuple[str, tuple[tuple[str, int], ...]], ...],
) -> tuple[TrafficStream, ...]:
    streams: list[TrafficStream] = []
    for client in clients:
        acts_for_people = client.grant_type != "client_credentials"
        heavy = rng.random() < 0.3
        endpoint_count = rng.randint(80, 160) if heavy else rng.randint(10, 70)
        # A few clients hammer the API and get throttled; most rarely see a 429.
        noisy = rng.random() < 0.2
        people = rng.sample(users, rng.randint(5, 25)) if acts_for_people else [rng.choice(users)]
        primary_platform = (
            rng.choice(("PureCloud Platform", "Embedded Framework", "Mobile"))
            if acts_for_people
            else "Public API"
        )
        endpoints: set[tuple[str, str]] = set()
        for template_uri, method_weights in rng.sample(templates, endpoint_count):
            methods = [method for method, _ in method_weights]
            weights = [weight for _, weight in method_weights]
            endpoints.add((template_uri, rng.choices(methods, weights)[0]))
        for template_uri, http_method in sorted(endpoints):
            callers = rng.sample(people, min(len(people), rng.randint(1, 3)))
            for user in callers:
                platform = rng.choice(catalog.PLATFORMS) if rng.random() < 0.1 else primary_platform
                streams.append(
                    TrafficStream(
                        client=client,
                        user=user,
                        template_uri=template_uri,
                        http_method=http_method,
                        platform=platform,
                        active_probability=rng.uniform(0.1, 0.95),
                        daily_volume=rng.lognormvariate(1.5, 1.3) * (6 if heavy else 1),
                        works_weekends=not acts_for_people,
                        redirect_rate=0.02 if rng.random() < 0.1 else 0.0,
                        client_error_rate=rng.uniform(0.05, 0.4) if noisy else rng.uniform(0, 0.05),
                        throttle_share=rng.uniform(0.3, 0.9) if noisy else rng.uniform(0, 0.05),
                        server_error_rate=0.01 if rng.random() < 0.15 else 0.0,
                    )
                )
    return tuple(streams)
