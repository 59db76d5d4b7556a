"""Rule conditions: parsed and checked once, evaluated per lead.

A condition is a JSON-like tree as the admin and the playbook store it::

    {"all": [c, ...]}   every child matches (an empty list matches)
    {"any": [c, ...]}   at least one child matches (an empty list matches nothing)
    {"not": c}
    {"field": "country", "op": "in", "value": ["DE", "FR"]}
    {}                  matches every lead

The leaves are the comparisons of ``leadhub.leads.conditions`` (``compare`` does the work,
``check_comparison`` the validation), over any lead field, ``custom.*`` and these derived
facts:

- ``territory`` (name) and ``territory_id``: the most specific territory (territories.py);
- ``account_matched`` (bool) and ``account_owner`` (the owner's rep id, or None);
- ``score_band``: the lead's band; ``partial`` (bool): an abandoned form;
- ``business_hours_now`` (bool): now is inside the world's business hours (none set: always).

A value may be a list for ``in``/``not_in`` and a pair for ``between``; booleans compare as
"true"/"false". ``parse_condition`` raises ``RuleError`` naming the path of the bad node,
e.g. ``rules[3].condition.all[1]: Unknown operator 'like'.``
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from leadhub.leads.conditions import ConditionError, check_comparison, compare, lead_value
from leadhub.leads.intake import CONDITION_FIELDS
from reps.availability import in_working_hours
from routing.engine.inputs import World
from routing.engine.territories import TerritoryIndex

DERIVED_FACTS = frozenset(
    {
        "territory",
        "territory_id",
        "account_matched",
        "account_owner",
        "score_band",
        "business_hours_now",
        "partial",
    }
)
KNOWN_FIELDS = CONDITION_FIELDS | DERIVED_FACTS | {"account_id"}

OP_WORDS = {
    "eq": "=",
    "neq": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "between",
    "contains": "contains",
    "starts_with": "starts with",
    "regex": "matches",
    "is_empty": "is empty",
    "is_set": "is set",
}


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class RuleError(ValueError):
    """A rule that cannot be compiled; ``path`` names the bad node."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class Facts:
    """The values conditions read for one lead, computed at most once per decision."""

    __slots__ = ("_index", "_values", "lead", "memo", "now", "world")

    def __init__(
        self, lead: Mapping[str, Any], world: World, now: datetime, index: TerritoryIndex, size: int
    ) -> None:
        self.lead = lead
        self.world = world
        self.now = now
        self._index = index
        self._values: dict[str, Any] = {}
        # Results of the rule set's distinct comparisons, by their number.
        self.memo: list[bool | None] = [None] * size

    def get(self, field: str) -> Any:
        try:
            return self._values[field]
        except KeyError:
            pass
        derive = _DERIVED.get(field)
        value = derive(self) if derive else lead_value(self.lead, field)
        self._values[field] = value
        return value

    def territory(self) -> Any:
        if "_territory" not in self._values:
            self._values["_territory"] = self._index.match(self.lead)
        return self._values["_territory"]


def _business_hours_now(facts: Facts) -> bool:
    world = facts.world
    if not world.business_hours:
        return True
    local = facts.now.astimezone(zone(world.business_timezone))
    return in_working_hours(world.business_hours, local)


def _territory_name(facts: Facts) -> str | None:
    t = facts.territory()
    return t.name if t else None


def _territory_id(facts: Facts) -> int | None:
    t = facts.territory()
    return t.id if t else None


_DERIVED: dict[str, Callable[[Facts], Any]] = {
    "territory": _territory_name,
    "territory_id": _territory_id,
    "account_matched": lambda f: bool(f.lead.get("account_id")),
    "account_owner": lambda f: f.lead.get("account_owner_id"),
    "score_band": lambda f: f.lead.get("score_band") or "",
    "business_hours_now": _business_hours_now,
    "partial": lambda f: bool(f.lead.get("is_partial")),
}


class Node:
    __slots__ = ()

    def matches(self, facts: Facts) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Always(Node):
    __slots__ = ()

    def matches(self, facts: Facts) -> bool:
        return True

    def describe(self) -> str:
        return "every lead"


# Per comparison, how many distinct lead values' results are kept (see Comparison).
RESULT_CACHE_SIZE = 256
_CACHEABLE = (str, int, float, bool, type(None))


