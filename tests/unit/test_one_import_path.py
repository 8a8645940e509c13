"""The Lambda code is importable one way: the project's editable install (make install).

In Lambda the asset's root (lambdas/ bundled) is on the path; everywhere else the editable install
puts lambdas/ there. No module adds it again by hand, so there is one place to look when an import
resolves somewhere unexpected.
"""

from __future__ import annotations

from pathlib import Path

import usage_pipeline

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("app.py", "stacks", "local", "ops", "bench", "lambdas", "tests")


def test_usage_pipeline_comes_from_this_checkouts_lambdas_folder() -> None:
    assert Path(usage_pipeline.__file__).resolve().parent.parent == ROOT / "lambdas"


def test_no_module_puts_a_folder_on_sys_path_by_hand() -> None:
    this_file = Path(__file__).resolve()
    offenders = []
    for entry in SOURCE_DIRS:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for source in files:
            if source.resolve() == this_file:
                continue
            text = source.read_text(encoding="utf-8")
            if "sys.path.insert" in text or "sys.path.append" in text:
                offenders.append(str(source.relative_to(ROOT)))
    assert offenders == []
