"""The report in a real browser: headless Chromium opens it from disk with the network off.

The data is landed once per module by the real local pipeline (two weeks: the report's range and
the period before it), on a pinned day whose week crosses a year and has single-digit days, so the
page meets the same dates on every day the tests run; the expected numbers are summed here from
the landed rows themselves, never with the report's SQL. A screenshot of every section is kept in
test-artifacts/report/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from local.harness import ROOT
from tests.integration.conftest import Pipelines
from tests.unit.report_fakes import report_with
from usage_pipeline import constants as rc
from usage_report.html import render
from usage_report.model import STATUS_CLASSES

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# The pipeline runs as on this day: the report's range is 29 December to 4 January, the period
# before it 22 to 28 December.
LANDED_ON = date(2026, 1, 5)
ARTIFACTS = ROOT / "test-artifacts" / "report"
SECTIONS = ("summary", "most-active", "oauth-client-requests", "url-requests", "what-changed")
STATUS_BY_LABEL = {status.label: status for status in STATUS_CLASSES}
# "<what>, <status label> <meaning>: 1,234 requests": each mark's accessible description.
MARK = re.compile(
    r"^(?P<what>.*), (?P<status>200|300|400 \(not 429\)|429|500) [^:]*: (?P<n>[\d,]+) requests$"
)
STATUS_MARK = re.compile(
    r"^(?P<status>200|300|400 \(not 429\)|429|500) [^:]*: (?P<n>[\d,]+) requests$"
)


@dataclass
class Sums:
    """Requests by status class, summed here from landed rows."""

    requests: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_BY_LABEL, 0))

    def add(self, row: dict[str, Any]) -> None:
        self.requests += row["requests"]
        self.by_status["200"] += row["status200"]
        self.by_status["300"] += row["status300"]
        self.by_status["400 (not 429)"] += row["status400"] - row["status429"]
        self.by_status["429"] += row["status429"]
        self.by_status["500"] += row["status500"]

    def nonzero(self) -> dict[str, int]:
        return {status: n for status, n in self.by_status.items() if n}


@dataclass
class Landed:
    bucket: Path
    rows: list[dict[str, Any]]
    first: date
    last: date

    def in_range(self, first: date, last: date) -> list[dict[str, Any]]:
        return [
            row
            for row in self.rows
            if row["granularity"] == "day"
            and row["grouping"] == rc.DEFAULT_GROUPING
            and row["api"] == rc.DEFAULT_API
            and first.isoformat() <= row["date"] <= last.isoformat()
        ]

    def sums_by(
        self, rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]
    ) -> dict[Any, Sums]:
        sums: dict[Any, Sums] = defaultdict(Sums)
        for row in rows:
            sums[key(row)].add(row)
        return dict(sums)


def _top(sums: dict[Any, Sums], n: int = 5) -> list[Any]:
    return sorted(sums, key=lambda k: (-sums[k].requests, k))[:n]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def landed(pipelines: Pipelines, tmp_path_factory: pytest.TempPathFactory) -> Landed:
    bucket = tmp_path_factory.mktemp("bucket")
    # One pipeline at a time in a process (moto's backends are process-wide): the package's own.
    pipeline = pipelines.own(polls_until_done=1, today=LANDED_ON)
    try:
        execution = pipeline.execute({"lastDays": 14})
        assert execution.succeeded, execution.cause
        pipeline.download(bucket)
        rows = pipeline.usage_rows()
    finally:
        pipelines.close_own()
    return Landed(bucket, rows, LANDED_ON - timedelta(days=7), LANDED_ON - timedelta(days=1))


def _report(
    landed: Landed, out: Path, *options: str, interval: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m ops.report` over the landed copy; by default for the landed range."""
    if interval is None:
        interval = f"{landed.first.isoformat()}/{(landed.last + timedelta(days=1)).isoformat()}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.report",
            "--local",
            str(landed.bucket),
            "--out",
            str(out),
            "--interval",
            interval,
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def report_dir(landed: Landed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    completed = _report(landed, out)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Opened:
    page: Page
    errors: list[str]
    requests: list[str]
    dialogs: list[str]


@pytest.fixture
def open_report(browser: Browser) -> Iterator[Callable[..., Opened]]:
    contexts = []

    def opener(path: Path, timezone_id: str = "UTC") -> Opened:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id=timezone_id, offline=True
        )
        contexts.append(context)
        opened = Opened(context.new_page(), [], [], [])
        # The network is off: anything but the file itself is refused and recorded.
        context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
        opened.page.on("request", lambda request: opened.requests.append(request.url))
        opened.page.on(
            "console", lambda m: opened.errors.append(m.text) if m.type == "error" else None
        )
        opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
        opened.page.on(
            "dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss())
        )
        opened.page.goto(path.resolve().as_uri())
        opened.page.wait_for_selector("body[data-charts-ready]", timeout=30_000)
        return opened

    yield opener
    for context in contexts:
        context.close()


