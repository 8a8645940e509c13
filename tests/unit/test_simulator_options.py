"""The simulator's settings table (options.py): KEY=VALUE parsing, refusals, and the documents
(README and contracts section 8) that describe the options and the faults."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from local.genesys_simulator import SimulatorServer, faults
from local.genesys_simulator.options import (
    OPTIONS,
    SettingError,
    SimulatorSettings,
    options_help,
    parse_setting,
    parse_settings,
)
from local.genesys_simulator.simulator import GenesysSimulator

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "local" / "genesys_simulator" / "README.md"
CONTRACTS = REPO_ROOT / "docs" / "contracts.md"


# --- KEY=VALUE ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("week-start=sunday", ("week_start", "sunday")),
        ("legacy-end=inclusive", ("legacy_end", "inclusive")),
        ("org=large", ("org", "large")),
        ("latency=0.05", ("latency", 0.05)),
        ("latency=1", ("latency", 1.0)),
        ("late-days=3", ("late_days", 3)),
        ("growth=2.5", ("growth", 2.5)),
        ("today=2026-11-22", ("today", date(2026, 11, 22))),
        ("polls-until-done=0", ("polls_until_done", 0)),
        ("rate_limit_per_minute=60", ("rate_limit_per_minute", 60)),
        (" page-size = 500 ", ("page_size", 500)),
    ],
)
def test_key_value_text_parses_to_the_python_setting(text: str, expected: tuple[str, Any]) -> None:
    # WHEN / THEN the text becomes (Python name, typed value)
    assert parse_setting(text) == expected


def test_repeated_key_values_become_keyword_arguments_and_the_last_one_wins() -> None:
    # GIVEN several KEY=VALUE texts, one key twice
    texts = ["week-start=sunday", "org=large", "week-start=monday", "late-days=1"]

    # WHEN / THEN they are SimulatorServer keyword arguments
    assert parse_settings(texts) == {"week_start": "monday", "org": "large", "late_days": 1}
    assert parse_settings([]) == {}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("week-start=friday", ["week-start", "friday", "monday | sunday"]),
        ("legacy-end=open", ["legacy-end", "open", "exclusive | inclusive"]),
        ("org=huge", ["org", "huge", "default | large"]),
        ("latency=-1", ["latency", "-1", ">= 0"]),
        ("latency=fast", ["latency", "fast", "a number"]),
        ("late-days=1.5", ["late-days", "1.5", "whole number"]),
        ("late-days=-2", ["late-days", "-2", ">= 0"]),
        ("today=yesterday", ["today", "yesterday", "YYYY-MM-DD"]),
        ("colour=red", ["colour", "week-start", "legacy-end", "org", "latency", "late-days"]),
        ("week-start", ["week-start", "KEY=VALUE"]),
        ("=sunday", ["''", "week-start"]),
    ],
)
def test_bad_key_values_are_refused_naming_key_value_and_what_is_allowed(
    text: str, named: list[str]
) -> None:
    # WHEN a bad text is parsed
    with pytest.raises(SettingError) as refused:
        parse_settings(["org=large", text])

    # THEN the error names what is wrong and what would be right
    for word in named:
        assert word in str(refused.value)


def test_every_option_reads_its_own_default_back() -> None:
    # GIVEN every option with a default that can be written as text
    for option in OPTIONS:
        if option.default is None:
            continue
        # WHEN its default is written as KEY=VALUE and parsed
        name, value = parse_setting(f"{option.key}={option.default}")

        # THEN it is the default of the settings table
        assert (name, value) == (option.name, getattr(SimulatorSettings(), option.name))


def test_options_help_names_every_option_with_its_default() -> None:
    # WHEN the help text is built
    lines = options_help().splitlines()

    # THEN it has one line per option, starting with its key
    assert [line.split("=", 1)[0] for line in lines] == [option.key for option in OPTIONS]
    assert any("default monday" in line for line in lines)


# --- the Python surface refuses too, and changes nothing ------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [{"week_start": "friday"}, {"late_days": True}, {"latency": "0.1"}, {"colour": "red"}],
    ids=["bad choice", "bool for a number", "text for a number", "unknown"],
)
def test_simulator_server_refuses_bad_settings(settings: dict[str, Any]) -> None:
    # WHEN / THEN a server cannot be made with them
    with pytest.raises(SettingError):
        SimulatorServer(**settings)


def test_a_refused_configure_changes_nothing() -> None:
    # GIVEN a simulator reading weeks from Sunday
    simulator = GenesysSimulator(SimulatorSettings(week_start="sunday"))
    before = simulator.configure()

    # WHEN a change with one good and one bad value is refused
    with pytest.raises(SettingError, match="late-days"):
        simulator.configure(week_start="monday", late_days=-1)

    # THEN no setting changed
    assert simulator.configure() == before
    assert simulator.settings.week_start == "sunday"


def test_settings_take_text_dates_and_whole_numbers_for_seconds() -> None:
    # WHEN settings come as JSON would carry them
    settings = SimulatorSettings(today="2026-11-22", latency=1)  # type: ignore[arg-type]

    # THEN they hold the typed values, and describe themselves as JSON values again
    assert (settings.today, settings.latency) == (date(2026, 11, 22), 1.0)
    assert settings.describe()["today"] == "2026-11-22"


# --- the documents follow the tables --------------------------------------------------------------


def section(path: Path, heading: str) -> str:
    """The text of one markdown section: from its heading to the next heading of its level."""
    text = path.read_text(encoding="utf-8")
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    following = re.search(rf"^{level} ", text[start + len(heading) :], re.MULTILINE)
    end = start + len(heading) + following.start() if following else len(text)
    return text[start:end]


def table_rows(text: str) -> list[list[str]]:
    """Cells of every markdown table row whose first cell is `code`, pipes unescaped."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def test_readme_options_table_is_the_settings_table() -> None:
    # GIVEN the README's options table
    rows = [row for row in table_rows(section(README, "## Options")) if len(row) == 4]

    # THEN it lists every option, in order, with its default and what it allows
    assert [row[0].strip("`") for row in rows] == [option.key for option in OPTIONS]
    for row, option in zip(rows, OPTIONS, strict=True):
        shown = "the real UTC day" if option.default is None else str(option.default)
        assert row[1].strip("`") == shown
        assert row[2] == option.allowed()


def test_readme_fault_table_is_the_fault_table() -> None:
    # GIVEN the README's fault table
    rows = table_rows(section(README, "## Faults"))

    # THEN it lists every kind, in order, with its default scope and count and its own options
    assert [row[0].strip("`") for row in rows] == list(faults.FAULT_KINDS)
    for row in rows:
        endpoint, count, options = faults.defaults_of(row[0].strip("`"))
        assert row[1] == f"{endpoint}, {'until cleared' if count is None else count}"
        for option in options:
            assert f"`{option}`" in row[2], (row[0], option)


def test_contracts_section_8_names_every_fault_kind_and_option() -> None:
    # GIVEN docs/contracts.md section 8
    text = section(CONTRACTS, "## 8. Simulator")
    kinds_sentence = re.search(r"kinds: (.*?)\.\n", text, re.DOTALL)
    assert kinds_sentence is not None

    # THEN its list of kinds and its options table are the simulator's
    assert re.findall(r"`([a-z-]+)`", kinds_sentence.group(1)) == list(faults.FAULT_KINDS)
    assert [row[0].strip("`") for row in table_rows(text)] == [option.key for option in OPTIONS]
