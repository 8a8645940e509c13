"""Deployment settings, read once from the CDK context (``cdk.json`` plus any ``-c key=value``).

Every key is validated when the app starts: a bad value stops synth with a message that names the
key, the value and what is allowed, instead of surfacing as a failed CloudFormation deploy later.
Values given on the command line (``-c retainData=false``) arrive as strings, so booleans and
numbers are accepted in both forms. Nothing secret belongs here: the OAuth credentials live in
Secrets Manager only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from constructs import Node

from usage_pipeline import constants as rc
from usage_pipeline.errors import InvalidInput
from usage_pipeline.fair_use import Allowance

_T = TypeVar("_T")

KEY_GENESYS_ENVIRONMENT = "genesysEnvironment"
KEY_GENESYS_SECRET_NAME = "genesysSecretName"  # noqa: S105 - a context key, not a secret
KEY_SCHEDULE_EXPRESSION = "scheduleExpression"
KEY_SCHEDULE_ENABLED = "scheduleEnabled"
KEY_RAW_RETENTION_DAYS = "rawRetentionDays"
KEY_ATHENA_RESULTS_RETENTION_DAYS = "athenaResultsRetentionDays"
KEY_BYTES_SCANNED_CUTOFF_MB = "bytesScannedCutoffMb"
KEY_ALARM_EMAIL = "alarmEmail"
KEY_RETAIN_DATA = "retainData"
KEY_RATE_LIMITED_PERCENT_ALARM_THRESHOLD = "rateLimitedPercentAlarmThreshold"
KEY_JOB_TIMEOUT_MINUTES = "jobTimeoutMinutes"
KEY_PROJECTION_START_DATE = "projectionStartDate"
KEY_LOOKBACK_DAYS = "lookbackDays"
KEY_FAIR_USE = "fairUse"
KEY_FAIR_USE_ALARM_PERCENT = "fairUseAlarmPercent"

ALL_KEYS = (
    KEY_GENESYS_ENVIRONMENT,
    KEY_GENESYS_SECRET_NAME,
    KEY_SCHEDULE_EXPRESSION,
    KEY_SCHEDULE_ENABLED,
    KEY_RAW_RETENTION_DAYS,
    KEY_ATHENA_RESULTS_RETENTION_DAYS,
    KEY_BYTES_SCANNED_CUTOFF_MB,
    KEY_ALARM_EMAIL,
    KEY_RETAIN_DATA,
    KEY_RATE_LIMITED_PERCENT_ALARM_THRESHOLD,
    KEY_JOB_TIMEOUT_MINUTES,
    KEY_PROJECTION_START_DATE,
    KEY_LOOKBACK_DAYS,
    KEY_FAIR_USE,
    KEY_FAIR_USE_ALARM_PERCENT,
)

# A Genesys Cloud region's domain (mypurecloud.com, usw2.pure.cloud, mypurecloud.com.au, ...).
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Secrets Manager secret names: 1-512 of letters, digits and /_+=.@-
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# EventBridge Scheduler: cron(6 fields) or rate(n unit); at(...) would run once only.
_SCHEDULE = re.compile(
    r"^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

# Limits: S3 lifecycle and Athena accept more, these catch typos (30000 days) early.
MAX_RETENTION_DAYS = 3650
MIN_BYTES_SCANNED_CUTOFF_MB = 10  # Athena's own minimum per-query cutoff
MAX_BYTES_SCANNED_CUTOFF_MB = 10 * 1024 * 1024
# The daily run's lastDays: at most what one aggregates query answers (the schedule's default API).
MAX_SCHEDULED_LAST_DAYS = rc.MAX_AGGREGATES_DAYS
MIN_JOB_TIMEOUT_MINUTES = 5
# Standard workflows run up to a year, but a Genesys usage job stuck for a day is dead.
MAX_JOB_TIMEOUT_MINUTES = 24 * 60
# Below 100 warns before the allowance is reached, above it tolerates some overage; 1000 catches
# a typo (the projection as a percentage of the allowance is what the alarm compares).
MAX_FAIR_USE_ALARM_PERCENT = 1000


class ConfigError(ValueError):
    """A context value is missing or not allowed; the message says which, what and what would be."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"cdk.json context {key!r}: {value!r} is not allowed; {allowed}")


