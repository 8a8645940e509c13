"""The report's views as Athena saved queries (Trino dialect).

Every query reads one granularity (``day``) and one grouping (the default groupBy's): rows of
different groupings describe the same requests, so summing across groupings would double count.
The SQL stays plain (no Athena-only functions) so sqlglot can translate it to DuckDB for the local
run, which executes the ``top-10-oauth-clients-by-429`` query taken from the synthesized template.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks import constants as c

# S608 is silenced below: the SQL is built from the stack's own database and table names, never from
# user input.
from usage_pipeline import constants as rc

DEFAULT_GRANULARITY = rc.DEFAULT_GRANULARITY.lower()
DEFAULT_GROUPING = rc.DEFAULT_GROUPING


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    sql: str


def saved_queries(database: str, table: str) -> list[SavedQuery]:
    source = f'"{database}"."{table}"'
    where = f"WHERE granularity = '{DEFAULT_GRANULARITY}' AND grouping = '{DEFAULT_GROUPING}'"
    return [
        SavedQuery(
            name=c.TOP_CLIENTS_BY_429_QUERY_NAME,
            description="Top 10 OAuth clients by rate-limited (429) requests",
            sql=f"""SELECT
  oauth_client_id,
  oauth_client_name,
  SUM(status429) AS total_status429,
  SUM(requests) AS total_requests,
  ROUND(100.0 * SUM(status429) / NULLIF(SUM(requests), 0), 2) AS percent_429
FROM {source}
{where}
GROUP BY oauth_client_id, oauth_client_name
ORDER BY total_status429 DESC, total_requests DESC, oauth_client_id
LIMIT 10""",  # noqa: S608
        ),
        SavedQuery(
            name="top-5-oauth-clients-by-requests",
            description="Most active OAuth clients (the report's OAuth Client Requests)",
            sql=f"""SELECT
  oauth_client_id,
  oauth_client_name,
  SUM(requests) AS total_requests,
  SUM(status200) AS total_status200,
  SUM(status400) AS total_status400,
  SUM(status429) AS total_status429,
  SUM(status500) AS total_status500
FROM {source}
{where}
GROUP BY oauth_client_id, oauth_client_name
ORDER BY total_requests DESC, oauth_client_id
LIMIT 5""",  # noqa: S608
        ),
        SavedQuery(
            name="status-code-totals",
            description="Requests by status code class over all landed days",
            sql=f"""SELECT
  SUM(requests) AS total_requests,
  SUM(status200) AS total_status200,
  SUM(status300) AS total_status300,
  SUM(status400) AS total_status400,
  SUM(status429) AS total_status429,
  SUM(status500) AS total_status500
FROM {source}
{where}""",  # noqa: S608
        ),
        SavedQuery(
            name="top-5-template-uris",
            description="Most requested API resources (the report's URL Requests)",
            sql=f"""SELECT
  template_uri,
  SUM(requests) AS total_requests,
  SUM(status400) AS total_status400,
  SUM(status429) AS total_status429,
  SUM(status500) AS total_status500
FROM {source}
{where}
GROUP BY template_uri
ORDER BY total_requests DESC, template_uri
LIMIT 5""",  # noqa: S608
        ),
        SavedQuery(
            name="daily-trend",
            description="Requests, 429s and errors per UTC day",
            sql=f"""SELECT
  "date",
  SUM(requests) AS total_requests,
  SUM(status429) AS total_status429,
  SUM(status400) + SUM(status500) AS total_errors
FROM {source}
{where}
GROUP BY "date"
ORDER BY "date" ASC""",  # noqa: S608
        ),
    ]
