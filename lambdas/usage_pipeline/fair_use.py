"""The organization's fair use allowance of API requests a month, and the licenses it comes from.

Genesys allows every billable user a number of API requests a month, by license, and bills the
requests over the organization's sum monthly in arrears ("overage = actual requests - allowance").
``LICENSES`` below is the one source of those numbers in this project; where they come from:

- "Genesys Cloud fair use policy" (``SOURCES``): API on-demand requests per billable user and
  month, by license tier and type. Genesys publishes a Named and a Concurrent column for CX 1, CX 2,
  CX 2 Digital, CX 3 and CX 3 Digital, but only a Named column for Communicate and EX. This module
  reads the missing column as "the named figure": a ``communicate:concurrent`` or
  ``ex:concurrent`` line is accepted and counted at the named figure (marked
  ``concurrent_published=False`` so a page can say so). Every CX tier's concurrent figure is 1.3x
  its named one, so if such licenses exist the real allowance is rather higher: the reading errs on
  the side of warning early.
- The policy's rule for hourly licenses: "1/111th of the Named user allocation per hour"
  (non-digital CX tiers). ``cx1:hourly=N`` counts N billable hours in the month; the month's
  allowance is N x named / 111, rounded down to a whole request (so 1,000 CX 2 hours allow
  990,990). Communicate, EX and the Digital tiers have no hourly license and are refused with
  ``:hourly``.
- "Resource usage on your invoice": the overage arithmetic and its example (one CX 3 concurrent
  license: 182,000 allowed, 505,992 made, 323,992 billed).

Not in the table: CX 4 and the add-ons (the policy sums "the base license tier and applicable
add-ons"); give such an organization's allowance as ``{"monthlyRequests": N}``. Genesys counts "the
greater of your commit or your actual usage" of billable users: enter that number per license.

The allowance is configured in two shapes, one parser behind both:
- a mapping (cdk.json ``fairUse``, the JSON a Lambda gets in its environment):
  ``{"monthlyRequests": 505992}`` or ``{"licenses": {"cx3:named": 120, "cx1:concurrent": 30}}``;
- command-line text (the report): ``--allowance 505992`` or
  ``--licenses cx3:named=120 cx1:concurrent=30``.
Every refusal is the pipeline's ``InvalidInput`` (``refusals.refuse``): its ``field``, ``value``
and ``allowed`` name the field, the value and what is allowed (a Lambda reading a bad allowance
from its environment should report it as its ``ConfigurationError``). ``Allowance.to_json()``
writes the mapping form back, which ``Allowance.from_json`` reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final

from usage_pipeline.refusals import refuse

KEY_MONTHLY_REQUESTS: Final = "monthlyRequests"
KEY_LICENSES: Final = "licenses"
OPTION_ALLOWANCE: Final = "--allowance"
OPTION_LICENSES: Final = "--licenses"


class LicenseType(StrEnum):
    """How a license is counted: per named user, per concurrent user, per billable hour."""

    NAMED = "named"
    CONCURRENT = "concurrent"
    HOURLY = "hourly"


@dataclass(frozen=True)
class LicenseTier:
    """One license tier's API requests a month per billable user (per billable hour if hourly)."""

    key: str  # how the configuration names it: "cx3" in "cx3:named"
    label: str  # how Genesys names it
    named: int
    concurrent: int
    hourly: bool  # whether the tier is sold by the billable hour
    concurrent_published: bool = True  # False: Genesys gives a Named figure only (see above)

    def requests_per_unit(self, license_type: LicenseType) -> Fraction | None:
        """Requests a month per user (per billable hour: named / 111); None: no such license."""
        if license_type is LicenseType.HOURLY:
            return Fraction(self.named, HOURS_PER_NAMED_MONTH) if self.hourly else None
        return Fraction(self.named if license_type is LicenseType.NAMED else self.concurrent)


SOURCES: Final = (
    (
        "Genesys Cloud fair use policy",
        "https://help.mypurecloud.com/articles/genesys-cloud-fair-use-policy/",
    ),
    (
        "Resource usage on your invoice",
        "https://help.mypurecloud.com/articles/resource-usage-on-your-invoice/",
    ),
)

# API on-demand requests per billable user and month (hourly: per billable hour); SOURCES above.
# An hourly license gets "1/111th of the Named user allocation per hour" (the policy).
HOURS_PER_NAMED_MONTH: Final = 111
LICENSES: Final = (
    LicenseTier("communicate", "Communicate", 10_000, 10_000, False, concurrent_published=False),
    LicenseTier("cx1", "CX 1", 75_000, 97_500, True),
    LicenseTier("cx2", "CX 2", 110_000, 143_000, True),
    LicenseTier("cx2-digital", "CX 2 Digital", 110_000, 143_000, False),
    LicenseTier("cx3", "CX 3", 140_000, 182_000, True),
    LicenseTier("cx3-digital", "CX 3 Digital", 140_000, 182_000, False),
    LicenseTier("ex", "EX", 75_000, 75_000, False, concurrent_published=False),
)
_TIERS: Final = {tier.key: tier for tier in LICENSES}
LICENSE_KEYS: Final = tuple(
    f"{tier.key}:{license_type}"
    for tier in LICENSES
    for license_type in LicenseType
    if tier.requests_per_unit(license_type) is not None
)


