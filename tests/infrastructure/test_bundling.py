"""The Lambda asset: built without Docker, with both code packages and the pinned dependencies."""

from __future__ import annotations

from pathlib import Path

from stacks import bundling


def test_asset_holds_code_and_arm64_dependencies(tmp_path: Path) -> None:
    # WHEN the asset is built (pip runs once per requirements hash; `make synth` warms the cache)
    bundling.build_asset(tmp_path)
    # THEN the handlers and the shared package are at the asset root (handler strings resolve)
    for handler in ("submit_query", "poll_status", "transform", "land"):
        assert (tmp_path / "handlers" / f"{handler}.py").is_file()
    assert (tmp_path / "usage_pipeline" / "constants.py").is_file()
    # AND the dependencies are installed for Lambda's platform, not this machine's
    for package in ("requests", "aws_lambda_powertools", "orjson"):
        assert (tmp_path / package).is_dir(), package
    native = list((tmp_path / "orjson").glob("*.so"))
    assert native
    assert all("aarch64" in so.name for so in native), native
    assert not list(tmp_path.rglob("__pycache__"))


def test_dependency_cache_is_keyed_by_the_requirements(tmp_path: Path) -> None:
    first = bundling.dependencies_dir()
    assert first == bundling.dependencies_dir()
    assert first.parent == bundling.CACHE_DIR
