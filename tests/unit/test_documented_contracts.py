"""What README.md and docs/contracts.md list is what the code defines: one source, tested.

Each contract value lives in one module (error names in ``errors.py``, fault kinds in the
simulator's ``faults.py``, deployment keys in ``stacks/config.py``, ``local.run``'s options in its
parser); these tests fail when a document falls behind or invents one.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from local.genesys_simulator.faults import FAULT_KINDS
from local.genesys_simulator.options import OPTIONS
from local.run import build_parser
from stacks import config
from usage_pipeline import constants as c
from usage_pipeline import errors

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTRACTS = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")


def _table_row(document: str, first_cell: str) -> str:
    """The markdown table row whose first cell starts with ``first_cell``."""
    for line in document.splitlines():
        if line.startswith(f"| {first_cell}"):
            return line
    raise AssertionError(f"no table row starting with {first_cell!r}")


def _section(document: str, heading: str) -> str:
    start = document.index(heading)
    following = document.find("\n## ", start + len(heading))
    return document[start : following if following != -1 else None]


def _named_errors() -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, errors.PipelineError)
        and value not in (errors.PipelineError, errors.ConfigurationError)
    }


def test_the_readme_lists_every_simulator_fault_kind_and_no_other() -> None:
    row = _table_row(README, "`--fault KIND")
    listed = set(re.findall(r"`([a-z]+(?:-[a-z]+)*)`", row.split("|")[2]))
    assert listed == set(FAULT_KINDS)


def test_the_readme_lists_every_simulator_setting() -> None:
    row = _table_row(README, "`--sim KEY=VALUE")
    listed = set(re.findall(r"`([a-z-]+)=", row))
    assert listed == {option.key for option in OPTIONS}


def test_local_run_help_names_every_fault_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "10000")  # no wrapping inside a hyphenated kind
    help_text = build_parser().format_help()
    assert all(kind in help_text for kind in FAULT_KINDS)


def test_contracts_name_every_pipeline_error_and_no_other() -> None:
    section = _section(CONTRACTS, "## 4. Error names")
    listed = set(re.findall(r"`([A-Z][A-Za-z]+)`", section))
    fail_states = {"SubmitQueryFailed", "PollStatusFailed", "TransformFailed", "LandFailed"}
    job_failures = {"GenesysJobFailed", "GenesysJobCancelled", "GenesysJobTimedOut"}
    base = {errors.PipelineError.__name__}
    assert listed - fail_states - job_failures - base == _named_errors()


def test_the_readme_failure_table_uses_only_real_error_names() -> None:
    section = _section(README, "## Failure modes")
    named = set(re.findall(r"`((?:Genesys|Page|Row|Cursor|Secret|Invalid)[A-Za-z]+)`", section))
    job_failures = {"GenesysJobFailed", "GenesysJobCancelled", "GenesysJobTimedOut"}
    metrics = {c.METRIC_ROWS_LANDED, c.METRIC_RATE_LIMITED_PERCENT}
    assert named - job_failures - metrics == _named_errors()


def test_the_readme_configuration_table_is_exactly_the_stacks_keys() -> None:
    section = _section(README, "## Configuration")
    listed = set(re.findall(r"^\| `([A-Za-z]+)` \|", section, flags=re.MULTILINE))
    assert listed == set(config.ALL_KEYS)


def test_the_readme_names_every_local_run_option() -> None:
    options = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    documented = set(re.findall(r"`(--[a-z-]+)", README))
    assert options <= documented, sorted(options - documented)