def _marks(page: Page, chart: str, role: str) -> list[str]:
    labels: list[str] = page.eval_on_selector_all(
        f'#chart-{chart} svg [aria-roledescription="{role}"]',
        "marks => marks.map(m => m.getAttribute('aria-label'))",
    )
    return labels


def _bars(page: Page, chart: str) -> dict[tuple[str, str], int]:
    found = {}
    for label in _marks(page, chart, "bar"):
        match = MARK.match(label)
        assert match, label
        found[(match["what"], match["status"])] = _number(match["n"])
    return found


def _status_bars(page: Page, chart: str) -> dict[str, int]:
    found = {}
    for label in _marks(page, chart, "bar"):
        match = STATUS_MARK.match(label)
        assert match, label
        found[match["status"]] = _number(match["n"])
    return found


def _expected_bars(
    sums: dict[Any, Sums], keys: list[Any], label: Callable[[Any], str]
) -> dict[tuple[str, str], int]:
    return {(label(key), status): n for key in keys for status, n in sums[key].nonzero().items()}


def test_every_section_is_drawn_with_the_landed_numbers(
    landed: Landed, report_dir: Path, open_report: Callable[..., Opened]
) -> None:
    # GIVEN the rows of the range and the names of the clients, summed here
    rows = landed.in_range(landed.first, landed.last)
    assert rows, "the pipeline landed nothing in the range"
    names = {row["oauth_client_id"]: row["oauth_client_name"] for row in rows}
    by_client = landed.sums_by(rows, lambda row: row["oauth_client_id"])
    by_uri = landed.sums_by(rows, lambda row: row["template_uri"])
    everything = landed.sums_by(rows, lambda _row: "all")["all"]
    top_clients, top_uris = _top(by_client), _top(by_uri)

    # WHEN the page is opened from disk with the network off
    opened = open_report(report_dir / "index.html")
    page = opened.page

    # THEN nothing went wrong and nothing but the file was requested
    assert opened.errors == []
    assert all(url.startswith("file:") for url in opened.requests), opened.requests
    assert page.locator('[data-rendered="failed"]').count() == 0

    # AND the header's totals are the landed rows' sums
    kpi = {
        k: page.get_attribute(f'[data-kpi="{k}"]', "data-value")
        for k in ("requests", "oauth-clients", "share-429", "last-day")
    }
    assert kpi == {
        "requests": str(everything.requests),
        "oauth-clients": str(len(by_client)),
        "share-429": str(everything.by_status["429"]),
        "last-day": max(row["date"] for row in rows),
    }
    assert f"{everything.requests:,}" in page.inner_text('[data-kpi="requests"]')
    share = 100 * everything.by_status["429"] / everything.requests
    assert f"{share:.2f} %" in page.inner_text('[data-kpi="share-429"]')
    assert page.get_attribute("#range", "data-first") == landed.first.isoformat()
    assert page.get_attribute("#range", "data-last") == landed.last.isoformat()

    # AND Most Active Requests: top 5 clients and URLs as bars by status, the status totals
    assert _bars(page, "top-clients") == _expected_bars(by_client, top_clients, lambda k: names[k])
    assert _status_bars(page, "status-codes") == everything.by_status
    assert _bars(page, "top-uris") == _expected_bars(by_uri, top_uris, lambda k: k)

    # AND OAuth Client Requests: a line per top client, a point per day, their statuses and URLs
    days = (landed.last - landed.first).days + 1
    assert len(_marks(page, "client-daily", "line mark")) == 5
    assert len(_marks(page, "client-daily", "point")) == 5 * days
    selected = [row for row in rows if row["oauth_client_id"] in top_clients]
    assert (
        _status_bars(page, "client-status-codes")
        == landed.sums_by(selected, lambda _r: 0)[0].by_status
    )
    expected_uris: dict[tuple[str, str, str], int] = {}
    for client in top_clients:
        of_client = landed.sums_by(
            [r for r in rows if r["oauth_client_id"] == client], lambda r: r["template_uri"]
        )
        for uri in _top(of_client):
            for status, n in of_client[uri].nonzero().items():
                expected_uris[(names[client], uri, status)] = n
    drawn_uris = {}
    for label in _marks(page, "client-uris", "bar"):
        match = MARK.match(label)
        assert match, label
        client_name, uri = _split_client(match["what"], names)
        drawn_uris[(client_name, uri, match["status"])] = _number(match["n"])
    assert drawn_uris == expected_uris

    # AND URL Requests: a line per top URL, their statuses
    assert len(_marks(page, "uri-daily", "line mark")) == 5
    selected_uris = [row for row in rows if row["template_uri"] in top_uris]
    assert (
        _status_bars(page, "uri-status-codes")
        == landed.sums_by(selected_uris, lambda _r: 0)[0].by_status
    )

    # AND What changed: each listed client's requests and 429s, now and in the 7 days before
    before = landed.in_range(landed.first - timedelta(days=days), landed.first - timedelta(days=1))
    before_by_client = landed.sums_by(before, lambda row: row["oauth_client_id"])
    listed = page.locator("#changed-clients tbody tr")
    assert listed.count() > 0
    for index in range(listed.count()):
        row = listed.nth(index)
        key = row.get_attribute("data-key")
        cells = [
            _number(c)
            for c in row.locator("td").all_inner_texts()[1:]
            if re.fullmatch(r"[\d,]+", c)
        ]
        now = by_client.get(key, Sums())
        then = before_by_client.get(key, Sums())
        assert cells == [now.requests, then.requests, now.by_status["429"], then.by_status["429"]]

    # AND a screenshot of every section is kept
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:
        page.locator(f"#{section}").screenshot(path=str(ARTIFACTS / f"{section}.png"))


