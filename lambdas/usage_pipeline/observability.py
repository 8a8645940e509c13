"""The pipeline's one structured logger (Powertools), shared by the handlers and every module.

One ``Logger`` instance means one JSON formatter: a key the handler appends (the run id, also set as
the correlation id) is on every line, the Genesys client's retry warnings included, and the level
follows ``LOG_LEVEL`` (or ``POWERTOOLS_LOG_LEVEL``) in Lambda and locally alike.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from usage_pipeline.constants import SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
