"""A deterministic synthetic Genesys Cloud organization and its API usage, day by day.

The organization (OAuth clients, people, endpoints, traffic streams) is drawn once from the seed
and its size (`default`: 42 clients; `large`: 3000 clients and ~3000 templates). A day's usage
is drawn from a generator seeded by (seed, size, date), so any day is reproducible on its own
without storing a year of data.

Everything per stream is kept in columns and every dimension value as its rank in a sorted table,
so a day of the large organization (~80k streams) is drawn and grouped in under a tenth of a
second (measure.py): a group is one integer whose order is the rows' order (see `KeyCodec`).
`random.Random` is the right tool here (S311 does not apply): the data must repeat, not be secret.
"""

from __future__ import annotations

import random
import threading
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, count, pairwise
from typing import Final, Generic, NamedTuple, TypeVar

from local.genesys_simulator import vocabulary

# The dimensions a stream combines, in the order rows are sorted in after the date.
CLIENT: Final = "client"
USER: Final = "user"
TEMPLATE: Final = "template"
METHOD: Final = "method"
PLATFORM: Final = "platform"
DIMENSIONS: Final = (CLIENT, USER, TEMPLATE, METHOD, PLATFORM)
COUNTS_PER_ROW: Final = 5  # status200, status300, status400, status429, status500

# Weekend traffic of people-driven clients drops to this share; integrations run every day.
_WEEKEND_ACTIVITY: Final = 0.35
_LOW32: Final = 0xFFFFFFFF
_DAYS_CACHED: Final = 8  # drawn days kept: a day grouped again another way is not drawn again
# Grouped days kept, counted in rows: ~200 MB of the large organization's 90 days at most.
_GROUPED_ROWS_CACHED: Final = 4_000_000


@dataclass(frozen=True, slots=True)
class OAuthClient:
    id: str
    name: str
    grant_type: str


@dataclass(frozen=True)
class Profile:
    """How big an organization is drawn."""

    extra_clients: int  # clients beyond vocabulary.OAUTH_CLIENTS, with built names
    people: int
    heavy_endpoints: tuple[int, int]  # (template, method) pairs a heavy client calls
    light_endpoints: tuple[int, int]
    extended_templates: bool  # vocabulary.*_EXTENSIONS too: thousands of templates


PROFILES: Final = {
    "default": Profile(
        extra_clients=0,
        people=80,
        heavy_endpoints=(80, 160),
        light_endpoints=(10, 70),
        extended_templates=False,
    ),
    "large": Profile(
        extra_clients=vocabulary.LARGE_EXTRA_CLIENTS,
        people=vocabulary.LARGE_PEOPLE,
        heavy_endpoints=(30, 70),
        light_endpoints=(4, 16),
        extended_templates=True,
    ),
}


class Habit(NamedTuple):
    """How one stream behaves on an active day; rates are fixed-point, 65536 = 100%."""

    volume: float  # typical requests
    server_error: int
    redirect: int
    client_error: int
    throttle: int  # share of the 4xx answers that are 429s


@dataclass(frozen=True)
class Behaviour:
    """Every stream on one kind of day (weekday or weekend)."""

    activity: array[int]  # active when the day's 64-bit draw falls below this
    habits: list[Habit]


@dataclass(frozen=True)
class Streams:
    """Every traffic stream (one combination of the five dimensions, and its habits), by column.

    Streams are ordered by client, template and method (each by its rank), so the keys of a
    grouping by client, by client and template, or by all three (the default grouping) rise with
    the stream index: such a day is grouped in one pass, without a dictionary or a sort.
    """

    ranks: dict[str, array[int]]  # dimension -> each stream's rank in Organization.values
    weekday: Behaviour
    weekend: Behaviour

    def __len__(self) -> int:
        return len(self.weekday.habits)


@dataclass(frozen=True)
class DayUsage:
    """What the streams active on one day did; the finest grain the simulator knows."""

    streams: array[int]  # indexes into Streams
    counts: list[tuple[int, int, int, int, int]]  # status200, 300, 400, 429 (within 400), 500


