"""cfn-lint and checkov on the synthesized template (`make test` builds checkov's .venv-scan)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks import compliance

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"


@pytest.fixture(scope="module")
def template_file(template_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "GenesysApiUsage.template.json"
    path.write_text(json.dumps(template_json, indent=1))
    return path


def test_cfn_lint_reports_nothing(template_file: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    # W3005 (redundant DependsOn) comes from CDK's own dependency bookkeeping.
    result = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_or_skips_with_reasons(template_file: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run the tests with `make test` (it builds .venv-scan)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(template_file),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["results"]["failed_checks"] == [], result.stdout[:5000]
    assert report["summary"]["passed"] > 100
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]


def test_every_checkov_skip_is_an_entry_of_the_compliance_table(
    template_json: dict[str, Any],
) -> None:
    # GIVEN every checkov skip the template carries, and the entries of stacks/compliance.py
    in_template = {
        (skip["id"], skip["comment"])
        for resource in template_json["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    entries = [
        entry
        for value in vars(compliance).values()
        if isinstance(value, tuple)
        for entry in value
        if isinstance(entry, compliance.Acknowledgement)
    ]
    in_table = {(e.rule, e.reason) for e in entries if e.scanner is compliance.Scanner.CHECKOV}
    # THEN they are the same: no skip written elsewhere, no entry left unused
    assert in_table
    assert in_template == in_table
