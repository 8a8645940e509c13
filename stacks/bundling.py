"""The Lambda code asset: ``lambdas/`` plus its dependencies, built without Docker.

pip downloads manylinux wheels for the Lambda platform (arm64, the runtime's CPython) into a
cache under ``build/`` keyed by the requirements file's hash and the target platform, so repeated
synths and tests copy a directory instead of reaching PyPI. ``--only-binary=:all:`` makes pip
refuse anything that would need compiling here for another platform.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from stacks import constants as c

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
REQUIREMENTS = LAMBDAS_DIR / "requirements.txt"
CACHE_DIR = REPO_ROOT / "build" / "lambda-dependencies"
CODE_PACKAGES = ("handlers", "usage_pipeline", "usage_report")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache")


def dependencies_dir(requirements: Path = REQUIREMENTS, cache_dir: Path = CACHE_DIR) -> Path:
    """Install the requirements for the Lambda platform once; return the cached site-packages."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"{'+'.join(c.LAMBDA_PIP_PLATFORMS)}/cp{c.LAMBDA_PYTHON_VERSION}".encode())
    target = cache_dir / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Install next to the final place and rename: an interrupted install never looks complete.
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_dir))
    try:
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                *(
                    argument
                    for platform in c.LAMBDA_PIP_PLATFORMS
                    for argument in ("--platform", platform)
                ),
                "--implementation",
                "cp",
                "--python-version",
                c.LAMBDA_PYTHON_VERSION,
                "--only-binary=:all:",
                "--target",
                str(staging),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def build_asset(output_dir: Path) -> None:
    """Fill ``output_dir`` with the dependencies and the code packages."""
    shutil.copytree(dependencies_dir(), output_dir, dirs_exist_ok=True, ignore=_IGNORED)
    for package in CODE_PACKAGES:
        shutil.copytree(
            LAMBDAS_DIR / package, output_dir / package, dirs_exist_ok=True, ignore=_IGNORED
        )


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK calls this before it would try Docker; returning True means the asset is built."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        build_asset(Path(output_dir))
        return True


def lambda_code() -> lambda_.Code:
    """One asset for every handler (contracts section 7: asset root ``lambdas/``)."""
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, the image only satisfies the API.
            image=DockerImage.from_registry("local-pip-bundling-only"),
            local=LocalPipBundling(),
        ),
        exclude=["**/__pycache__", "**/*.pyc"],
    )
