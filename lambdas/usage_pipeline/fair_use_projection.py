"""One calendar month's requests against the fair use allowance: so far, projected, who drives it.

Two pure functions over numbers the caller has already summed (no I/O, no clock):

``project_month(daily_requests, *, month, through, allowance, before_month)``: ``MonthProjection``
    ``daily_requests``: the month's landed UTC days and each day's requests (every client).
    ``through``: the last day that is over for this view (yesterday at the latest); on or after
    the month's last day, the month is over. Each day of the month is then
    - ``landed``: it has a number;
    - ``missing``: on or before ``through`` but not landed. It is never filled in silently: it stays
      out of ``requests_so_far`` and is listed in ``missing_days``; the projection counts it at its
      kind's rate (``missing_estimate``), because Genesys bills that day's requests all the same;
    - ``future``: after ``through``, projected at its kind's rate (``future_estimate``).
    ``projected_requests`` = requests so far + missing estimate + future estimate.

    The rates, weekdays and weekends apart (UTC Saturday and Sunday: people-driven traffic drops
    at weekends while integrations run on): the MEDIAN of the month's last ``RATE_WEEKDAYS``
    landed weekdays, and of its last ``RATE_WEEKEND_DAYS`` landed weekend days (about two weeks).
    The median, not the mean, so a holiday, an outage or a one-day spike does not move the rate
    (it takes half the days to); the last two weeks, not the whole month, so a trend is followed
    with about a week's lag. Rates are whole requests a day (halves round up). A kind the month
    has no landed day of yet (the first days of a month) takes its rate from ``before_month`` (the
    days before the 1st, if the caller gives them), else from the other kind; with no landed day at
    all there is no projection (``projected_requests`` is None) and the rest is still computed.
    ``DayRate.basis`` and ``DayRate.days`` say which days each rate is the median of.

    With an allowance: ``crossing`` is the first day the running total (landed, estimated and
    projected days alike) exceeds it, whether that is already behind us (``already``) and whether
    an estimated missing day is part of it (``estimated``); ``projected_overage`` and
    ``overage_so_far`` are what Genesys would bill; ``projected_percent`` is the projection as a
    percentage of the allowance (the alarm's metric). Without one, those are None.

``client_shares(month, previous_month)`` -> ``ClientShares``
    Per-client totals of the month so far and of the whole month before: each client's share of
    the month's requests and how it moved (percentage points) against its share of the month
    before; clients new this month have no previous share, clients gone are listed apart.

Rendering it (the report's section, the alarm's metric, the digest's line):
- the month at a glance: ``requests_so_far``, ``projected_requests``, ``allowance.monthly_requests``
  (``allowance.describe()`` says how it is made up), ``crossing``, ``projected_overage``;
- the days: ``days`` (one per day of the month, ``status`` landed / missing / future, ``counted``
  and ``running_total``) draw as bars and a running line against the allowance; ``missing_days``
  must be said, with ``missing_estimate`` ("counted at the rate");
- how it was made: ``weekday_rate`` and ``weekend_rate`` (``requests_per_day``, ``basis``,
  ``days``), e.g. "weekdays at 14,233 a day: the median of the 10 weekdays Nov 9 to Nov 20";
- the metric: ``projected_percent``; the digest's top client: ``client_shares(...).top(1)``.

What the numbers mean (say it where they are shown): the aggregates API counts every request,
Genesys's own ``purecloud`` clients included, which the legacy API and Genesys's admin page leave
out, and neither API returns billing numbers: a projection from aggregates rows is an upper bound
of what Genesys bills, monthly in arrears. Genesys does not say when a day's numbers are final: a
recent day may still grow.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from usage_pipeline.fair_use import Allowance

RATE_WEEKDAYS: Final = 10
RATE_WEEKEND_DAYS: Final = 4
_SATURDAY: Final = 5


class DayStatus(StrEnum):
    LANDED = "landed"
    MISSING = "missing"  # over, but not landed: estimated at the rate, never taken as landed
    FUTURE = "future"  # not over yet: projected at the rate


class RateBasis(StrEnum):
    """Where a rate comes from."""

    MONTH = "month"  # the month's own landed days of that kind
    BEFORE_MONTH = "before_month"  # none this month yet: the days before the 1st
    OTHER_KIND = "other_kind"  # none of that kind anywhere: the other kind's rate
    NONE = "none"  # no landed day at all: no rate


@dataclass(frozen=True)
class DayRate:
    """Requests a day for one kind of day (weekday or weekend), and the days it is the median of."""

    requests_per_day: int | None
    basis: RateBasis
    days: tuple[date, ...] = ()


@dataclass(frozen=True)
class MonthDay:
    """One day of the month: landed (``requests``) or estimated (``estimate``), running total."""

    day: date
    weekend: bool
    status: DayStatus
    requests: int | None  # landed days only
    estimate: int | None  # missing and future days, when there is a rate
    running_total: int | None  # landed + estimated up to this day; None without a rate

    @property
    def counted(self) -> int | None:
        """What the day adds to the projection."""
        return self.requests if self.status is DayStatus.LANDED else self.estimate


@dataclass(frozen=True)
class Crossing:
    """The first day the month's running total exceeds the allowance."""

    day: date
    already: bool  # on or before ``through``: behind us
    estimated: bool  # a missing day's estimate is part of the total that crosses


