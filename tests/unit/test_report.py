"""ops.report without a browser: CSV formula guard, escaping, selections, no data, intervals."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest

from ops.report.cli import main, range_of
from tests.unit.report_fakes import DAYS, CannedEngine, fake_libraries, report_with
from usage_report import queries as q
from usage_report.build import build_report
from usage_report.csv_export import safe_cell, write_csv
from usage_report.errors import ReportError
from usage_report.html import render
from usage_report.model import DateRange, OAuthClient, client_labels
from usage_report.selection import MAX_SELECTED, resolve_clients, resolve_uris

HOSTILE_NAME = '</script><script>alert("name")</script><img src=x onerror=alert(1)> & co'
HOSTILE_URI = "api/v2/</script><b>{id}</b>"
TODAY = date(2026, 11, 22)


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(start: str) -> None:
    assert safe_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


@pytest.mark.parametrize("value", ["Montréal Callback Service", "a=b", "api/v2/users", "", 'a "b"'])
def test_other_text_is_written_as_it_is(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_stay_numbers_even_negative_and_none_is_empty() -> None:
    assert safe_cell(-42) == -42
    assert safe_cell(None) == ""


def test_a_written_csv_reads_back_guarded_with_quotes_commas_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    rows = [["=cmd|' /C calc'!A0", 'Müller, "Söhne"\nCRM', -3, "\\ backslash 🤖"]]
    write_csv(path, ["a", "b", "c", "d"], rows)
    (header, row) = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert header == ["a", "b", "c", "d"]
    assert row == ["'=cmd|' /C calc'!A0", 'Müller, "Söhne"\nCRM', "-3", "\\ backslash 🤖"]


# --- HTML ---------------------------------------------------------------------------------------


def _page(tmp_path: Path, name: str = HOSTILE_NAME, uri: str = HOSTILE_URI) -> str:
    return render(
        report_with(name, uri), command="python -m ops.report", root=fake_libraries(tmp_path)
    )


def test_untrusted_names_never_become_markup(tmp_path: Path) -> None:
    page = _page(tmp_path)
    # Only the page's own scripts: one JSON data block, three libraries, one start-up script.
    assert page.count("<script") == 5
    assert page.count("</script>") == 5
    assert "<img" not in page
    assert "<b>{id}</b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&#34;name&#34;)" in page


def test_the_graph_data_keeps_the_text_exactly_and_cannot_close_its_element(
    tmp_path: Path,
) -> None:
    page = _page(tmp_path)
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert "<" not in data.group(1)
    assert ">" not in data.group(1)
    assert "&" not in data.group(1)
    specs = json.loads(data.group(1))
    categories = {v["category"] for v in specs["top-clients"]["data"]["values"]}
    assert categories == {HOSTILE_NAME}
    lines = {v["series"] for v in specs["uri-daily"]["data"]["values"]}
    assert lines == {HOSTILE_URI}


def test_the_page_forbids_every_request(tmp_path: Path) -> None:
    page = _page(tmp_path, "plain", "api/v2/users")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    assert "default-src 'none'" in html.unescape(policy.group(1))
    assert "http" not in policy.group(1)


def test_a_library_that_could_end_its_script_element_is_refused(tmp_path: Path) -> None:
    root = fake_libraries(tmp_path)
    (root / "node_modules/vega/build/vega.min.js").write_text("x='</SCRIPT>'", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot be inlined"):
        render(report_with("a", "b"), command="c", root=root)


def test_missing_libraries_name_the_install_step(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make install"):
        render(report_with("a", "b"), command="c", root=tmp_path)


# --- selection ----------------------------------------------------------------------------------

KNOWN = client_labels(
    [
        ("11111111-aaaa", "Montréal Callback Service"),
        ("22222222-bbbb", "Nightly Recording Archiver"),
        ("33333333-cccc", "Twin"),
        ("44444444-dddd", "Twin"),
    ]
)


def test_clients_are_chosen_by_id_or_name() -> None:
    chosen = resolve_clients(["Nightly Recording Archiver", "11111111-aaaa"], KNOWN, DAYS)
    assert [client.id for client in chosen] == ["22222222-bbbb", "11111111-aaaa"]


def test_an_unknown_client_is_refused_by_name_with_the_closest_matches() -> None:
    with pytest.raises(ReportError) as refused:
        resolve_clients(["Nightly Recording Archive"], KNOWN, DAYS)
    message = str(refused.value)
    assert "--clients 'Nightly Recording Archive'" in message
    assert "'Nightly Recording Archiver'" in message
    assert "2026-11-15 to 2026-11-21" in message


def test_a_name_two_clients_share_is_refused_with_their_ids() -> None:
    with pytest.raises(ReportError) as refused:
        resolve_clients(["Twin"], KNOWN, DAYS)
    assert "33333333-cccc" in str(refused.value)
    assert "44444444-dddd" in str(refused.value)


def test_clients_sharing_a_name_are_told_apart_on_the_page() -> None:
    labels = {KNOWN[cid].label for cid in ("33333333-cccc", "44444444-dddd")}
    assert labels == {"Twin (33333333)", "Twin (44444444)"}


def test_an_unknown_url_is_refused_with_the_closest_matches() -> None:
    known = ["api/v2/users/{userId}", "api/v2/users", "api/v2/groups"]
    with pytest.raises(ReportError) as refused:
        resolve_uris(["api/v2/user/{userId}"], known, DAYS)
    assert "--urls 'api/v2/user/{userId}'" in str(refused.value)
    assert "'api/v2/users/{userId}'" in str(refused.value)


def test_control_characters_in_a_refused_name_are_shown_escaped() -> None:
    with pytest.raises(ReportError) as refused:
        resolve_uris(["\x1b[31mred"], ["api/v2/users"], DAYS)
    assert "\x1b" not in str(refused.value)
    assert "\\x1b[31mred" in str(refused.value)


def test_more_than_fit_in_a_graph_are_refused() -> None:
    with pytest.raises(ReportError, match=f"at most {MAX_SELECTED}"):
        resolve_uris([f"u{i}" for i in range(MAX_SELECTED + 1)], [], DAYS)


# --- no data ------------------------------------------------------------------------------------


def test_a_range_without_data_says_so_and_draws_nothing(tmp_path: Path) -> None:
    engine = CannedEngine({})
    report = build_report(engine, DAYS, clients=["anyone"])
    assert not report.has_data
    # Only the first round ran: nothing to select from, nothing to draw.
    assert [name for name, _ in engine.asked] == [
        q.SUMMARY,
        q.OAUTH_CLIENTS,
        q.TEMPLATE_URIS,
        q.USAGE_DATA,
    ]
    page = render(report, command="c", root=fake_libraries(tmp_path))
    assert 'id="no-data"' in page
    assert "No API usage landed from 2026-11-15 to 2026-11-21 (UTC)" in page
    assert 'class="chart"' not in page


def test_the_cli_on_an_empty_bucket_copy_writes_the_no_data_page(tmp_path: Path) -> None:
    (tmp_path / "bucket" / "usage").mkdir(parents=True)
    out = io.StringIO()
    code = main(
        ["--local", str(tmp_path / "bucket"), "--out", str(tmp_path / "out")],
        today=TODAY,
        out=out,
    )
    assert code == 0
    assert "no API usage landed from 2026-11-15 to 2026-11-21 (UTC)" in out.getvalue()
    assert 'id="no-data"' in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == ["api-usage-data.csv", "index.html"]


def test_the_cli_refuses_a_folder_that_is_not_a_bucket_copy(tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(["--local", str(tmp_path), "--out", str(tmp_path / "out")], today=TODAY, err=err)
    assert code == 2
    assert f"--local {tmp_path}" in err.getvalue()
    assert not (tmp_path / "out").exists()


# --- the selection reaches the queries as parameters --------------------------------------------


def _answers() -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    counts = ["requests", *q.STATUS_COLUMNS]
    return {
        q.SUMMARY: (
            [
                "period",
                "row_count",
                *counts,
                "oauth_clients",
                "template_uris",
                "last_day",
                "last_landed_at",
            ],
            [("current", 2, 30, 25, 0, 0, 5, 0, 2, 1, "2026-11-21", "2026-11-22T03:00:00Z")],
        ),
        q.OAUTH_CLIENTS: (
            ["period", "oauth_client_id", "oauth_client_name", *counts],
            [
                ("current", "id-a", "O'Brien's = tool", 20, 15, 0, 0, 5, 0),
                ("current", "id-b", "Other", 10, 10, 0, 0, 0, 0),
            ],
        ),
        q.TEMPLATE_URIS: (
            ["period", "template_uri", *counts],
            [("current", "api/v2/users", 30, 25, 0, 0, 5, 0)],
        ),
    }


def test_chosen_clients_and_urls_are_query_parameters_not_sql() -> None:
    engine = CannedEngine(_answers())
    report = build_report(engine, DAYS, clients=["O'Brien's = tool"], urls=["api/v2/users"])
    asked = dict(engine.asked)
    assert asked[q.CLIENT_DAILY]["oauth_client_ids"] == ["id-a"]
    assert asked[q.URI_DAILY]["template_uris"] == ["api/v2/users"]
    assert asked[q.CLIENT_DAILY]["start"] == "2026-11-15"
    assert asked[q.CLIENT_DAILY]["end"] == "2026-11-21"
    assert [series.label for series in report.client_series] == ["O'Brien's = tool"]
    # Every day of the range is drawn, 0 where the client made no request.
    assert len(report.client_series[0].days) == 7
    assert report.previous_totals is None
    assert report.changed_clients == []


def test_binding_puts_one_placeholder_per_value_and_keeps_the_text_out() -> None:
    query = q.QUERIES_BY_NAME[q.CLIENT_DAILY]
    bound = query.bind('"d"."t"', {"start": "s", "end": "e", "oauth_client_ids": ["x'y", "z"]})
    assert bound.parameters == ("s", "e", "x'y", "z")
    assert bound.sql.count("?") == 4
    assert "x'y" not in bound.sql
    with pytest.raises(KeyError, match="oauth_client_ids"):
        query.bind('"d"."t"', {"start": "s", "end": "e"})


def test_default_selection_is_the_top_clients() -> None:
    engine = CannedEngine(_answers())
    report = build_report(engine, DAYS)
    assert [c.label for c in report.client_series] == ["O'Brien's = tool", "Other"]
    assert isinstance(report.client_uris[0].client, OAuthClient)


# --- interval -----------------------------------------------------------------------------------


def test_the_default_range_is_the_last_seven_complete_utc_days() -> None:
    assert range_of(None, TODAY) == DateRange(date(2026, 11, 15), date(2026, 11, 21))


@pytest.mark.parametrize(
    ("interval", "first", "last"),
    [
        ("2026-11-05", date(2026, 11, 5), date(2026, 11, 5)),
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2026-11-01/2026-11-08", date(2026, 11, 1), date(2026, 11, 7)),
        ("2026-09/2026-11", date(2026, 9, 1), date(2026, 10, 31)),
        ("2026-11-01T00:00:00Z/2026-11-03T01:00:00+01:00", date(2026, 11, 1), date(2026, 11, 2)),
        # The table can hold more than the API's 365 days.
        ("2024-01-01/2024-03-01", date(2024, 1, 1), date(2024, 2, 29)),
    ],
)
def test_intervals_take_the_execution_inputs_forms(interval: str, first: date, last: date) -> None:
    assert range_of(interval, TODAY) == DateRange(first, last)


@pytest.mark.parametrize(
    "interval",
    ["2026-13", "yesterday", "2026-11-08/2026-11-01", "2026-11-01T06:00:00Z/2026-11-02T00:00:00Z"],
)
def test_a_malformed_interval_is_refused_naming_the_option(interval: str) -> None:
    with pytest.raises(ReportError, match=re.escape(f"--interval {interval!r}")):
        range_of(interval, TODAY)


def test_an_interval_reaching_today_is_refused_with_the_last_complete_day() -> None:
    with pytest.raises(ReportError, match="2026-11-21"):
        range_of("2026-11-20/2026-11-23", TODAY)


# --- what changed -------------------------------------------------------------------------------


def test_what_changed_lists_the_biggest_movers_new_and_gone_ones_included() -> None:
    from usage_report.model import CHANGES_PER_MEASURE, Counts, Usage, changes

    def usage(key: str, now: int, before: int, now429: int = 0, before429: int = 0) -> Usage:
        return Usage(
            key,
            key,
            Counts(requests=now, status429=now429, status200=now - now429),
            Counts(requests=before, status429=before429, status200=before - before429),
        )

    found = [
        usage("steady", 100, 100),
        usage("new", 50, 0),
        usage("gone", 0, 40),
        usage("throttled", 10, 10, now429=9, before429=0),
        *(usage(f"small-{i}", 10 + i, 10) for i in range(1, 8)),
    ]
    listed = {change.key: change for change in changes(found)}
    assert "steady" not in listed
    assert listed["new"].status == "new"
    assert listed["gone"].status == "gone"
    # Unchanged requests, but its 429s moved most: listed for that.
    assert listed["throttled"].status429_change == 9
    assert len(listed) <= 2 * CHANGES_PER_MEASURE
    assert list(listed)[:2] == ["new", "gone"]
