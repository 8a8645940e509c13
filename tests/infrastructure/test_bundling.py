"""The Lambda asset: built without Docker, with both code packages and the pinned dependencies."""

from __future__ import annotations

import struct
from pathlib import Path

from stacks import bundling
from stacks import constants as c

EM_AARCH64 = 183  # ELF e_machine of arm64


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    (machine,) = struct.unpack_from("<H", header, 18)
    return int(machine)


def test_asset_holds_code_and_arm64_dependencies(tmp_path: Path) -> None:
    # WHEN the asset is built (pip runs once per requirements hash; `make synth` warms the cache)
    bundling.build_asset(tmp_path)
    # THEN the handlers and the shared package are at the asset root (handler strings resolve)
    for handler in ("submit_query", "poll_status", "transform", "land"):
        assert (tmp_path / "handlers" / f"{handler}.py").is_file()
    assert (tmp_path / "usage_pipeline" / "constants.py").is_file()
    # AND the dependencies are installed for Lambda's platform, not this machine's
    for package in ("requests", "aws_lambda_powertools", "orjson", "duckdb"):
        assert (tmp_path / package).is_dir(), package
    native = list((tmp_path / "orjson").glob("*.so"))
    assert native
    assert all("aarch64" in so.name for so in native), native
    engine = list(tmp_path.glob("_duckdb*.so"))
    assert engine
    assert all(_elf_machine(so) == EM_AARCH64 for so in engine), engine
    assert not list(tmp_path.rglob("__pycache__"))


def test_asset_stays_under_its_size_limit_unzipped(tmp_path: Path) -> None:
    # WHEN the asset is built (the directory CDK zips into cdk.out/asset.<hash>)
    bundling.build_asset(tmp_path)
    # THEN its files, unzipped, stay under the limit (DuckDB alone is about 62 MB of it)
    size = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file())
    assert size < c.LAMBDA_ASSET_MAX_MB * 1024 * 1024, f"{size / 2**20:.1f} MB"


def test_dependency_cache_is_keyed_by_the_requirements(tmp_path: Path) -> None:
    first = bundling.dependencies_dir()
    assert first == bundling.dependencies_dir()
    assert first.parent == bundling.CACHE_DIR
