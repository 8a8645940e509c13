"""cdk.json context: defaults parse, bad values fail fast naming key, value and what is allowed."""

from __future__ import annotations

import re
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
    assert config.fair_use is None
    assert config.fair_use_alarm_percent == 100
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
        ("fairUseAlarmPercent", 0, "above 0 and at most 1000"),
        ("fairUseAlarmPercent", "high", "above 0 and at most 1000"),
        ("fairUseAlarmPercent", None, "required"),
        ("fairUse", "{licenses: 1}", "JSON object"),
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


@pytest.mark.parametrize("absent", [None, {}, "", " ", "{}"])
def test_no_fair_use_allowance_unless_one_is_configured(absent: Any) -> None:
    assert _config(fairUse=absent).fair_use is None


@pytest.mark.parametrize(
    "value",
    [
        {"licenses": {"cx3:named": 2}},
        '{"licenses": {"cx3:named": 2}}',  # -c fairUse='...' arrives as text
        {"monthlyRequests": 280000},
    ],
)
def test_a_fair_use_allowance_in_either_shape(value: Any) -> None:
    config = _config(fairUse=value, fairUseAlarmPercent="80")

    assert config.fair_use is not None
    assert config.fair_use.monthly_requests == 280_000
    assert config.fair_use_alarm_percent == 80.0


def test_the_fair_use_allowance_travels_to_a_lambda_as_json_text() -> None:
    from usage_pipeline.fair_use import Allowance

    config = _config(fairUse={"licenses": {"cx3:named": 120, "cx1:concurrent": 30}})

    assert config.fair_use is not None
    assert Allowance.from_json(config.fair_use.to_json()) == config.fair_use


@pytest.mark.parametrize(
    ("value", "key", "shown", "allowed"),
    [
        ({"licenses": {"cx9:named": 1}}, "fairUse.licenses.cx9:named", "cx9:named", "cx3:named"),
        ({"licenses": {"cx3:named": -1}}, "fairUse.licenses.cx3:named", -1, "0 or more"),
        ({"licenses": {"cx3:named": 1.5}}, "fairUse.licenses.cx3:named", 1.5, "whole number"),
        ({"licenses": {"cx3:weekly": 1}}, "fairUse.licenses.cx3:weekly", "cx3:weekly", "hourly"),
        ({"licenses": {}}, "fairUse.licenses", {}, "license counts"),
        ({"monthlyRequests": 0}, "fairUse.monthlyRequests", 0, "at least 1"),
        (
            {"monthlyRequests": 1, "licenses": {"cx3:named": 1}},
            "fairUse",
            {"monthlyRequests": 1, "licenses": {"cx3:named": 1}},
            "not both",
        ),
        ({"requests": 5}, "fairUse.requests", 5, "monthlyRequests"),
        ([1], "fairUse", [1], "an object"),
    ],
)
def test_a_bad_fair_use_allowance_names_its_field_value_and_what_is_allowed(
    value: Any, key: str, shown: Any, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(fairUse=value)

    assert raised.value.key == key
    assert raised.value.value == shown
    assert allowed in raised.value.allowed
    assert f"{key!r}: {shown!r}" in str(raised.value)


def test_the_app_fails_fast_on_a_bad_fair_use_allowance() -> None:
    from tests.infrastructure.conftest import build

    with pytest.raises(ConfigError, match=re.escape("fairUse.licenses.cx9:named")):
        build(fairUse={"licenses": {"cx9:named": 1}})
