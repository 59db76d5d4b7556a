"""Comparisons over a lead snapshot: the leaves of scoring rules and (later) routing rules.

Pure functions over plain dicts; no ORM. Text comparisons ignore case. A list field
(intent_signals, pages) matches when any of its items does.
"""

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

TEXT_OPERATORS = {"eq", "neq", "in", "not_in", "contains", "starts_with", "regex"}
NUMBER_OPERATORS = {"gt", "gte", "lt", "lte", "between"}
PRESENCE_OPERATORS = {"is_set", "is_empty"}
OPERATORS = TEXT_OPERATORS | NUMBER_OPERATORS | PRESENCE_OPERATORS


class ConditionError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def lead_value(snapshot: Mapping[str, Any], field: str) -> Any:
    """The value of ``field`` in a lead snapshot; ``custom.a.b`` reaches into custom JSON."""
    if field.startswith("custom."):
        value: Any = snapshot.get("custom") or {}
        for part in field.split(".")[1:]:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value
    return snapshot.get(field)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _split(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def check_comparison(
    field: str, operator: str, value: str, known_fields: frozenset[str] | None = None
) -> None:
    """Raise ConditionError naming the bad part of a comparison; return None when it is sound."""
    from leadhub.leads.intake import CONDITION_FIELDS

    known = known_fields if known_fields is not None else CONDITION_FIELDS
    if not field.startswith("custom.") and field not in known:
        raise ConditionError("field", f"Unknown field {field!r}.")
    if field.startswith("custom.") and not field.removeprefix("custom."):
        raise ConditionError("field", "Name the custom key, e.g. custom.plan.")
    if operator not in OPERATORS:
        raise ConditionError("operator", f"Unknown operator {operator!r}.")
    if operator in {"gt", "gte", "lt", "lte"} and _number(value) is None:
        raise ConditionError("value", f"{operator} needs a number, not {value!r}.")
    if operator == "between":
        bounds = [_number(v) for v in value.split(",")]
        if len(bounds) != 2 or None in bounds:
            raise ConditionError("value", "between needs two numbers: low,high.")
    if operator == "regex":
        try:
            _regex(value)
        except re.error as exc:
            raise ConditionError("value", f"Not a valid regular expression: {exc}.") from None
    if operator in TEXT_OPERATORS and operator != "regex" and value.strip() == "":
        raise ConditionError("value", f"{operator} needs a value.")


def _text_match(actual: Any, operator: str, expected: str) -> bool:
    text = str(actual).lower()
    if operator == "eq":
        return text == expected.strip().lower()
    if operator == "in":
        return text in _split(expected)
    if operator == "contains":
        return expected.strip().lower() in text
    if operator == "starts_with":
        return text.startswith(expected.strip().lower())
    if operator == "regex":
        return _regex(expected).search(str(actual)) is not None
    raise ConditionError("operator", f"Unknown operator {operator!r}.")


def compare(actual: Any, operator: str, expected: str) -> bool:
    """Does ``actual`` satisfy ``operator expected``? Missing values match nothing but is_empty."""
    empty = actual is None or actual == "" or actual == [] or actual == {}
    if operator == "is_set":
        return not empty
    if operator == "is_empty":
        return empty
    if operator in ("neq", "not_in"):
        return not compare(actual, "eq" if operator == "neq" else "in", expected)
    if empty:
        return False
    if operator in NUMBER_OPERATORS:
        number = _number(actual)
        if number is None:
            return False
        if operator == "between":
            low, high = (_number(v) for v in expected.split(","))
            return low <= number <= high
        bound = _number(expected)
        return {
            "gt": number > bound,
            "gte": number >= bound,
            "lt": number < bound,
            "lte": number <= bound,
        }[operator]
    items = actual if isinstance(actual, list | tuple) else [actual]
    if operator == "eq" and not isinstance(actual, list | tuple):
        a, e = _number(actual), _number(expected)
        if a is not None and e is not None:
            return a == e
    return any(_text_match(item, operator, expected) for item in items)
