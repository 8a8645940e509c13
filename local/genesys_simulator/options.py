"""The simulator's settings: names, allowed values, defaults and help, in one place.

`SimulatorSettings` is the table. Each field whose metadata comes from `_option(...)` is an
option, and every surface reads the same entry:
- Python: `SimulatorServer(week_start="sunday")`, `.configure(week_start="sunday")`;
- HTTP: `POST /_sim/config {"weekStart": "sunday"}`;
- the command line: `python -m local.genesys_simulator --week-start sunday`;
- `KEY=VALUE` text: `parse_settings(["week-start=sunday"])` -> `{"week_start": "sunday"}`, which
  `python -m local.run --sim week-start=sunday` (repeatable) passes to `SimulatorServer`.

Several options choose a reading of something Genesys does not document (../shared/genesys-api.md,
"Not documented"); their defaults are the readings the pipeline was first built on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from local.genesys_simulator import wire

DEFAULT_CLIENT_ID: Final = "local-client"
DEFAULT_CLIENT_SECRET: Final = "local-secret"  # noqa: S105 - the simulator's documented local default

WEEK_STARTS: Final = ("monday", "sunday")
LEGACY_ENDS: Final = ("exclusive", "inclusive")
ORGANIZATION_SIZES: Final = ("default", "large")


class SettingError(ValueError):
    """A setting the simulator does not know, or a value it does not allow; says which and why."""


@dataclass(frozen=True)
class Option:
    """How one setting is written and checked: the entry of the table a field carries."""

    name: str  # the Python keyword; `key` is how text (CLI, KEY=VALUE) spells it
    default: Any
    help: str
    kind: type  # str (one of `choices`), int, float or date
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    nullable: bool = False  # None is allowed (today: None = the real UTC day)

    @property
    def key(self) -> str:
        return self.name.replace("_", "-")

    def allowed(self) -> str:
        """What the option accepts, in words, for help texts and error messages."""
        if self.choices:
            return " | ".join(self.choices)
        if self.kind is date:
            return "a date YYYY-MM-DD"
        noun = "a whole number" if self.kind is int else "a number"
        return f"{noun} >= {self.minimum:g}" if self.minimum is not None else noun

    def parse_text(self, text: str) -> Any:
        """The value `text` (after `KEY=`, or a CLI flag's) stands for; SettingError if none."""
        converters: dict[type, Callable[[str], Any]] = {
            int: int,
            float: float,
            date: date.fromisoformat,
            str: str,
        }
        try:
            value = converters[self.kind](text.strip())
        except ValueError:
            raise self.refuse(text) from None
        return self.check(value)

    def check(self, value: object) -> Any:
        """`value` (from Python or JSON) if this option allows it, else SettingError."""
        if value is None and self.nullable:
            return None
        if self.kind is date and isinstance(value, str):
            return self.parse_text(value)  # JSON carries dates as text
        if isinstance(value, bool) or not _is_kind(value, self.kind):
            raise self.refuse(value)
        if self.choices and value not in self.choices:
            raise self.refuse(value)
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise self.refuse(value)
        return float(value) if self.kind is float else value  # type: ignore[arg-type]

    def refuse(self, value: object) -> SettingError:
        return SettingError(f"{self.key}: {value!r} is not allowed; allowed: {self.allowed()}")


def _is_kind(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _option(
    help_text: str,
    *,
    kind: type | None = None,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
) -> dict[str, Any]:
    """The metadata that makes a settings field an option (kind: the default's type if not given).

    `OPTIONS` completes each with the field's name and default.
    """
    return {"option": {"help": help_text, "kind": kind, "choices": choices, "minimum": minimum}}


@dataclass(frozen=True)
class SimulatorSettings:
    """Everything `configure` (and `POST /_sim/config`) may change while the simulator runs."""

    # The OAuth client the login host accepts: identity, not behaviour, so not an option.
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET

    polls_until_done: int = field(
        default=2,
        metadata=_option("status polls a job answers Queued/Running before it is done", minimum=0),
    )
    page_size: int = field(
        default=wire.DEFAULT_LEGACY_PAGE_SIZE,
        metadata=_option(
            "rows per page of the legacy API (the aggregates API takes pageSize per request)",
            minimum=1,
        ),
    )
    rate_limit_per_minute: int = field(
        default=wire.DEFAULT_RATE_LIMIT_PER_MINUTE,
        metadata=_option("requests a token may send per rolling window before 429", minimum=1),
    )
    # Genesys counts a minute; tests shorten the window so a binding limit costs seconds.
    rate_limit_window_seconds: int = field(
        default=wire.RATE_LIMIT_WINDOW_SECONDS,
        metadata=_option("the rate limit's window in seconds", minimum=1),
    )
    token_expires_in: int = field(
        default=wire.DEFAULT_TOKEN_EXPIRES_IN,
        metadata=_option("a token's lifetime in seconds", minimum=1),
    )
    today: date | None = field(
        default=None,
        metadata=_option("the day taken for the current UTC day (none: the real one)", kind=date),
    )
    week_start: str = field(
        default="monday",
        metadata=_option(
            "the day a Week period starts on; Week rows are dated on it (undocumented)",
            choices=WEEK_STARTS,
        ),
    )
    legacy_end: str = field(
        default="exclusive",
        metadata=_option(
            "whether the legacy API's interval includes its end instant (undocumented)",
            choices=LEGACY_ENDS,
        ),
    )
    org: str = field(
        default="default",
        metadata=_option(
            "the organization: default (42 clients) or large (thousands of clients and URIs)",
            choices=ORGANIZATION_SIZES,
        ),
    )
    latency: float = field(
        default=0.0,
        metadata=_option("seconds every request to Genesys takes before its answer", minimum=0),
    )
    late_days: int = field(
        default=0,
        metadata=_option(
            "days after a day ends until its numbers are final; younger days answer a "
            "growing share of them (undocumented)",
            minimum=0,
        ),
    )
    # A month with a trend, to test a projection against: day d of every month answers
    # 1 + growth/100 x (d - 1) times its counts. Off by default: the data stays as it is.
    growth: float = field(
        default=0.0,
        metadata=_option(
            "percent of the 1st's traffic each day of a month adds (a trend through every month)",
            minimum=0,
        ),
    )

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise SettingError(f"{name}: {value!r} is not allowed; allowed: a non-empty text")
        for option in OPTIONS:
            # frozen: the checked value (e.g. 1 -> 1.0, "2026-11-22" -> a date) goes in this way.
            object.__setattr__(self, option.name, option.check(getattr(self, option.name)))

    def updated(self, changes: Mapping[str, Any]) -> SimulatorSettings:
        """A copy with `changes` (Python names) applied; SettingError names an unknown one."""
        known = {each.name for each in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingError(
                f"unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """The settings as JSON values (dates as text), Python names."""
        described = dataclasses.asdict(self)
        if self.today is not None:
            described["today"] = self.today.isoformat()
        return described


OPTIONS: Final = tuple(
    Option(
        name=each.name,
        default=each.default,
        help=each.metadata["option"]["help"],
        kind=each.metadata["option"]["kind"] or type(each.default),
        choices=each.metadata["option"]["choices"],
        minimum=each.metadata["option"]["minimum"],
        nullable=each.default is None,
    )
    for each in dataclasses.fields(SimulatorSettings)
    if "option" in each.metadata
)
_BY_NAME: Final = {option.name: option for option in OPTIONS}


def option_named(key: str) -> Option:
    """The option a text key names (`week-start`; `week_start` too); SettingError if none."""
    option = _BY_NAME.get(key.strip().replace("-", "_"))
    if option is None:
        allowed = ", ".join(option.key for option in OPTIONS)
        raise SettingError(f"unknown simulator option {key!r}; allowed: {allowed}")
    return option


def parse_setting(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` -> (Python name, value), e.g. "legacy-end=inclusive" -> ("legacy_end", ...)."""
    key, separator, value = text.partition("=")
    if not separator:
        raise SettingError(f"{text!r} is not KEY=VALUE (e.g. week-start=sunday)")
    option = option_named(key)
    return option.name, option.parse_text(value)


def parse_settings(texts: Iterable[str]) -> dict[str, Any]:
    """Several `KEY=VALUE` texts as `SimulatorServer` keyword arguments; a later KEY wins."""
    return dict(parse_setting(text) for text in texts)


def options_help() -> str:
    """One line per option, for a `--help` that lists what KEY=VALUE accepts."""
    return "\n".join(
        f"{option.key}={option.allowed()} (default {_shown(option.default)}): {option.help}"
        for option in OPTIONS
    )


def _shown(value: object) -> str:
    return "the real UTC day" if value is None else f"{value}"