class Comparison(Node):
    """One comparison, done by ``leadhub.leads.conditions.compare``.

    ``compare`` is pure, so results are kept per lead value (and its type: 1 and True
    compare differently): a rule set's comparisons see the same countries, bands and plans
    over and over, and a decision then costs a dictionary look-up per comparison instead
    of re-parsing the expected value. Up to ``RESULT_CACHE_SIZE`` values per comparison;
    values beyond that (or lists and dicts) are simply compared each time.
    """

    __slots__ = ("field", "index", "op", "results", "value")

    def __init__(self, field: str, op: str, value: str, index: int) -> None:
        self.field, self.op, self.value, self.index = field, op, value, index
        self.results: dict[tuple[type, Any], bool] = {}

    def matches(self, facts: Facts) -> bool:
        result = facts.memo[self.index]
        if result is None:
            actual = facts.get(self.field)
            if isinstance(actual, _CACHEABLE):
                key = (type(actual), actual)
                result = self.results.get(key)
                if result is None:
                    result = compare(actual, self.op, self.value)
                    if len(self.results) < RESULT_CACHE_SIZE:
                        self.results[key] = result
            else:
                result = compare(actual, self.op, self.value)
            facts.memo[self.index] = result
        return result

    def describe(self) -> str:
        words = OP_WORDS[self.op]
        if self.op in ("is_empty", "is_set"):
            return f"{self.field} {words}"
        if self.op == "between":
            low, high = self.value.split(",")
            return f"{self.field} between {low.strip()} and {high.strip()}"
        if self.op in ("in", "not_in"):
            items = ", ".join(v.strip() for v in self.value.split(","))
            return f"{self.field} {words} {items}"
        if self.op == "regex":
            return f"{self.field} {words} /{self.value}/"
        return f"{self.field} {words} {self.value}"


class All(Node):
    __slots__ = ("children",)

    def __init__(self, children: tuple[Node, ...]) -> None:
        self.children = children

    def matches(self, facts: Facts) -> bool:
        # A plain loop, not all(<generator>): this runs for every rule of every decision.
        for child in self.children:  # noqa: SIM110
            if not child.matches(facts):
                return False
        return True

    def describe(self) -> str:
        return " and ".join(_group(c) for c in self.children) or "every lead"


class Any_(Node):
    __slots__ = ("children",)

    def __init__(self, children: tuple[Node, ...]) -> None:
        self.children = children

    def matches(self, facts: Facts) -> bool:
        for child in self.children:  # noqa: SIM110 (hot path, as in All)
            if child.matches(facts):
                return True
        return False

    def describe(self) -> str:
        return " or ".join(_group(c) for c in self.children) or "no lead"


class Not(Node):
    __slots__ = ("child",)

    def __init__(self, child: Node) -> None:
        self.child = child

    def matches(self, facts: Facts) -> bool:
        return not self.child.matches(facts)

    def describe(self) -> str:
        return f"not {_group(self.child)}"


def _group(node: Node) -> str:
    text = node.describe()
    return f"({text})" if isinstance(node, All | Any_) and len(node.children) > 1 else text


def _value_text(op: str, value: Any, path: str) -> str:
    if isinstance(value, list | tuple):
        if op == "between":
            if len(value) != 2:
                raise RuleError(path, "between needs two numbers: [low, high].")
        elif op not in ("in", "not_in"):
            raise RuleError(path, f"{op} takes one value, not a list.")
        items = [_value_text("eq", v, path) for v in value]
        if any("," in item for item in items):
            raise RuleError(path, "List items cannot contain commas.")
        return ",".join(items)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    raise RuleError(path, f"Unsupported value {value!r}.")


class Interner:
    """Numbers each distinct comparison of a rule set, so a lead evaluates it once even when
    many rules share it (country lists, score bands)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, str], Comparison] = {}

    def comparison(self, field: str, op: str, value: str) -> Comparison:
        key = (field, op, value)
        if key not in self.seen:
            self.seen[key] = Comparison(field, op, value, len(self.seen))
        return self.seen[key]


def parse_condition(data: Any, path: str, interner: Interner | None = None) -> Node:
    """Check a condition tree and compile it; raise ``RuleError`` naming the bad node."""
    interner = interner or Interner()
    if not isinstance(data, Mapping):
        raise RuleError(path, "A condition must be an object.")
    if not data:
        return Always()
    keys = set(data)
    for group, cls in (("all", All), ("any", Any_)):
        if group in keys:
            if keys != {group}:
                raise RuleError(path, f"'{group}' cannot be combined with other keys.")
            children = data[group]
            if not isinstance(children, list | tuple):
                raise RuleError(f"{path}.{group}", "Must be a list of conditions.")
            return cls(
                tuple(
                    parse_condition(c, f"{path}.{group}[{i}]", interner)
                    for i, c in enumerate(children)
                )
            )
    if "not" in keys:
        if keys != {"not"}:
            raise RuleError(path, "'not' cannot be combined with other keys.")
        return Not(parse_condition(data["not"], f"{path}.not", interner))
    unknown = keys - {"field", "op", "value"}
    if unknown or not {"field", "op"} <= keys:
        raise RuleError(path, "Expected all, any, not, or a comparison with field, op and value.")
    field, op = data["field"], data["op"]
    if not isinstance(field, str) or not isinstance(op, str):
        raise RuleError(path, "field and op must be text.")
    value = _value_text(op, data.get("value"), path)
    try:
        check_comparison(field, op, value, KNOWN_FIELDS)
    except ConditionError as exc:
        raise RuleError(path, exc.message) from None
    return interner.comparison(field, op, value)
