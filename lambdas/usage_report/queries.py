"""Every SQL query of the report, in Athena's (Trino) dialect: the one place both engines read.

The report runs these on Athena (``--stack``) and, translated by sqlglot, on DuckDB (``--local``);
the stack saves the same queries in its Athena workgroup (``stacks/saved_queries.py``), so what the
page shows can be re-run in the console.

Every query reads one granularity (``day``), the default grouping and the default API: rows of
other groupings or of the legacy API describe the same requests, so mixing them would double count.
Values chosen at run time (dates, OAuth client ids, template URIs) are never written into the SQL:
they are named ``:markers`` here, bound to positional ``?`` parameters (Athena's
ExecutionParameters, DuckDB's prepared parameters) in the order they occur.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from usage_pipeline import constants as rc
from usage_pipeline.measures import percent_429_sql
from usage_pipeline.sql import qualified_name

GRANULARITY = rc.DEFAULT_GRANULARITY.lower()
GROUPING = rc.DEFAULT_GROUPING
API = rc.DEFAULT_API

# The saved query `python -m local.run` executes (found by this name in the template).
TOP_CLIENTS_BY_429 = "top-10-oauth-clients-by-429"
SUMMARY = "usage-summary"
OAUTH_CLIENTS = "oauth-clients-by-period"
TEMPLATE_URIS = "template-uris-by-period"
CLIENT_DAILY = "daily-requests-of-oauth-clients"
CLIENT_URIS = "top-template-uris-of-oauth-clients"
URI_DAILY = "daily-requests-of-template-uris"
USAGE_DATA = "api-usage-data"

# How many template URIs the report shows for each selected OAuth client.
URIS_PER_CLIENT = 5
# Saved queries take a list parameter as this many `?` (the report's default selection size).
SAVED_LIST_SLOTS = 5

# Parameters whose value is a list: each becomes one `?` per element.
LIST_PARAMETERS = frozenset({"oauth_client_ids", "template_uris"})
PARAMETER_HELP = {
    "start": "first day of the range, e.g. '2026-11-15' (quoted)",
    "end": "last day of the range, inclusive, e.g. '2026-11-21'",
    "previous_start": "first day of the period before the range, of the same length",
    "oauth_client_ids": "an OAuth client id, quoted (repeat one to select fewer)",
    "template_uris": "a template URI, quoted (repeat one to select fewer)",
}
_MARKER = re.compile(r"(?<![:\w]):([a-z_]+)")

# Counts by status class. 429 is a subset of 400 in the data, so 400 is split: a bar stacked from
# these columns adds up to the requests.
STATUS_COLUMNS = ("status200", "status300", "status400_not_429", "status429", "status500")
COUNT_COLUMNS = ("requests", *STATUS_COLUMNS)
_COUNTS = """COALESCE(SUM(requests), 0) AS requests,
  COALESCE(SUM(status200), 0) AS status200,
  COALESCE(SUM(status300), 0) AS status300,
  COALESCE(SUM(status400), 0) - COALESCE(SUM(status429), 0) AS status400_not_429,
  COALESCE(SUM(status429), 0) AS status429,
  COALESCE(SUM(status500), 0) AS status500"""
_ONE_VIEW = f"granularity = '{GRANULARITY}' AND grouping = '{GROUPING}' AND api = '{API}'"
_RANGE = f'{_ONE_VIEW}\n  AND "date" BETWEEN :start AND :end'
# The range and the period of the same length before it, told apart by `period`.
_TWO_PERIODS = f'{_ONE_VIEW}\n  AND "date" BETWEEN :previous_start AND :end'
_PERIOD = "CASE WHEN \"date\" >= :start THEN 'current' ELSE 'previous' END AS period"


@dataclass(frozen=True)
class BoundQuery:
    """A query ready to run: SQL with positional `?` and its values, in order."""

    name: str
    sql: str
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class ReportQuery:
    name: str
    description: str
    sql: str  # Athena SQL over {source}, with :markers for the run-time values

    def markers(self) -> list[str]:
        """The parameter names in the order they occur (a name may occur more than once)."""
        return _MARKER.findall(self.sql)

    def bind(self, source: str, values: Mapping[str, str | Sequence[str]]) -> BoundQuery:
        """Replace each marker by `?` (one per element for a list) and collect the values."""
        parameters: list[str] = []

        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise KeyError(f"query {self.name!r} needs the parameter {name!r}")
            value = values[name]
            if name in LIST_PARAMETERS:
                if isinstance(value, str) or not value:
                    raise ValueError(f"{name} must be a non-empty list, got {value!r}")
                parameters.extend(value)
                return ", ".join("?" * len(value))
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {value!r}")
            parameters.append(value)
            return "?"

        sql = _MARKER.sub(placeholder, self.sql.format(source=source))
        return BoundQuery(self.name, sql, tuple(parameters))

    def saved(self, source: str) -> tuple[str, str]:
        """(SQL, description) as the workgroup saves it: `?` slots, explained in order."""
        slots = {
            name: [name] * SAVED_LIST_SLOTS if name in LIST_PARAMETERS else name
            for name in self.markers()
        }
        bound = self.bind(source, slots)
        if not bound.parameters:
            return bound.sql, self.description
        order = "; ".join(
            f"{index}: {PARAMETER_HELP[name]}" for index, name in enumerate(bound.parameters, 1)
        )
        # CloudFormation limits a saved query's description to 1024 characters.
        return bound.sql, f"{self.description}. Parameters: {order}"[:1024]


REPORT_QUERIES: tuple[ReportQuery, ...] = (
    ReportQuery(
        SUMMARY,
        "Requests by status, OAuth clients and template URIs, in a range and the period before",
        f"""SELECT
  {_PERIOD},
  COUNT(*) AS row_count,
  {_COUNTS},
  COUNT(DISTINCT oauth_client_id) AS oauth_clients,
  COUNT(DISTINCT template_uri) AS template_uris,
  MAX("date") AS last_day,
  MAX(landed_at) AS last_landed_at
