"""`--clients` and `--urls`: what the user typed, matched against what made requests in the range.

An unknown name is refused by name with the closest matches (difflib), so a typo is one re-run
away; a name two clients share is refused with their ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from usage_report.errors import ReportError
from usage_report.model import DateRange, OAuthClient

MAX_SELECTED = 10
CLOSE_MATCHES = 3


def shown(text: str) -> str:
    """Untrusted text in a terminal message: quoted, control characters escaped."""
    return repr(text)


def _unique(requested: Sequence[str], option: str) -> list[str]:
    if len(requested) > MAX_SELECTED:
        raise ReportError(
            f"{option}: {len(requested)} given; at most {MAX_SELECTED} fit in one graph"
        )
    return list(dict.fromkeys(requested))


def _closest(text: str, candidates: Sequence[str]) -> str:
    matches = difflib.get_close_matches(text, candidates, n=CLOSE_MATCHES, cutoff=0.5)
    if not matches:
        lowered = {candidate.lower(): candidate for candidate in candidates}
        matches = [
            lowered[m]
            for m in difflib.get_close_matches(text.lower(), list(lowered), n=CLOSE_MATCHES)
        ]
    if not matches:
        return "no close match"
    return "closest: " + ", ".join(shown(match) for match in matches)


def resolve_clients(
    requested: Sequence[str], known: Mapping[str, OAuthClient], days: DateRange
) -> list[OAuthClient]:
    """Each entry is an OAuth client id or name of a client with requests in `days`."""
    by_name: dict[str, list[OAuthClient]] = {}
    for client in known.values():
        if client.name:
            by_name.setdefault(client.name, []).append(client)
    chosen: list[OAuthClient] = []
    for entry in _unique(requested, "--clients"):
        if entry in known:
            chosen.append(known[entry])
            continue
        named = by_name.get(entry, [])
        if len(named) == 1:
            chosen.append(named[0])
            continue
        if len(named) > 1:
            ids = ", ".join(client.id for client in named)
            raise ReportError(
                f"--clients {shown(entry)}: {len(named)} OAuth clients have this name; "
                f"give one of their ids: {ids}"
            )
        candidates = sorted(by_name) + sorted(known)
        raise ReportError(
            f"--clients {shown(entry)}: no OAuth client with this name or id made requests "
            f"from {days} (UTC); {_closest(entry, candidates)}"
        )
    return list({client.id: client for client in chosen}.values())


def resolve_uris(requested: Sequence[str], known: Sequence[str], days: DateRange) -> list[str]:
    """Each entry is a template URI requested in `days`, as Genesys writes it."""
    known_set = set(known)
    chosen = []
    for entry in _unique(requested, "--urls"):
        if entry not in known_set:
            raise ReportError(
                f"--urls {shown(entry)}: no requests to this template URI from {days} (UTC); "
                f"{_closest(entry, sorted(known))}"
            )
        chosen.append(entry)
    return chosen