@dataclass(frozen=True)
class LicenseLine:
    """``count`` licenses of one tier and type, and the requests they allow a month."""

    tier: LicenseTier
    license_type: LicenseType
    count: int  # billable users; billable hours in the month for hourly licenses

    @property
    def key(self) -> str:
        return f"{self.tier.key}:{self.license_type}"

    @property
    def requests_per_unit(self) -> Fraction:
        per_unit = self.tier.requests_per_unit(self.license_type)
        assert per_unit is not None  # refused when the line was parsed
        return per_unit

    @property
    def monthly_requests(self) -> int:
        return math.floor(self.count * self.requests_per_unit)

    @property
    def figure_published(self) -> bool:
        """False where the per-unit figure is this module's reading, not Genesys's number."""
        return self.license_type is not LicenseType.CONCURRENT or self.tier.concurrent_published

    def describe(self) -> str:
        """E.g. "120 x CX 3 named (140,000 each) = 16,800,000"."""
        if self.license_type is LicenseType.HOURLY:
            unit = f"{self.tier.named:,} / {HOURS_PER_NAMED_MONTH} an hour"
        else:
            unit = f"{int(self.requests_per_unit):,} each"
        return (
            f"{self.count:,} x {self.tier.label} {self.license_type} "
            f"({unit}) = {self.monthly_requests:,}"
        )