FROM {{source}}
WHERE {_TWO_PERIODS}
GROUP BY 1
ORDER BY 1""",
    ),
    ReportQuery(
        OAUTH_CLIENTS,
        "Requests by status of every OAuth client, in a range and the period before",
        f"""SELECT
  {_PERIOD},
  oauth_client_id,
  MAX_BY(oauth_client_name, "date") AS oauth_client_name,
  {_COUNTS}
FROM {{source}}
WHERE {_TWO_PERIODS}
GROUP BY 1, 2
ORDER BY 1, requests DESC, oauth_client_id""",
    ),
    ReportQuery(
        TEMPLATE_URIS,
        "Requests by status of every template URI, in a range and the period before",
        f"""SELECT
  {_PERIOD},
  template_uri,
  {_COUNTS}
FROM {{source}}
WHERE {_TWO_PERIODS}
GROUP BY 1, 2
ORDER BY 1, requests DESC, template_uri""",
    ),
    ReportQuery(
        CLIENT_DAILY,
        "Requests by status per UTC day of the chosen OAuth clients",
        f"""SELECT
  "date",
  oauth_client_id,
  {_COUNTS}
FROM {{source}}
WHERE {_RANGE}
  AND oauth_client_id IN (:oauth_client_ids)
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    ReportQuery(
        CLIENT_URIS,
        f"The {URIS_PER_CLIENT} template URIs each chosen OAuth client calls most, by status",
        f"""SELECT *
FROM (
  SELECT
    oauth_client_id,
    template_uri,
    {_COUNTS},
    ROW_NUMBER() OVER (
      PARTITION BY oauth_client_id ORDER BY SUM(requests) DESC, template_uri
    ) AS rank
  FROM {{source}}
  WHERE {_RANGE}
    AND oauth_client_id IN (:oauth_client_ids)
  GROUP BY 1, 2
)
WHERE rank <= {URIS_PER_CLIENT}
ORDER BY oauth_client_id, rank""",
    ),
    ReportQuery(
        URI_DAILY,
        "Requests by status per UTC day of the chosen template URIs",
        f"""SELECT
  "date",
  template_uri,
  {_COUNTS}
FROM {{source}}
WHERE {_RANGE}
  AND template_uri IN (:template_uris)
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    ReportQuery(
        USAGE_DATA,
        "Every row of a range (the report's 'API usage data' export)",
        f"""SELECT
  "date",
  oauth_client_id,
  oauth_client_name,
  template_uri,
  http_method,
  requests,
  status200,
  status300,
  status400,
  status429,
  status500,
  run_id,
  landed_at
FROM {{source}}
WHERE {_RANGE}
ORDER BY "date", oauth_client_id, template_uri, http_method""",
    ),
)

# The blueprint's question over every landed day; `python -m local.run` answers it.
TOP_429_QUERY = ReportQuery(
    TOP_CLIENTS_BY_429,
    "Top 10 OAuth clients by rate-limited (429) requests, over every landed day",
    f"""SELECT
  oauth_client_id,
  oauth_client_name,
  SUM(status429) AS total_status429,
  SUM(requests) AS total_requests,
  {percent_429_sql("SUM(status429)", "SUM(requests)")} AS percent_429
FROM {{source}}
WHERE {_ONE_VIEW}
GROUP BY oauth_client_id, oauth_client_name
ORDER BY total_status429 DESC, total_requests DESC, oauth_client_id
LIMIT 10""",
)

QUERIES_BY_NAME = {query.name: query for query in (*REPORT_QUERIES, TOP_429_QUERY)}


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    sql: str


def saved_queries(database: str, table: str) -> list[SavedQuery]:
    """What the stack saves in its workgroup: the report's queries and the top-429 question."""
    source = qualified_name(database, table)
    saved = []
    for query in (TOP_429_QUERY, *REPORT_QUERIES):
        sql, description = query.saved(source)
        saved.append(SavedQuery(query.name, description, sql))
    return saved
