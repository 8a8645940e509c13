"""Cold-start cost of the handlers: importing each one against ``import boto3``, as ratios.

`python -m bench.import_bench [--repeats N]` imports every handler module in a fresh interpreter
(as a new Lambda container does), interleaved with a baseline that imports only boto3, and prints
the median of each as a ratio of the baseline's. Candidate libraries (pydantic, the X-Ray SDK that
Powertools' Tracer needs) are measured the same way, added to boto3, so a choice to use them or not
rests on a number. Run in one go: the machine is shared, and ratios survive its noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence

from bench import REPO_ROOT

BASELINE = "import boto3"
HANDLERS = (
    "handlers.submit_query",
    "handlers.poll_status",
    "handlers.transform",
    "handlers.land",
)
CANDIDATES = {
    "boto3 + pydantic model": (
        "import boto3\nfrom pydantic import BaseModel\nclass M(BaseModel):\n    a: int"
    ),
    "boto3 + Powertools Tracer (aws-xray-sdk)": (
        "import boto3\nfrom aws_lambda_powertools import Tracer\nTracer(service='x', disabled=True)"
    ),
}
_TIMER = "import time\n_s = time.perf_counter()\n{code}\nprint(time.perf_counter() - _s)"


def _seconds(code: str) -> float:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT / "lambdas"),
        "PYTHONDONTWRITEBYTECODE": "1",
        # What the deployed functions set; the handlers read them only when invoked.
        "POWERTOOLS_SERVICE_NAME": "genesys-api-usage",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _TIMER.format(code=code)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def measure(statements: dict[str, str], repeats: int) -> dict[str, float]:
    """Median seconds per statement; the statements take turns so noise hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(repeats):
        for name, code in statements.items():
            samples[name].append(_seconds(code))
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    statements = {"import boto3": BASELINE}
    statements.update({f"import {module}": f"import {module}" for module in HANDLERS})
    statements.update(CANDIDATES)
    medians = measure(statements, args.repeats)
    baseline = medians["import boto3"]
    for name, seconds in medians.items():
        print(f"{name}: {seconds / baseline:.2f}x import boto3 ({seconds * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
