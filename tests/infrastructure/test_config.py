"""cdk.json context: defaults parse, bad values fail fast naming key, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.application import cdk_json_context
from stacks.config import ALL_KEYS, ConfigError, StackConfig


def _config(**overrides: Any) -> StackConfig:
    return StackConfig.from_mapping({**cdk_json_context(), **overrides})


def test_cdk_json_defaults() -> None:
    config = _config()
    assert config.genesys_environment == "mypurecloud.com"
    assert config.creates_secret
    assert config.schedule_expression == "cron(0 3 * * ? *)"
    assert config.schedule_enabled is True
    assert config.retain_data is True
    assert config.alarm_email is None
    assert config.job_timeout_seconds == 3600
    assert config.projection_start_date == "2024-01-01"
    assert config.lookback_days == 3
    assert set(ALL_KEYS) <= set(cdk_json_context())


def test_command_line_strings_are_accepted() -> None:
    config = _config(
        retainData="false",
        scheduleEnabled="true",
        rawRetentionDays="7",
        rateLimitedPercentAlarmThreshold="2.5",
        genesysSecretName="ops/genesys",
        alarmEmail="ops@example.com",
        scheduleExpression="rate(12 hours)",
    )
    assert config.retain_data is False
    assert config.raw_retention_days == 7
    assert config.rate_limited_percent_alarm_threshold == 2.5
    assert config.genesys_secret_name == "ops/genesys"
    assert not config.creates_secret


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("genesysEnvironment", "https://api.mypurecloud.com", "region domain"),
        ("genesysSecretName", "arn:aws:secretsmanager:eu-west-1:1:secret:x", "not the ARN"),
        ("scheduleExpression", "0 3 * * *", "cron("),
        ("scheduleEnabled", "maybe", "true or false"),
        ("rawRetentionDays", 0, "from 1 to 3650"),
        ("rawRetentionDays", "30d", "from 1 to 3650"),
        ("athenaResultsRetentionDays", True, "from 1 to 3650"),
        ("bytesScannedCutoffMb", 5, "from 10"),
        ("alarmEmail", "ops", "e-mail"),
        ("retainData", "keep", "true or false"),
        ("rateLimitedPercentAlarmThreshold", 150, "at most 100"),
        ("jobTimeoutMinutes", 2, "from 5 to 1440"),
        ("projectionStartDate", "2024-13-01", "YYYY-MM-DD"),
        ("projectionStartDate", "2999-01-01", "not after today"),
        ("lookbackDays", 0, "from 1 to 90"),
        ("lookbackDays", 91, "from 1 to 90"),
        ("genesysEnvironment", None, "required"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(key: str, value: Any, allowed: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(**{key: value})
    message = str(raised.value)
    assert key in message
    assert repr(value) in message
    assert allowed in message


def test_the_app_fails_fast_on_a_bad_context_value() -> None:
    from tests.infrastructure.conftest import build

    with pytest.raises(ConfigError, match="jobTimeoutMinutes"):
        build(jobTimeoutMinutes="sixty")