def _split_client(description: str, names: dict[str, str]) -> tuple[str, str]:
    """'<client>, <uri>' where the client name may itself hold ', '."""
    for name in sorted(names.values(), key=len, reverse=True):
        if description.startswith(f"{name}, "):
            return name, description[len(name) + 2 :]
    raise AssertionError(f"no client name starts {description!r}")


def test_the_csv_of_every_row_holds_exactly_the_landed_rows(
    landed: Landed, report_dir: Path
) -> None:
    import csv

    with (report_dir / "api-usage-data.csv").open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    rows = landed.in_range(landed.first, landed.last)
    assert len(exported) == len(rows)
    assert sum(int(row["requests"]) for row in exported) == sum(row["requests"] for row in rows)


def test_chosen_clients_and_urls_are_exactly_those_drawn(
    landed: Landed, tmp_path: Path, open_report: Callable[..., Opened]
) -> None:
    # GIVEN a client whose name holds a backslash and a URL outside the top 5
    rows = landed.in_range(landed.first, landed.last)
    names = sorted({row["oauth_client_name"] for row in rows})
    odd_name = next(name for name in names if "\\" in name)
    by_uri = landed.sums_by(rows, lambda row: row["template_uri"])
    quiet_uri = _top(by_uri, 8)[-1]

    # WHEN the report is made for them
    completed = _report(landed, tmp_path, "--clients", odd_name, names[0], "--urls", quiet_uri)
    assert completed.returncode == 0, completed.stderr
    page = open_report(tmp_path / "index.html").page

    # THEN those and only those are in their sections
    assert page.locator("#chosen-clients li").all_inner_texts() == [odd_name, names[0]]
    assert page.locator("#chosen-uris li").all_inner_texts() == [quiet_uri]
    assert len(_marks(page, "client-daily", "line mark")) == 2
    assert len(_marks(page, "uri-daily", "line mark")) == 1
    quiet = by_uri[quiet_uri]
    assert _status_bars(page, "uri-status-codes") == quiet.by_status


