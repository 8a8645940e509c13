#!/usr/bin/env python3
"""CDK entry point (cdk.json: ``.venv/bin/python app.py``): one stack, cdk-nag enforced."""

from __future__ import annotations

import sys
from pathlib import Path

# The stack imports the Lambdas' shared constants (usage_pipeline.constants) from lambdas/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

from stacks.application import create_app


def main() -> None:
    app, _ = create_app(nag=True)
    app.synth()


if __name__ == "__main__":
    main()