@dataclass(frozen=True)
class GroupedCounts:
    """Counts per group, groups in row order: `keys` sorted, `counts` five per key."""

    keys: array[int]
    counts: array[int]

    def __len__(self) -> int:
        return len(self.keys)

    def row(self, index: int) -> tuple[int, Sequence[int]]:
        start = index * COUNTS_PER_ROW
        return self.keys[index], self.counts[start : start + COUNTS_PER_ROW]

    @classmethod
    def total(cls, parts: Sequence[GroupedCounts]) -> GroupedCounts:
        """Several groupings (the days of a period) added up group by group (one: itself)."""
        if len(parts) == 1:
            return parts[0]
        keys = [key for part in parts for key in part.keys]
        counts = [part.row(index)[1] for part in parts for index in range(len(part))]
        return _group(keys, counts)

    @classmethod
    def from_totals(cls, totals: dict[int, list[int]]) -> GroupedCounts:
        keys = sorted(key for key, counts in totals.items() if any(counts))
        return cls(array("q", keys), array("q", chain.from_iterable(totals[k] for k in keys)))


class KeyCodec:
    """A group of some dimensions as one integer: the ranks in mixed radix, in DIMENSIONS order.

    Ranks come from sorted value tables, so integer order is the order of the value tuples: rows
    sort by the integer alone.
    """

    def __init__(self, dimensions: tuple[str, ...], sizes: dict[str, int]) -> None:
        self.dimensions = dimensions
        self._radices = tuple(sizes[dimension] for dimension in dimensions)

    def encode(self, ranks: Iterable[int]) -> int:
        key = 0
        for rank, radix in zip(ranks, self._radices, strict=True):
            key = key * radix + rank
        return key

    def decode(self, key: int) -> dict[str, int]:
        ranks: dict[str, int] = {}
        for dimension, radix in zip(
            reversed(self.dimensions), reversed(self._radices), strict=True
        ):
            key, ranks[dimension] = divmod(key, radix)
        return ranks