def test_an_unknown_client_is_refused_with_the_closest_name(landed: Landed, tmp_path: Path) -> None:
    rows = landed.in_range(landed.first, landed.last)
    name = sorted({row["oauth_client_name"] for row in rows})[0]
    completed = _report(landed, tmp_path, "--clients", name[:-1])
    assert completed.returncode == 2
    assert repr(name) in completed.stderr
    assert not (tmp_path / "index.html").exists()


def test_days_are_utc_days_in_any_time_zone(
    report_dir: Path, landed: Landed, open_report: Callable[..., Opened]
) -> None:
    page = open_report(report_dir / "index.html", timezone_id="America/Los_Angeles").page
    axis = page.get_attribute('#chart-client-daily svg [aria-roledescription="axis"]', "aria-label")
    assert axis is not None
    # Vega's own caption of a time axis writes a day as "%B %d": "December 29", "January 04".
    first, last = (f"{d:%B %d}" for d in (landed.first, landed.last))
    assert f"from {first} to {last}" in axis


def test_a_range_without_data_says_so(
    landed: Landed, tmp_path: Path, open_report: Callable[..., Opened]
) -> None:
    empty_day = (landed.first - timedelta(days=30)).isoformat()
    completed = _report(landed, tmp_path, interval=empty_day)
    assert completed.returncode == 0, completed.stderr
    opened = open_report(tmp_path / "index.html")
    assert opened.page.locator("#no-data").is_visible()
    assert opened.page.locator(".chart").count() == 0
    assert opened.errors == []


def test_hostile_names_are_shown_as_text_and_never_run(
    tmp_path: Path, open_report: Callable[..., Opened]
) -> None:
    name = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'
    uri = 'api/v2/"><svg onload=alert(2)>'
    (tmp_path / "index.html").write_text(
        render(report_with(name, uri), command="test"), encoding="utf-8"
    )
    opened = open_report(tmp_path / "index.html")
    assert opened.dialogs == []
    assert opened.errors == []
    assert opened.page.locator("#chosen-clients li").all_inner_texts() == [name]
    assert opened.page.locator("#chosen-uris li").all_inner_texts() == [uri]
    bars = _bars(opened.page, "top-clients")
    assert {what for what, _ in bars} == {name}


def test_hovering_a_bar_shows_its_exact_numbers(
    landed: Landed, report_dir: Path, open_report: Callable[..., Opened]
) -> None:
    # GIVEN the busiest client's successful requests, summed from the landed rows
    rows = landed.in_range(landed.first, landed.last)
    by_client = landed.sums_by(rows, lambda row: row["oauth_client_id"])
    busiest = _top(by_client, 1)[0]
    name = next(row["oauth_client_name"] for row in rows if row["oauth_client_id"] == busiest)
    page = open_report(report_dir / "index.html").page

    # WHEN the pointer rests on its 200 bar
    page.locator(
        f'#chart-top-clients svg [aria-roledescription="bar"][aria-label^="{name}, 200 "]'
    ).hover()

    # THEN the tooltip gives the client and the exact counts, with thousands separators
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for()
    text = tooltip.inner_text()
    assert name in text
    assert f"{by_client[busiest].by_status['200']:,}" in text
    assert f"{by_client[busiest].requests:,}" in text
