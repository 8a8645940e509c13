"""The fair use allowance: Genesys's published table, both configuration shapes, each refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from usage_pipeline.errors import InvalidInput
from usage_pipeline.fair_use import (
    LICENSE_KEYS,
    LICENSES,
    Allowance,
    LicenseType,
)

# Genesys's "fair use policy" API on-demand row, per billable user and month (named, concurrent).
PUBLISHED = {
    "communicate": (10_000, None),
    "cx1": (75_000, 97_500),
    "cx2": (110_000, 143_000),
    "cx2-digital": (110_000, 143_000),
    "cx3": (140_000, 182_000),
    "cx3-digital": (140_000, 182_000),
    "ex": (75_000, None),
}


def test_the_table_holds_genesys_published_figures() -> None:
    # GIVEN the one table of license allowances
    for tier in LICENSES:
        named, concurrent = PUBLISHED[tier.key]
        # THEN each tier's named figure is Genesys's; concurrent too where Genesys publishes one
        assert tier.named == named
        assert tier.concurrent == (concurrent if concurrent is not None else named)
        assert tier.concurrent_published is (concurrent is not None)
    assert {tier.key for tier in LICENSES} == set(PUBLISHED)


def test_an_hourly_license_allows_a_111th_of_the_named_figure_an_hour_for_non_digital_cx() -> None:
    # GIVEN the tiers sold by the hour
    hourly = {tier.key for tier in LICENSES if tier.hourly}

    # THEN they are CX 1-3, and 111 billable hours allow what one named user does
    assert hourly == {"cx1", "cx2", "cx3"}
    for key in hourly:
        named = Allowance.from_mapping({"licenses": {f"{key}:named": 1}}).monthly_requests
        per_111_hours = Allowance.from_mapping({"licenses": {f"{key}:hourly": 111}})
        assert per_111_hours.monthly_requests == named
    assert Allowance.from_mapping({"licenses": {"cx3:hourly": 1}}).monthly_requests == 1261
    assert "cx3:hourly" in LICENSE_KEYS
    assert "ex:hourly" not in LICENSE_KEYS


def test_two_cx3_named_licenses_allow_280000_in_both_shapes() -> None:
    # WHEN the same licenses come from cdk.json and from the report's command line
    from_config = Allowance.from_mapping({"licenses": {"cx3:named": 2}})
    from_command_line = Allowance.from_command_line(None, ["cx3:named=2"])

    # THEN both allow 280,000 requests a month and are the same value
    assert from_config.monthly_requests == 280_000
    assert from_command_line == from_config


def test_genesys_invoice_example_one_cx3_concurrent_license() -> None:
    # GIVEN Genesys's example: one CX 3 concurrent license, 505,992 requests in the month
    allowance = Allowance.from_mapping({"licenses": {"cx3:concurrent": 1}})

    # THEN the allowance is 182,000 and the overage billed 323,992
    assert allowance.monthly_requests == 182_000
    assert allowance.overage(505_992) == 323_992
    assert allowance.overage(182_000) == 0
    assert allowance.overage(1_000) == 0


def test_licenses_add_up_and_say_how() -> None:
    # GIVEN several license lines, hourly ones counted in billable hours
    allowance = Allowance.from_mapping(
        {"licenses": {"cx3:named": 120, "cx1:concurrent": 30, "cx2:hourly": 1000}}
    )

    # THEN the allowance is their sum, lines in the table's order, and the description shows each
    assert allowance.monthly_requests == 120 * 140_000 + 30 * 97_500 + 990_990
    assert [(line.key, line.monthly_requests) for line in allowance.licenses] == [
        ("cx1:concurrent", 2_925_000),
        ("cx2:hourly", 990_990),
        ("cx3:named", 16_800_000),
    ]
    assert allowance == Allowance.from_command_line(
        None, ["cx2:hourly=1000", "cx3:named=120", "cx1:concurrent=30"]
    )
    described = allowance.describe()
    assert "120 x CX 3 named (140,000 each) = 16,800,000" in described
    assert "1,000 x CX 2 hourly (110,000 / 111 an hour) = 990,990" in described
    assert f"{allowance.monthly_requests:,} in all" in described


def test_concurrent_communicate_and_ex_take_the_named_figure_and_say_it_is_a_reading() -> None:
    allowance = Allowance.from_mapping({"licenses": {"communicate:concurrent": 3, "ex:named": 1}})

    assert allowance.monthly_requests == 3 * 10_000 + 75_000
    communicate, ex = allowance.licenses
    assert communicate.license_type is LicenseType.CONCURRENT
    assert not communicate.figure_published
    assert ex.figure_published


def test_a_number_allowance_and_its_description() -> None:
    allowance = Allowance.from_mapping({"monthlyRequests": 505_992})

    assert allowance.monthly_requests == 505_992
    assert allowance.licenses == ()
    assert allowance.percent_of(252_996) == 50.0
    assert "505,992" in allowance.describe()
    assert Allowance.from_command_line("505,992", None) == allowance


def test_keys_are_read_case_insensitively() -> None:
    allowance = Allowance.from_command_line(None, [" CX3 : Named = 2"])

    assert allowance is not None
    assert allowance.monthly_requests == 280_000
    assert allowance.to_mapping() == {"licenses": {"cx3:named": 2}}


@pytest.mark.parametrize(
    "value",
    [
        {"monthlyRequests": 505_992},
        {"licenses": {"cx3:named": 120, "cx1:concurrent": 30, "cx3:hourly": 2000}},
    ],
)
def test_json_round_trip_for_a_lambda_environment(value: dict[str, Any]) -> None:
    # GIVEN an allowance as configured
    allowance = Allowance.from_mapping(value)

    # WHEN it travels as JSON text (an environment variable) and is read back
    text = allowance.to_json()

    # THEN it is the same allowance, in the configuration's own shape
    assert json.loads(text) == value
    assert Allowance.from_json(text) == allowance


def test_neither_command_line_option_means_no_allowance() -> None:
    assert Allowance.from_command_line(None, None) is None


@pytest.mark.parametrize(
    ("value", "field", "shown", "allowed"),
    [
        ({"licenses": {"cx9:named": 1}}, "licenses.cx9:named", "cx9:named", "unknown license"),
        ({"licenses": {"cx3:shared": 1}}, "licenses.cx3:shared", "cx3:shared", "named"),
        ({"licenses": {"cx3": 1}}, "licenses.cx3", "cx3", "cx3:TYPE"),
        ({"licenses": {"ex:hourly": 1}}, "licenses.ex:hourly", "ex:hourly", "no hourly"),
        ({"licenses": {"cx3:named": 1.5}}, "licenses.cx3:named", 1.5, "whole number"),
        ({"licenses": {"cx3:named": 2.0}}, "licenses.cx3:named", 2.0, "whole number"),
        ({"licenses": {"cx3:named": "2"}}, "licenses.cx3:named", "2", "whole number"),
        ({"licenses": {"cx3:named": True}}, "licenses.cx3:named", True, "whole number"),
        ({"licenses": {"cx3:named": -1}}, "licenses.cx3:named", -1, "0 or more"),
        ({"licenses": {"cx3:hourly": -1}}, "licenses.cx3:hourly", -1, "billable hours"),
        (
            {"licenses": {"cx3:named": 1, "CX3:named": 2}},
            "licenses.CX3:named",
            "CX3:named",
            "more than once",
        ),
        ({"licenses": {"cx3:named": 0}}, "licenses", {"cx3:named": 0}, "allow no request"),
        ({"licenses": {}}, "licenses", {}, "license counts"),
        ({"licenses": ["cx3:named"]}, "licenses", ["cx3:named"], "license counts"),
        ({}, "allowance", {}, "expected monthlyRequests or licenses"),
        ([], "allowance", [], "an object"),
        ({"monthlyRequests": 0}, "monthlyRequests", 0, "at least 1"),
        ({"monthlyRequests": "lots"}, "monthlyRequests", "lots", "whole number"),
        ({"monthlyRequests": 1e6}, "monthlyRequests", 1e6, "whole number"),
        (
            {"monthlyRequests": 1, "licenses": {"cx3:named": 1}},
            "allowance",
            {"monthlyRequests": 1, "licenses": {"cx3:named": 1}},
            "not both",
        ),
        ({"monthlyRequest": 1}, "monthlyRequest", 1, "allowed keys"),
    ],
)
def test_a_refused_mapping_names_field_value_and_what_is_allowed(
    value: object, field: str, shown: object, allowed: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        Allowance.from_mapping(value)

    assert raised.value.field == field
    assert raised.value.value == shown
    assert allowed in raised.value.allowed
    assert f"{field}: {shown!r}" in str(raised.value)


@pytest.mark.parametrize(
    ("allowance", "licenses", "field", "shown", "allowed"),
    [
        ("lots", None, "--allowance", "lots", "whole number"),
        ("-5", None, "--allowance", "-5", "whole number"),
        ("0", None, "--allowance", "0", "at least 1"),
        ("1000", ["cx3:named=1"], "--licenses", "cx3:named=1", "not both"),
        (None, [], "--licenses", "", "KEY=COUNT"),
        (None, ["cx3:named"], "--licenses", "cx3:named", "KEY=COUNT"),
        (None, ["cx3:named=two"], "--licenses cx3:named=two", "two", "whole number"),
        (None, ["cx3:named=-2"], "--licenses cx3:named=-2", "-2", "whole number"),
        (None, ["cx3:named=1.5"], "--licenses cx3:named=1.5", "1.5", "whole number"),
        (None, ["cx4:named=1"], "--licenses cx4:named=1", "cx4:named", "unknown license"),
        (
            None,
            ["cx3:named=1", "cx3:named=2"],
            "--licenses cx3:named=2",
            "cx3:named",
            "more than once",
        ),
    ],
)
def test_a_refused_command_line_names_option_value_and_what_is_allowed(
    allowance: str | None, licenses: list[str] | None, field: str, shown: object, allowed: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        Allowance.from_command_line(allowance, licenses)

    assert raised.value.field == field
    assert raised.value.value == shown
    assert allowed in raised.value.allowed


def test_json_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput, match="expected JSON"):
        Allowance.from_json("{monthlyRequests: 5}")


def test_the_readme_license_table_is_the_modules() -> None:
    # GIVEN the README's Fair use section
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Fair use")
    section = readme[start : readme.index("\n## ", start + 1)]
    rows = {
        cells[0].strip("` "): [cell.strip() for cell in cells[1:]]
        for line in section.splitlines()
        if line.startswith("| `")
        for cells in [line.strip().strip("|").split("|")]
    }

    # THEN its table shows every tier's figures as the module holds them
    assert rows == {
        tier.key: [
            f"{tier.named:,}",
            f"{tier.concurrent:,}",
            f"{tier.named:,} / 111" if tier.hourly else "-",
        ]
        for tier in LICENSES
    }
    # AND Genesys's example, as the README tells it, is what the module computes
    example = Allowance.from_mapping({"licenses": {"cx3:concurrent": 1}})
    told = re.search(r"allows ([\d,]+); 505,992\s+requests bill ([\d,]+)", section)
    assert told is not None
    assert told.groups() == (f"{example.monthly_requests:,}", f"{example.overage(505_992):,}")


def test_an_allowance_built_in_code_must_allow_something() -> None:
    with pytest.raises(ValueError, match="allows nothing"):
        Allowance(monthly_requests=0)