K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A thread-safe LRU map bounded by the summed cost of its values (request threads share it)."""

    def __init__(self, max_cost: int, cost: Callable[[V], int] = lambda _value: 1) -> None:
        self._max_cost = max_cost
        self._cost = cost
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: K, value: V) -> None:
        cost = self._cost(value)
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._total -= previous[1]
            self._items[key] = (value, cost)
            self._total += cost
            while self._total > self._max_cost and len(self._items) > 1:
                _, (_, evicted) = self._items.popitem(last=False)
                self._total -= evicted


class Organization:
    """The simulated organization; `day_totals(day, ...)` is its whole usage history, on demand."""

    def __init__(self, seed: int, size: str = "default") -> None:
        if size not in PROFILES:
            raise ValueError(f"size: {size!r} is not one of {', '.join(PROFILES)}")
        self.seed = seed
        self.size = size
        profile = PROFILES[size]
        rng = random.Random(f"genesys-sim/organization/{size}/{seed}")  # noqa: S311
        self.id = _uuid(rng)
        self.name = vocabulary.ORGANIZATION_NAME
        people = [_uuid(rng) for _ in range(profile.people)]
        drawn_clients = _draw_clients(rng, profile)
        # Value tables sorted, so that ranks order like the values (see KeyCodec).
        self.clients = tuple(sorted(drawn_clients, key=lambda client: client.id))
        self.users = tuple(sorted(people))
        templates = template_catalog(extended=profile.extended_templates)
        self.values: dict[str, tuple[str, ...]] = {
            CLIENT: tuple(client.id for client in self.clients),
            USER: self.users,
            TEMPLATE: tuple(sorted(template for template, _ in templates)),
            METHOD: tuple(sorted(vocabulary.HTTP_METHODS)),
            PLATFORM: tuple(sorted(vocabulary.PLATFORMS)),
        }
        self.templates = self.values[TEMPLATE]
        self.streams = _draw_streams(rng, profile, self.clients, people, templates, self.values)
        self._sizes = {dimension: len(values) for dimension, values in self.values.items()}
        # dimensions -> (each stream's group key, whether the keys rise with the stream index)
        self._stream_keys: dict[tuple[str, ...], tuple[array[int], bool]] = {}
        self._days: BoundedCache[date, DayUsage] = BoundedCache(_DAYS_CACHED)
        # (day, dimensions, share numerator and denominator, trend numerator and denominator)
        self._grouped: BoundedCache[
            tuple[date, tuple[str, ...], int, int, int, int], GroupedCounts
        ] = BoundedCache(_GROUPED_ROWS_CACHED, cost=len)
        self._keys_lock = threading.Lock()

    def codec(self, dimensions: tuple[str, ...]) -> KeyCodec:
        return KeyCodec(dimensions, self._sizes)

    def usage_on(self, day: date) -> DayUsage:
        """Every stream that had traffic on `day` (most streams are quiet on most days)."""
        usage = self._days.get(day)
        if usage is None:
            usage = self._draw_day(day)
            self._days.put(day, usage)
        return usage

    def day_totals(
        self,
        day: date,
        dimensions: tuple[str, ...],
        share: tuple[int, int] = (1, 1),
        trend: tuple[int, int] = (1, 1),
    ) -> GroupedCounts:
        """One day's counts grouped by `dimensions` (DIMENSIONS order): each stream's counts
        times `trend` (numerator, denominator; see `_trended`), then taken at `share` (rounded
        down) while the day is not final."""
        cache_key = (day, dimensions, *share, *trend)
        grouped = self._grouped.get(cache_key)
        if grouped is not None:
            return grouped
        usage = self.usage_on(day)
        keys_of_streams, rising = self._keys_of_streams(dimensions)
        keys = [keys_of_streams[stream] for stream in usage.streams]
        counts: Sequence[tuple[int, ...]] = usage.counts
        if trend[0] != trend[1]:
            counts = _trended(usage.streams, counts, *trend)
        numerator, denominator = share
        if numerator != denominator:
            counts = [tuple(c * numerator // denominator for c in each) for each in usage.counts]
        grouped = _group_rising(keys, counts) if rising else _group(keys, counts)
        self._grouped.put(cache_key, grouped)
        return grouped

    def _keys_of_streams(self, dimensions: tuple[str, ...]) -> tuple[array[int], bool]:
        """Each stream's group key for `dimensions`, and whether they rise with the stream index;
        worked out once per set of dimensions."""
        with self._keys_lock:
            known = self._stream_keys.get(dimensions)
            if known is None:
                codec = self.codec(dimensions)
                columns = [self.streams.ranks[dimension] for dimension in dimensions]
                if columns:
                    keys = array("q", (codec.encode(ranks) for ranks in zip(*columns, strict=True)))
                else:
                    keys = array("q", bytes(8 * len(self.streams)))  # one group: everything
                rising = all(previous <= key for previous, key in pairwise(keys))
                known = self._stream_keys[dimensions] = (keys, rising)
            return known

    def _draw_day(self, day: date) -> DayUsage:
        seed_text = f"genesys-sim/usage/{self.size}/{self.seed}/{day.isoformat()}"
        rng = random.Random(seed_text)  # noqa: S311
        behaviour = self.streams.weekend if day.weekday() >= 5 else self.streams.weekday
        # One 64-bit word per stream, drawn for every stream so one stream's luck never shifts
        # another's: it decides whether the stream is active, its low half the volume.
        words = _words(rng, len(behaviour.habits))
        active = [
            stream
            for stream, word, activity in zip(count(), words, behaviour.activity, strict=False)
            if word < activity
        ]
        # Two more words per active stream for its status counts.
        counts = _day_counts(active, words, behaviour.habits, _words(rng, 2 * len(active)))
        return DayUsage(array("q", active), counts)


def template_catalog(
    *, extended: bool = False
) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    """Every template URI with the methods it answers and how often each is used."""
    templates: dict[str, tuple[tuple[str, int], ...]] = {}
    for collection, placeholder, sub_resources in vocabulary.RESOURCE_FAMILIES:
        base = f"api/v2/{collection}"
        item = f"{base}/{{{placeholder}}}"
        templates[base] = vocabulary.COLLECTION_METHOD_WEIGHTS
        templates[item] = vocabulary.ITEM_METHOD_WEIGHTS
        for sub in sub_resources:
            templates[f"{item}/{sub}"] = vocabulary.SUB_RESOURCE_METHOD_WEIGHTS
    for path, methods in vocabulary.STANDALONE_TEMPLATES:
        templates[f"api/v2/{path}"] = tuple((method, 1) for method in methods)
    if extended:
        for collection, placeholder, _ in vocabulary.RESOURCE_FAMILIES:
            base = f"api/v2/{collection}"
            extensions = chain(
                (f"{base}/{extension}" for extension in vocabulary.COLLECTION_EXTENSIONS),
                (
                    f"{base}/{{{placeholder}}}/{extension}"
                    for extension in vocabulary.ITEM_EXTENSIONS
                ),
            )
            for template in extensions:
                templates.setdefault(template, vocabulary.SUB_RESOURCE_METHOD_WEIGHTS)
    return tuple(templates.items())


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _words(rng: random.Random, how_many: int) -> array[int]:
    """`how_many` random 64-bit integers, drawn in one call (per-stream calls are too slow)."""
    words = array("Q")
    words.frombytes(rng.randbytes(8 * how_many))
    return words


def _day_counts(
    active: list[int], words: array[int], habits: list[Habit], more: array[int]
) -> list[tuple[int, int, int, int, int]]:
    """Each active stream's (status200, status300, status400, status429, status500).

    One loop with `_portion` called only for non-zero rates: a day of the large organization has
    ~40k active streams, and a function call per count would double the time of a day.
    """
    counts: list[tuple[int, int, int, int, int]] = []
    for stream, first, second in zip(active, more[0::2], more[1::2], strict=True):
        volume, server_error, redirect, client_error, throttle = habits[stream]
        requests = int(volume * (0.5 + (words[stream] & _LOW32) / 4294967296) + 0.5) or 1
        status500 = _portion(requests, server_error, first & _LOW32) if server_error else 0
        rest = requests - status500
        status300 = _portion(rest, redirect, first >> 32) if redirect else 0
        rest -= status300
        status400 = _portion(rest, client_error, second & _LOW32) if client_error else 0
        status429 = _portion(status400, throttle, second >> 32) if status400 and throttle else 0
        counts.append((rest - status400, status300, status400, status429, status500))
    return counts


def _trended(
    streams: Sequence[int], counts: Sequence[tuple[int, ...]], numerator: int, denominator: int
) -> list[tuple[int, ...]]:
    """Counts times numerator/denominator, rounded up or down so that the totals grow by the
    factor: most streams count a few requests, which rounding down alone would leave as they are.

    The rounding offset is fixed per stream (a Weyl sequence of its index), so the same stream
    gets the same offset on each of its counts: status429 stays within status400, and 0 stays 0.
    """
    trended: list[tuple[int, ...]] = []
    for stream, each in zip(streams, counts, strict=True):
        offset = (stream * _WEYL) % denominator
        trended.append(tuple((count * numerator + offset) // denominator for count in each))
    return trended


def _group_rising(keys: list[int], counts: Sequence[tuple[int, ...]]) -> GroupedCounts:
    """Group counts whose keys already rise (equal keys adjacent): one pass, no sorting."""
    group_keys: list[int] = []
    group_counts: list[tuple[int, ...]] = []
    previous = -1
    for key, each in zip(keys, counts, strict=True):
        if key != previous:
            group_keys.append(key)
            group_counts.append(each)
            previous = key
        else:
            group_counts[-1] = tuple(map(sum, zip(group_counts[-1], each, strict=True)))
    if not all(map(any, group_counts)):  # late data rounds a small group down to nothing
        kept = [
            (key, each) for key, each in zip(group_keys, group_counts, strict=True) if any(each)
        ]
        group_keys = [key for key, _ in kept]
        group_counts = [each for _, each in kept]
    return GroupedCounts(array("q", group_keys), array("q", chain.from_iterable(group_counts)))


def _group(keys: list[int], counts: Sequence[Sequence[int]]) -> GroupedCounts:
    """Group counts by key in any order."""
    totals: dict[int, list[int]] = {}
    for key, each in zip(keys, counts, strict=True):
        group = totals.get(key)
        if group is None:
            totals[key] = list(each)
        else:
            for position, value in enumerate(each):
                group[position] += value
    return GroupedCounts.from_totals(totals)


_WEYL: Final = 0x9E3779B1  # 2**32 / golden ratio: consecutive multiples spread evenly


def _portion(total: int, rate: int, bits: int) -> int:
    """About rate/65536 of `total`, jittered by up to 50% either way, rounded up or down at
    random so that small counts still vary; from 32 random bits, in integers (fast)."""
    # (2048 + 12 jitter bits) / 4096 is 0.5..1.5; the other 20 bits round: scale 2**28.
    whole = (total * rate * (2048 + (bits & 0xFFF)) + ((bits >> 12) << 8)) >> 28
    return whole if whole < total else total


def _rate(value: float) -> int:
    return round(value * 65536)


def _draw_clients(rng: random.Random, profile: Profile) -> list[OAuthClient]:
    named = list(vocabulary.OAUTH_CLIENTS)
    if profile.extra_clients:
        sites, purposes = vocabulary.LARGE_CLIENT_SITES, vocabulary.LARGE_CLIENT_PURPOSES
        environments = vocabulary.LARGE_CLIENT_ENVIRONMENTS
        combinations = len(sites) * len(purposes) * len(environments)
        for number in rng.sample(range(combinations), profile.extra_clients):
            rest, environment = divmod(number, len(environments))
            site, purpose = divmod(rest, len(purposes))
            grant = rng.choices(("client_credentials", "code", "implicit"), (75, 15, 10))[0]
            name = f"{sites[site]} {purposes[purpose]}{environments[environment]}"
            named.append((name, grant))
    return [OAuthClient(id=_uuid(rng), name=name, grant_type=grant) for name, grant in named]


def _draw_streams(
    rng: random.Random,
    profile: Profile,
    clients: tuple[OAuthClient, ...],
    people: list[str],
    templates: tuple[tuple[str, tuple[tuple[str, int], ...]], ...],
    values: dict[str, tuple[str, ...]],
) -> Streams:
    rank = {
        dimension: {value: position for position, value in enumerate(table)}
        for dimension, table in values.items()
    }
    ranks: dict[str, array[int]] = {dimension: array("q") for dimension in DIMENSIONS}
    weekday, weekend = Behaviour(array("Q"), []), Behaviour(array("Q"), [])
    for client in clients:
        acts_for_people = client.grant_type != "client_credentials"
        heavy = rng.random() < 0.3
        endpoint_count = rng.randint(
            *(profile.heavy_endpoints if heavy else profile.light_endpoints)
        )
        # A few clients hammer the API and get throttled; most rarely see a 429.
        noisy = rng.random() < 0.2
        callers_pool = (
            rng.sample(people, rng.randint(5, 25)) if acts_for_people else [rng.choice(people)]
        )
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
            callers = rng.sample(callers_pool, min(len(callers_pool), rng.randint(1, 3)))
            for user in callers:
                platform = (
                    rng.choice(vocabulary.PLATFORMS) if rng.random() < 0.1 else primary_platform
                )
                stream_values = (client.id, user, template_uri, http_method, platform)
                for dimension, value in zip(DIMENSIONS, stream_values, strict=True):
                    ranks[dimension].append(rank[dimension][value])
                activity = rng.uniform(0.1, 0.95)
                habit = Habit(
                    volume=rng.lognormvariate(1.5, 1.3) * (6 if heavy else 1),
                    server_error=_rate(0.01) if rng.random() < 0.15 else 0,
                    redirect=_rate(0.02) if rng.random() < 0.1 else 0,
                    client_error=_rate(rng.uniform(0.05, 0.4) if noisy else rng.uniform(0, 0.05)),
                    throttle=_rate(rng.uniform(0.3, 0.9) if noisy else rng.uniform(0, 0.05)),
                )
                weekday.activity.append(int(activity * 2**64))
                weekday.habits.append(habit)
                if acts_for_people:  # people rest at weekends
                    activity *= _WEEKEND_ACTIVITY
                    habit = habit._replace(volume=habit.volume * _WEEKEND_ACTIVITY)
                weekend.activity.append(int(activity * 2**64))
                weekend.habits.append(habit)
    return Streams(ranks=ranks, weekday=weekday, weekend=weekend)
