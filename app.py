#!/usr/bin/env python3
"""CDK entry point (cdk.json: ``.venv/bin/python app.py``): one stack, cdk-nag enforced."""

from __future__ import annotations

from stacks.application import create_app


def main() -> None:
    app, _ = create_app(nag=True)
    app.synth()


if __name__ == "__main__":
    main()
