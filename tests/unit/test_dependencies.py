"""Dependencies point one way, and S3 is spoken to through one door.

The Lambda packages (`handlers`, `usage_pipeline`, `usage_report`) and the stack import neither the
operator tools (`ops/`) nor the local harness (`local/`); the report's library imports no handler;
the pipeline's logic imports neither. Within `usage_pipeline`, only `storage.py` calls S3.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
# (folder, top-level packages its modules must not import)
RULES = (
    (LAMBDAS / "handlers", {"ops", "local", "bench", "tests", "stacks"}),
    (LAMBDAS / "usage_pipeline", {"ops", "local", "bench", "tests", "stacks", "handlers"}),
    (LAMBDAS / "usage_report", {"ops", "local", "bench", "tests", "stacks", "handlers"}),
    (ROOT / "stacks", {"ops", "local", "bench", "tests", "handlers"}),
    (ROOT / "ops", {"local", "bench", "tests", "stacks", "handlers"}),
)
# A boto3 S3 client's operations (and its transfer manager's), called on a client: only
# storage.py holds one. (BucketStore's own methods have other receivers: `store.upload_file`.)
S3_CALL = re.compile(
    r"\b_?s3(_client)?\.(put_object|get_object|head_object|copy_object|delete_objects?"
    r"|list_objects(_v2)?|upload_file|download_file|get_paginator)\("
)


def imported_packages(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=lambda rule: str(rule)[-30:])
def test_dependencies_point_one_way(folder: Path, forbidden: set[str]) -> None:
    offenders = {
        str(source.relative_to(ROOT)): sorted(imported_packages(source) & forbidden)
        for source in sorted(folder.rglob("*.py"))
    }
    assert {name: packages for name, packages in offenders.items() if packages} == {}


def test_only_the_storage_module_calls_s3_in_the_pipeline() -> None:
    callers = [
        str(source.relative_to(ROOT))
        for source in sorted((LAMBDAS / "usage_pipeline").rglob("*.py"))
        if source.name != "storage.py"
        and (
            S3_CALL.search(source.read_text(encoding="utf-8"))
            or "boto3" in imported_packages(source)
        )
    ]
    assert callers == []


def test_the_rule_finds_what_it_looks_for() -> None:
    # The two checks above would pass on an empty tree: they must see the real imports and calls.
    assert "usage_pipeline" in imported_packages(LAMBDAS / "usage_report" / "queries.py")
    assert S3_CALL.search((LAMBDAS / "usage_pipeline" / "storage.py").read_text(encoding="utf-8"))