@dataclass(frozen=True)
class MonthProjection:
    month: date  # the 1st
    through: date
    days: tuple[MonthDay, ...]  # every day of the month, in order
    weekday_rate: DayRate
    weekend_rate: DayRate
    requests_so_far: int  # landed days only
    missing_estimate: int | None
    future_estimate: int | None
    projected_requests: int | None
    allowance: Allowance | None
    crossing: Crossing | None

    def _with_status(self, status: DayStatus) -> tuple[date, ...]:
        return tuple(each.day for each in self.days if each.status is status)

    @property
    def landed_days(self) -> tuple[date, ...]:
        return self._with_status(DayStatus.LANDED)

    @property
    def missing_days(self) -> tuple[date, ...]:
        return self._with_status(DayStatus.MISSING)

    @property
    def future_days(self) -> tuple[date, ...]:
        return self._with_status(DayStatus.FUTURE)

    @property
    def complete(self) -> bool:
        """Every day of the month is over and landed: the numbers are the month's (as landed)."""
        return all(each.status is DayStatus.LANDED for each in self.days)

    @property
    def overage_so_far(self) -> int | None:
        return None if self.allowance is None else self.allowance.overage(self.requests_so_far)

    @property
    def projected_overage(self) -> int | None:
        if self.allowance is None or self.projected_requests is None:
            return None
        return self.allowance.overage(self.projected_requests)

    @property
    def percent_so_far(self) -> float | None:
        return None if self.allowance is None else self.allowance.percent_of(self.requests_so_far)

    @property
    def projected_percent(self) -> float | None:
        if self.allowance is None or self.projected_requests is None:
            return None
        return self.allowance.percent_of(self.projected_requests)