@dataclass(frozen=True)
class StackConfig:
    """Typed settings of one deployment."""

    genesys_environment: str
    genesys_secret_name: str | None  # None: the stack creates the secret
    schedule_expression: str
    schedule_enabled: bool
    raw_retention_days: int
    athena_results_retention_days: int
    bytes_scanned_cutoff_mb: int
    alarm_email: str | None
    retain_data: bool
    rate_limited_percent_alarm_threshold: float
    job_timeout_minutes: int
    projection_start_date: str
    lookback_days: int
    fair_use: Allowance | None  # None: no allowance configured (the month's numbers still count)
    fair_use_alarm_percent: float

    @property
    def creates_secret(self) -> bool:
        return self.genesys_secret_name is None

    @property
    def job_timeout_seconds(self) -> int:
        return self.job_timeout_minutes * 60

    @classmethod
    def from_node(cls, node: Node) -> StackConfig:
        """Read every key from a construct's context (the app's, in practice)."""
        return cls.from_mapping({key: node.try_get_context(key) for key in ALL_KEYS})

    @classmethod
    def from_mapping(cls, context: dict[str, Any]) -> StackConfig:
        return cls(
            genesys_environment=_required(context, KEY_GENESYS_ENVIRONMENT, _domain),
            genesys_secret_name=_optional(context, KEY_GENESYS_SECRET_NAME, _secret_name),
            schedule_expression=_required(context, KEY_SCHEDULE_EXPRESSION, _schedule),
            schedule_enabled=_required(context, KEY_SCHEDULE_ENABLED, _bool),
            raw_retention_days=_required(context, KEY_RAW_RETENTION_DAYS, _days),
            athena_results_retention_days=_required(
                context, KEY_ATHENA_RESULTS_RETENTION_DAYS, _days
            ),
            bytes_scanned_cutoff_mb=_required(
                context,
                KEY_BYTES_SCANNED_CUTOFF_MB,
                _int_between(MIN_BYTES_SCANNED_CUTOFF_MB, MAX_BYTES_SCANNED_CUTOFF_MB),
            ),
            alarm_email=_optional(context, KEY_ALARM_EMAIL, _email),
            retain_data=_required(context, KEY_RETAIN_DATA, _bool),
            rate_limited_percent_alarm_threshold=_required(
                context, KEY_RATE_LIMITED_PERCENT_ALARM_THRESHOLD, _percent
            ),
            job_timeout_minutes=_required(
                context,
                KEY_JOB_TIMEOUT_MINUTES,
                _int_between(MIN_JOB_TIMEOUT_MINUTES, MAX_JOB_TIMEOUT_MINUTES),
            ),
            projection_start_date=_required(context, KEY_PROJECTION_START_DATE, _past_date),
            lookback_days=_required(
                context, KEY_LOOKBACK_DAYS, _int_between(1, MAX_SCHEDULED_LAST_DAYS)
            ),
            fair_use=_fair_use(context.get(KEY_FAIR_USE)),
            fair_use_alarm_percent=_required(
                context,
                KEY_FAIR_USE_ALARM_PERCENT,
                _percent_up_to(MAX_FAIR_USE_ALARM_PERCENT, "of the fair use allowance"),
            ),
        )


# --- parsers: each returns the typed value or raises ValueError(<what is allowed>) ---------------


def _required(context: dict[str, Any], key: str, parse: Callable[[Any], _T]) -> _T:
    value = context.get(key)
    if value is None:
        raise ConfigError(key, value, "the key is required (defaults live in cdk.json)")
    return _parse(key, value, parse)


def _optional(context: dict[str, Any], key: str, parse: Callable[[Any], _T]) -> _T | None:
    value = context.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _parse(key, value, parse)


def _parse(key: str, value: object, parse: Callable[[Any], _T]) -> _T:
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(key, value, str(exc)) from None


def _domain(value: object) -> str:
    if isinstance(value, str) and _DOMAIN.match(value):
        return value
    raise ValueError(
        "expected a Genesys Cloud region domain such as mypurecloud.com or usw2.pure.cloud"
    )


def _secret_name(value: object) -> str:
    if isinstance(value, str) and _SECRET_NAME.match(value) and not value.startswith("arn:"):
        return value
    raise ValueError(
        "expected the name (not the ARN) of an existing Secrets Manager secret: 1-512 of "
        "A-Z a-z 0-9 / _ + = . @ -; leave it empty to let the stack create the secret"
    )


def _schedule(value: object) -> str:
    if isinstance(value, str) and _SCHEDULE.match(value.strip()):
        return value.strip()
    raise ValueError(
        "expected an EventBridge Scheduler expression evaluated in UTC: "
        "cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 3 * * ? *), "
        "or rate(n unit)"
    )


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def _int_between(low: int, high: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is None or not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return number

    return parse


_days = _int_between(1, MAX_RETENTION_DAYS)


def _percent_up_to(high: float, of: str = "") -> Callable[[object], float]:
    def parse(value: object) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not 0 < number <= high:
            what = f"a percentage {of}".rstrip()
            raise ValueError(f"expected {what} above 0 and at most {high:g}")
        return number

    return parse


_percent = _percent_up_to(100)


def _fair_use(value: object) -> Allowance | None:
    """cdk.json's object, or its JSON text (``-c fairUse='{...}'``); absent, empty or {}: none."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(
                KEY_FAIR_USE,
                value,
                'expected a JSON object: {"monthlyRequests": N} or {"licenses": {"cx3:named": N}}',
            ) from None
    if value is None or value == {}:
        return None
    try:
        return Allowance.from_mapping(value)
    except InvalidInput as refused:
        # The allowance names its own field (licenses.cx9:named); under fairUse in cdk.json.
        field = KEY_FAIR_USE if refused.field == "allowance" else f"{KEY_FAIR_USE}.{refused.field}"
        raise ConfigError(field, refused.value, refused.allowed) from None


def _email(value: object) -> str:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return value.strip()
    raise ValueError("expected one e-mail address, or empty for no e-mail subscription")


def _past_date(value: object) -> str:
    allowed = "expected a date YYYY-MM-DD not after today (UTC), the first day Athena projects"
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(allowed)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(allowed) from None
    if day > dt.datetime.now(dt.UTC).date():
        raise ValueError(allowed)
    return value
