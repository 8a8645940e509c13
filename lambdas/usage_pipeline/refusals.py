"""How the execution input is refused: ``InvalidInput`` naming the field, the value (clipped to
what a Step Functions cause can hold) and what is allowed."""

from __future__ import annotations

from typing import Final

from usage_pipeline.errors import InvalidInput

# Error messages end up in a Step Functions cause (at most 32 KiB); huge values are shown clipped.
MAX_SHOWN_LENGTH: Final = 300
_JSON_TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def refuse(field: str, value: object, allowed: str) -> InvalidInput:
    """Build the error; values too long for a Step Functions cause are shown clipped."""
    return InvalidInput(_clip(field), _shown(value), allowed)


def _shown(value: object) -> object:
    if isinstance(value, str):
        if len(value) <= MAX_SHOWN_LENGTH:
            return value
        return f"{value[:MAX_SHOWN_LENGTH]}... ({len(value)} characters)"
    text = repr(value)
    if len(text) <= MAX_SHOWN_LENGTH:
        return value
    return f"{text[:MAX_SHOWN_LENGTH]}... ({len(text)} characters)"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_LENGTH else f"{text[:MAX_SHOWN_LENGTH]}..."


def json_type_name(value: object) -> str:
    """The JSON name of a value's type, as the operator wrote it in the execution input."""
    # bool is checked before int: True is an int in Python but a boolean in JSON.
    for python_type, json_name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return json_name
    return type(value).__name__


def wrong_type(field: str, value: object, expected: str, allowed: str) -> InvalidInput:
    return refuse(field, value, f"expected {expected}, got {json_type_name(value)}; {allowed}")