def project_month(
    daily_requests: Mapping[date, int],
    *,
    month: date,
    through: date,
    allowance: Allowance | None,
    before_month: Mapping[date, int] | None = None,
) -> MonthProjection:
    """The month of ``month`` (any day of it) from its landed days (module docstring).

    ValueError when ``through`` is before the month, on a day outside the month or after
    ``through``, or on a count that is not a whole number of 0 or more.
    """
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if through < first:
        raise ValueError(
            f"through: {through} is not allowed; expected a day of {first:%Y-%m} or later"
        )
    for day, requests in daily_requests.items():
        _check_day("daily_requests", day, requests, first, min(through, last))
    earlier = dict(before_month or {})
    for day, requests in earlier.items():
        _check_day("before_month", day, requests, None, first - timedelta(days=1))

    weekday_rate, weekend_rate = _rates(daily_requests, earlier)
    days: list[MonthDay] = []
    running: int | None = 0
    for day in _days(first, last):
        weekend = _is_weekend(day)
        rate = (weekend_rate if weekend else weekday_rate).requests_per_day
        landed = daily_requests.get(day)
        estimate: int | None = None
        if landed is not None:
            status = DayStatus.LANDED
        else:
            status = DayStatus.MISSING if day <= through else DayStatus.FUTURE
            estimate = rate
        counted = landed if landed is not None else estimate
        running = None if running is None or counted is None else running + counted
        days.append(MonthDay(day, weekend, status, landed, estimate, running))

    estimates = _estimates(days)
    projected = days[-1].running_total
    return MonthProjection(
        month=first,
        through=through,
        days=tuple(days),
        weekday_rate=weekday_rate,
        weekend_rate=weekend_rate,
        requests_so_far=sum(daily_requests.values()),
        missing_estimate=estimates[DayStatus.MISSING],
        future_estimate=estimates[DayStatus.FUTURE],
        projected_requests=projected,
        allowance=allowance,
        crossing=None if allowance is None else _crossing(days, through, allowance),
    )


def _check_day(name: str, day: object, requests: object, first: date | None, last: date) -> None:
    inside = isinstance(day, date) and (first is None or first <= day) and day <= last
    if not inside:
        shown = day.isoformat() if isinstance(day, date) else repr(day)
        span = f"from {first} to {last}" if first is not None else f"up to {last}"
        raise ValueError(f"{name}: day {shown} is not allowed; expected a date {span}")
    if not isinstance(requests, int) or isinstance(requests, bool) or requests < 0:
        raise ValueError(
            f"{name}[{day}]: {requests!r} is not allowed; expected a whole number, 0 or more"
        )


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _is_weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY


def _rates(month: Mapping[date, int], before_month: Mapping[date, int]) -> tuple[DayRate, DayRate]:
    weekday = _rate_of_kind(month, before_month, weekend=False)
    weekend = _rate_of_kind(month, before_month, weekend=True)
    if weekday.basis is RateBasis.NONE and weekend.basis is not RateBasis.NONE:
        weekday = DayRate(weekend.requests_per_day, RateBasis.OTHER_KIND, weekend.days)
    elif weekend.basis is RateBasis.NONE and weekday.basis is not RateBasis.NONE:
        weekend = DayRate(weekday.requests_per_day, RateBasis.OTHER_KIND, weekday.days)
    return weekday, weekend


def _rate_of_kind(
    month: Mapping[date, int], before_month: Mapping[date, int], *, weekend: bool
) -> DayRate:
    window = RATE_WEEKEND_DAYS if weekend else RATE_WEEKDAYS
    for source, basis in ((month, RateBasis.MONTH), (before_month, RateBasis.BEFORE_MONTH)):
        days = sorted(day for day in source if _is_weekend(day) == weekend)[-window:]
        if days:
            return DayRate(_median([source[day] for day in days]), basis, tuple(days))
    return DayRate(None, RateBasis.NONE)


def _median(values: Sequence[int]) -> int:
    """The median as whole requests; between two middle values, the half rounds up."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle] + 1) // 2


def _estimates(days: Sequence[MonthDay]) -> dict[DayStatus, int | None]:
    """The estimated requests of the missing and of the future days (0 when there are none)."""
    totals: dict[DayStatus, int | None] = {}
    for status in (DayStatus.MISSING, DayStatus.FUTURE):
        estimates = [each.estimate for each in days if each.status is status]
        totals[status] = None if None in estimates else sum(e for e in estimates if e is not None)
    return totals


def _crossing(days: Sequence[MonthDay], through: date, allowance: Allowance) -> Crossing | None:
    estimated = False
    for each in days:
        estimated = estimated or each.status is DayStatus.MISSING
        # No running total means no rate, which means no landed day: nothing to cross with.
        if each.running_total is not None and each.running_total > allowance.monthly_requests:
            return Crossing(each.day, already=each.day <= through, estimated=estimated)
    return None


# --- who drives the month ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRequests:
    """One OAuth client's requests in a month (id None: rows without a client)."""

    client_id: str | None
    client_name: str | None
    requests: int