@dataclass(frozen=True)
class Allowance:
    """API requests the organization may make in a calendar month before it pays for more.

    ``licenses`` is empty when the allowance was given as a number (``monthlyRequests``).
    """

    monthly_requests: int
    licenses: tuple[LicenseLine, ...] = ()

    def __post_init__(self) -> None:
        # The parsers refuse less with a message; this guards values built in code.
        if self.monthly_requests < 1:
            raise ValueError(f"an allowance of {self.monthly_requests} requests allows nothing")

    def overage(self, requests: int) -> int:
        """The requests Genesys would bill: those over the allowance, never below 0."""
        return max(0, requests - self.monthly_requests)

    def percent_of(self, requests: int) -> float:
        """``requests`` as a percentage of the allowance (100 = all of it)."""
        return 100.0 * requests / self.monthly_requests

    def describe(self) -> str:
        """One line saying how the allowance is made up."""
        if not self.licenses:
            return f"{self.monthly_requests:,} requests a month (configured as a number)"
        lines = " + ".join(line.describe() for line in self.licenses)
        if len(self.licenses) == 1:
            return lines
        return f"{lines}; {self.monthly_requests:,} in all"

    def to_mapping(self) -> dict[str, Any]:
        """The configuration's own shape, which ``from_mapping`` reads back."""
        if not self.licenses:
            return {KEY_MONTHLY_REQUESTS: self.monthly_requests}
        return {KEY_LICENSES: {line.key: line.count for line in self.licenses}}

    def to_json(self) -> str:
        """Compact JSON of ``to_mapping`` (for a Lambda environment variable)."""
        return json.dumps(self.to_mapping(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Allowance:
        try:
            value = json.loads(text)
        except ValueError:
            raise refuse("allowance", text, f"expected JSON such as {_EXAMPLE_JSON}") from None
        return cls.from_mapping(value)

    @classmethod
    def from_mapping(cls, value: object) -> Allowance:
        """``{"monthlyRequests": N}`` or ``{"licenses": {"cx3:named": 120, ...}}``."""
        if not isinstance(value, Mapping):
            raise refuse("allowance", value, f"expected an object such as {_EXAMPLE_JSON}")
        unknown = sorted(
            str(key) for key in value if key not in (KEY_MONTHLY_REQUESTS, KEY_LICENSES)
        )
        if unknown:
            raise refuse(
                unknown[0],
                value[unknown[0]],
                f"allowed keys: {KEY_MONTHLY_REQUESTS}, {KEY_LICENSES}",
            )
        if KEY_MONTHLY_REQUESTS in value and KEY_LICENSES in value:
            raise refuse(
                "allowance", dict(value), f"give {KEY_MONTHLY_REQUESTS} or {KEY_LICENSES}, not both"
            )
        if KEY_MONTHLY_REQUESTS in value:
            requests = _whole_number(value[KEY_MONTHLY_REQUESTS])
            if requests is None or requests < 1:
                raise refuse(
                    KEY_MONTHLY_REQUESTS,
                    value[KEY_MONTHLY_REQUESTS],
                    "expected a whole number of requests a month, at least 1",
                )
            return cls(monthly_requests=requests)
        if KEY_LICENSES not in value:
            raise refuse(
                "allowance", dict(value), f"expected {KEY_MONTHLY_REQUESTS} or {KEY_LICENSES}"
            )
        licenses = value[KEY_LICENSES]
        if not isinstance(licenses, Mapping) or not licenses:
            raise refuse(
                KEY_LICENSES,
                licenses,
                f"expected an object of license counts, e.g. {_EXAMPLE_LICENSES}",
            )
        counts: list[tuple[str, str, object]] = [
            (f"{KEY_LICENSES}.{key}", str(key), count) for key, count in licenses.items()
        ]
        return cls._from_counts(counts, KEY_LICENSES)

    @classmethod
    def from_command_line(
        cls, monthly_requests: str | None, licenses: Sequence[str] | None
    ) -> Allowance | None:
        """``--allowance N`` or ``--licenses KEY=COUNT ...``; None when neither is given."""
        if monthly_requests is not None and licenses is not None:
            raise refuse(
                OPTION_LICENSES,
                " ".join(licenses),
                f"give {OPTION_ALLOWANCE} or {OPTION_LICENSES}, not both",
            )
        if monthly_requests is not None:
            text = monthly_requests.strip().replace(",", "").replace("_", "")
            if not text.isdigit() or int(text) < 1:
                raise refuse(
                    OPTION_ALLOWANCE,
                    monthly_requests,
                    "expected a whole number of requests a month, at least 1",
                )
            return cls(monthly_requests=int(text))
        if licenses is None:
            return None
        if not licenses:
            raise refuse(
                OPTION_LICENSES, "", f"expected KEY=COUNT pairs such as {_EXAMPLE_COMMAND_LINE}"
            )
        counts: list[tuple[str, str, object]] = []
        for pair in licenses:
            key, separator, count = pair.partition("=")
            if not separator:
                raise refuse(
                    OPTION_LICENSES, pair, f"expected KEY=COUNT, e.g. {_EXAMPLE_COMMAND_LINE}"
                )
            text = count.strip().replace(",", "").replace("_", "")
            counts.append(
                (f"{OPTION_LICENSES} {pair}", key, int(text) if text.isdigit() else count)
            )
        return cls._from_counts(counts, OPTION_LICENSES)

    @classmethod
    def _from_counts(cls, counts: Sequence[tuple[str, str, object]], field: str) -> Allowance:
        """(field to name in a refusal, license key, count) for each line given."""
        lines: dict[str, LicenseLine] = {}
        for line_field, key, count in counts:
            line = _license_line(line_field, key, count)
            if line.key in lines:
                raise refuse(line_field, key, f"{line.key} is given more than once")
            lines[line.key] = line
        total = sum(line.monthly_requests for line in lines.values())
        if total < 1:
            shown = {line.key: line.count for line in lines.values()}
            raise refuse(field, shown, "the licenses allow no request: at least one count above 0")
        # In the table's order: the same licenses are the same value, however they were listed.
        ordered = sorted(lines.values(), key=lambda line: LICENSE_KEYS.index(line.key))
        return cls(monthly_requests=total, licenses=tuple(ordered))


_EXAMPLE_LICENSES: Final = '{"cx3:named": 120, "cx1:concurrent": 30}'
_EXAMPLE_JSON: Final = (
    f'{{"{KEY_MONTHLY_REQUESTS}": 505992}} or {{"{KEY_LICENSES}": {_EXAMPLE_LICENSES}}}'
)
_EXAMPLE_COMMAND_LINE: Final = "cx3:named=120 cx1:concurrent=30"


def _whole_number(value: object) -> int | None:
    """``value`` if it is a whole number; bool is an int in Python but not a count, and JSON's
    120.0 is a float: both give None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _license_line(field: str, key: str, count: object) -> LicenseLine:
    tier_key, separator, type_text = (part.strip() for part in key.lower().partition(":"))
    tier = _TIERS.get(tier_key)
    if tier is None:
        raise refuse(field, key, f"unknown license; allowed: {', '.join(LICENSE_KEYS)}")
    types = ", ".join(license_type.value for license_type in LicenseType)
    if not separator or type_text not in set(LicenseType):
        raise refuse(field, key, f"expected {tier.key}:TYPE with TYPE one of {types}")
    license_type = LicenseType(type_text)
    if tier.requests_per_unit(license_type) is None:
        raise refuse(
            field,
            key,
            f"Genesys publishes no {license_type} allowance for {tier.label}; "
            f"allowed: {', '.join(LICENSE_KEYS)}",
        )
    number = _whole_number(count)
    if number is None or number < 0:
        unit = (
            "billable hours in a month" if license_type is LicenseType.HOURLY else "billable users"
        )
        raise refuse(field, count, f"expected a whole number of {unit}, 0 or more")
    return LicenseLine(tier=tier, license_type=license_type, count=number)
