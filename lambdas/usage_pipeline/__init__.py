"""Genesys Cloud API usage pipeline: the logic behind the Lambda handlers."""