@dataclass(frozen=True)
class ClientShare:
    client_id: str | None
    client_name: str | None
    requests: int
    share: float  # of the month's requests, 0..1
    previous_requests: int | None  # None: the client made no request the month before
    previous_share: float | None

    @property
    def change_points(self) -> float | None:
        """How the share moved, in percentage points (+3.5: 3.5 points more of the month)."""
        if self.previous_share is None:
            return None
        return 100.0 * (self.share - self.previous_share)

    @property
    def new(self) -> bool:
        return self.previous_requests is None


@dataclass(frozen=True)
class ClientShares:
    total: int
    previous_total: int
    clients: tuple[ClientShare, ...]  # the month's clients, most requests first
    gone: tuple[ClientShare, ...]  # clients of the month before with no request this month

    def top(self, count: int) -> tuple[ClientShare, ...]:
        return self.clients[:count]


def client_shares(
    month: Iterable[ClientRequests], previous_month: Iterable[ClientRequests]
) -> ClientShares:
    """Shares of the month so far against those of the whole month before (a share is a ratio,
    so a partial month compares with a whole one). Totals of one client id are added up."""
    current, previous = _by_client(month, "month"), _by_client(previous_month, "previous_month")
    total = sum(each.requests for each in current.values())
    previous_total = sum(each.requests for each in previous.values())

    def share(requests: int, of: int) -> float:
        return requests / of if of else 0.0

    clients = [
        ClientShare(
            client_id=key,
            client_name=each.client_name,
            requests=each.requests,
            share=share(each.requests, total),
            previous_requests=previous[key].requests if key in previous else None,
            previous_share=share(previous[key].requests, previous_total)
            if key in previous
            else None,
        )
        for key, each in current.items()
        if each.requests > 0
    ]
    gone = [
        ClientShare(
            client_id=key,
            client_name=each.client_name,
            requests=0,
            share=0.0,
            previous_requests=each.requests,
            previous_share=share(each.requests, previous_total),
        )
        for key, each in previous.items()
        if each.requests > 0 and (key not in current or current[key].requests == 0)
    ]
    return ClientShares(
        total=total,
        previous_total=previous_total,
        clients=tuple(sorted(clients, key=_most_requests_first)),
        gone=tuple(sorted(gone, key=lambda each: _most_requests_first(each, previous=True))),
    )


def _most_requests_first(each: ClientShare, *, previous: bool = False) -> tuple[int, str, str]:
    requests = (each.previous_requests or 0) if previous else each.requests
    return (-requests, each.client_name or "", each.client_id or "")


def _by_client(totals: Iterable[ClientRequests], name: str) -> dict[str | None, ClientRequests]:
    """One entry per client id; a client named differently on different rows keeps the name of
    its largest part."""
    merged: dict[str | None, ClientRequests] = {}
    largest: dict[str | None, int] = {}
    for each in totals:
        if (
            isinstance(each.requests, bool)
            or not isinstance(each.requests, int)
            or each.requests < 0
        ):
            raise ValueError(
                f"{name}[{each.client_id!r}].requests: {each.requests!r} is not allowed; "
                "expected a whole number, 0 or more"
            )
        known = merged.get(each.client_id)
        if known is None:
            merged[each.client_id], largest[each.client_id] = each, each.requests
            continue
        named = each.client_name if each.requests > largest[each.client_id] else known.client_name
        largest[each.client_id] = max(largest[each.client_id], each.requests)
        merged[each.client_id] = ClientRequests(
            each.client_id, named, known.requests + each.requests
        )
    return merged
