"""Rule lint, the pure part: what can be proved about a set-up from its plain data alone.

No ORM: the checks that read the database (``routing.lint``) load the rules, territories
and schedules and call these.

- **Reachability** (``unreachable_rules``): a rule no lead can reach, because its own
  condition can never hold, or because the enabled rules before it match every lead it
  matches (one of them alone, or several together).
- **Hours** (``uncovered_hours``): the hours of the current week when none of a pool's
  members works, as UTC ranges (the week's real dates, so daylight saving time is the
  week's own).
- **Territories** (``territory_overlaps``, ``uncovered_countries``): two territories of the
  same specificity that can both match one lead (the lower id wins, silently), and the
  countries no territory can match at all.

How a condition is proved to imply another. A condition tree is brought to disjunctive
normal form over *literals*: one comparison, or its negation (``neq`` is the negation of
``eq``, ``not_in`` of ``in``, ``is_empty`` of ``is_set``). "P implies Q" is "P and not Q
can never hold", and a conjunction of literals is shown impossible by rules that follow
``leadhub.leads.conditions.compare`` exactly:

- a literal and the negation of one it implies (``eq de`` and ``not_in de,fr``); what a
  literal implies: ``eq x`` → ``in S`` containing x (x not a number: ``eq`` compares
  numbers as numbers, ``in`` as text), ``in S`` → ``in T`` ⊇ S, ``starts_with``/``contains``
  of a longer text, numeric ranges inside one another (``gt``, ``gte``, ``lt``, ``lte``,
  ``between``), and every positive comparison → ``is_set``;
- numeric ranges with no number in common (every range of a field together);
- on a field holding one value (not the list fields ``pages`` and ``intent_signals``, nor
  ``custom.*``, which may hold lists), the values the ``eq``/``in`` literals allow, none of
  which passes every other literal of the field.

Every rule is sound (a proof is a proof), not complete: what cannot be shown is taken as
reachable, so a finding is never a false alarm. The work is bounded (``MAX_TERMS``,
``MAX_STEPS``); past the bound the answer is "not shown".
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from leadhub.leads.conditions import compare
from reps.availability import WorkInterval
from routing.engine.conditions import All, Always, Any_, Comparison, Node, Not
from routing.engine.inputs import Territory

ERROR, WARNING = "error", "warning"
SEVERITIES = (ERROR, WARNING)
# Fields that may hold a list, where "some item" matches: two literals can hold at once on
# different items, so their values are not intersected.
LIST_FIELDS = frozenset({"pages", "intent_signals"})
# Bounds on the work of one proof: conjunctions in a normal form, and conjunctions tried
# while searching for a lead that the later rule matches and no earlier one does.
MAX_TERMS = 512
MAX_STEPS = 20_000
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Gaps shorter than this are a schedule's own rounding (a shift "to midnight" ends 23:59:59).
MIN_GAP = timedelta(minutes=1)


@dataclass(frozen=True)
class Finding:
    """One lint finding: how bad (``severity``), what it is (``code``), the object it is
    about (``kind``, ``object_id``, ``subject`` in words) and a sentence for RevOps."""

    severity: str
    code: str
    kind: str
    object_id: int | None
    subject: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "kind": self.kind,
            "object_id": self.object_id,
            "subject": self.subject,
            "message": self.message,
        }

    def line(self) -> str:
        return f"{self.severity.upper():7} {self.subject}: {self.message}"


# --- Literals and normal forms --------------------------------------------------------------


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _split(value: str) -> frozenset[str]:
    return frozenset(item.strip().lower() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Range:
    """The numbers a numeric comparison allows; None is unbounded."""

    low: Decimal | None = None
    low_open: bool = False
    high: Decimal | None = None
    high_open: bool = False

    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and (self.low_open or self.high_open))

    def within(self, other: "Range") -> bool:
        if other.low is not None:
            if self.low is None or self.low < other.low:
                return False
            if self.low == other.low and other.low_open and not self.low_open:
                return False
        if other.high is not None:
            if self.high is None or self.high > other.high:
                return False
            if self.high == other.high and other.high_open and not self.high_open:
                return False
        return True

    def meet(self, other: "Range") -> "Range":
        low, low_open = self.low, self.low_open
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and other.low_open)
        ):
            low, low_open = other.low, other.low_open
        high, high_open = self.high, self.high_open
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and other.high_open)
        ):
            high, high_open = other.high, other.high_open
        return Range(low, low_open, high, high_open)


def _range(op: str, value: str) -> Range | None:
    if op == "between":
        low, high = (_number(v) for v in value.split(","))
        return Range(low, False, high, False) if low is not None and high is not None else None
    bound = _number(value)
    if bound is None:
        return None
    return {
        "gt": Range(low=bound, low_open=True),
        "gte": Range(low=bound),
        "lt": Range(high=bound, high_open=True),
        "lte": Range(high=bound),
    }[op]


# The positive form of each operator, and whether the operator is its negation.
_POSITIVE = {"neq": "eq", "not_in": "in", "is_empty": "is_set"}
NUMERIC = frozenset({"gt", "gte", "lt", "lte", "between"})


@dataclass(frozen=True)
class Literal:
    """A comparison (``positive``) or its negation. ``op`` and ``value`` are the positive
    comparison as stored, so ``compare`` can evaluate it; ``key`` is its normalized value
    (text lower-cased, a set for ``in``, a ``Range`` for numeric operators)."""

    field: str
    op: str
    value: str
    positive: bool
    key: Any

    @property
    def scalar(self) -> bool:
        return self.field not in LIST_FIELDS and not self.field.startswith("custom.")

    def negated(self) -> "Literal":
        return Literal(self.field, self.op, self.value, not self.positive, self.key)


def literal(comparison: Comparison, positive: bool = True) -> Literal:
    op, value = comparison.op, comparison.value
    if op in _POSITIVE:
        op, positive = _POSITIVE[op], not positive
    if op == "in":
        key: Any = _split(value)
    elif op in NUMERIC:
        key = _range(op, value)
    elif op == "regex":
        key = value
    else:
        key = value.strip().lower()
    return Literal(comparison.field, op, value, positive, key)


class TooBig(Exception):
    """A proof would take more than its bound: the answer is "not shown"."""


Term = frozenset[Literal]


def normal_form(node: Node, negate: bool = False) -> list[Term]:
    """The condition (or its negation) as a disjunction of conjunctions of literals, with
    the conjunctions that can never hold left out. ``TooBig`` past ``MAX_TERMS``."""
    if isinstance(node, Always):
        return [] if negate else [frozenset()]
    if isinstance(node, Comparison):
        term = frozenset({literal(node, not negate)})
        return [] if impossible(term) else [term]
    if isinstance(node, Not):
        return normal_form(node.child, not negate)
    if isinstance(node, All | Any_):
        children = [normal_form(c, negate) for c in node.children]
        conjunctive = isinstance(node, All) != negate
        if not conjunctive:
            union: list[Term] = []
            for terms in children:
                union.extend(t for t in terms if t not in union)
                if len(union) > MAX_TERMS:
                    raise TooBig
            return union
        product: list[Term] = [frozenset()]
        for terms in children:
            product = [p | t for p in product for t in terms if not impossible(p | t)]
            if len(product) > MAX_TERMS:
                raise TooBig
        return list(dict.fromkeys(product))
    raise TypeError(f"Unknown condition node {node!r}")


# --- When literals cannot hold together ------------------------------------------------------


def _text_number(text: str) -> bool:
    return _number(text) is not None


def atom_implies(a: Literal, b: Literal) -> bool:
    """Does comparison ``a`` holding imply comparison ``b`` holding (both taken positive, on
    the same field)?"""
    if a.field != b.field:
        return False
    if (a.op, a.key) == (b.op, b.key) and (a.op != "regex" or a.value == b.value):
        return True
    if b.op == "is_set":
        # Every comparison but is_set fails on an empty value.
        return True
    if a.op == "is_set":
        return False
    if a.op in NUMERIC and b.op in NUMERIC:
        return a.key is not None and b.key is not None and a.key.within(b.key)
    # ``eq`` of a number compares numbers ("10" = "10.0"); other text operators compare
    # text. Only a non-number ``eq`` is taken as a text equality.
    texts: frozenset[str] | None = None
    if a.op == "eq" and not _text_number(a.key):
        texts = frozenset({a.key})
    elif a.op == "in":
        texts = a.key
    if texts is None:
        if a.op == "starts_with" and b.op in ("starts_with", "contains"):
            return a.key.startswith(b.key) if b.op == "starts_with" else b.key in a.key
        if a.op == "contains" and b.op == "contains":
            return b.key in a.key
        return False
    if b.op == "in":
        return texts <= b.key
    if b.op == "eq":
        return len(texts) == 1 and next(iter(texts)) == b.key
    if b.op == "starts_with":
        return all(t.startswith(b.key) for t in texts)
    if b.op == "contains":
        return all(b.key in t for t in texts)
    return False


def _disjoint(a: Literal, b: Literal) -> bool:
    """Can comparisons ``a`` and ``b`` (both positive, same field) never hold together?"""
    if a.op in NUMERIC and b.op in NUMERIC:
        return a.key is not None and b.key is not None and a.key.meet(b.key).empty()
    return False


def _allowed_values(lits: list[Literal]) -> frozenset[str] | None:
    """On a one-value field, the texts the positive ``eq``/``in`` literals leave (None: no
    such literal)."""
    allowed: frozenset[str] | None = None
    for lit in lits:
        if not lit.positive:
            continue
        if lit.op == "in":
            values = lit.key
        elif lit.op == "eq" and not _text_number(lit.key):
            values = frozenset({lit.key})
        else:
            continue
        allowed = values if allowed is None else allowed & values
    return allowed


def _passes(text: str, lit: Literal) -> bool | None:
    """Does the field's value ``text`` pass ``lit``? None when it cannot be told from the
    text alone (a regular expression may switch case-insensitivity off inline)."""
    if lit.op == "regex":
        return None
    return compare(text, lit.op, lit.value) == lit.positive


def impossible(term: Iterable[Literal]) -> bool:
    """Can the literals never all hold for one lead? True only when that is certain."""
    by_field: dict[str, list[Literal]] = {}
    for lit in term:
        by_field.setdefault(lit.field, []).append(lit)
    return any(_impossible_field(lits) for lits in by_field.values())


def _impossible_field(lits: list[Literal]) -> bool:
    positive = [lit for lit in lits if lit.positive]
    negative = [lit for lit in lits if not lit.positive]
    for p in positive:
        for n in negative:
            if atom_implies(p, n):
                return True
    for i, p in enumerate(positive):
        for q in positive[i + 1 :]:
            if _disjoint(p, q):
                return True
    numeric = [p.key for p in positive if p.op in NUMERIC and p.key is not None]
    if numeric:
        meet = numeric[0]
        for r in numeric[1:]:
            meet = meet.meet(r)
        if meet.empty():
            return True
        if any(n.op in NUMERIC and n.key is not None and meet.within(n.key) for n in negative):
            return True
    if lits[0].scalar:
        allowed = _allowed_values(lits)
        if allowed is not None:
            left = [t for t in allowed if all(_passes(t, lit) is not False for lit in lits)]
            if not left:
                return True
    return False


def satisfiable(node: Node) -> bool:
    """False only when no lead can ever match ``node``."""
    try:
        return bool(normal_form(node))
    except TooBig:
        return True


def implies(premise: Node, conclusion: Node) -> bool:
    """True only when every lead matching ``premise`` matches ``conclusion``."""
    return covered(premise, [conclusion])


def covered(premise: Node, conditions: Sequence[Node]) -> bool:
    """True only when every lead matching ``premise`` matches one of ``conditions``: no
    conjunction of ``premise`` survives the negation of all of them together."""
    try:
        terms = normal_form(premise)
        negations = [normal_form(c, negate=True) for c in conditions]
    except TooBig:
        return False
    # Conditions whose negation is always true (never match) are left out; one whose
    # negation never holds (matches every lead) covers everything.
    if any(not n for n in negations):
        return True
    negations.sort(key=len)
    steps = [0]

    def escapes(term: Term, i: int) -> bool:
        """Is there a lead matching ``term`` and none of ``conditions[i:]``? (Unsure: yes.)"""
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            raise TooBig
        if i == len(negations):
            return True
        for choice in negations[i]:
            joined = term | choice
            if not impossible(joined) and escapes(joined, i + 1):
                return True
        return False

    try:
        return not any(escapes(term, 0) for term in terms)
    except TooBig:
        return False


# --- Reachability of rules -------------------------------------------------------------------


@dataclass(frozen=True)
class Unreachable:
    """A rule no lead reaches: its condition never holds (``by`` empty), or the rules
    ``by`` (ids, earlier and enabled) match every lead it matches."""

    rule_id: int
    by: tuple[int, ...]


def unreachable_rules(rules: Sequence[tuple[int, Node]]) -> list[Unreachable]:
    """The unreachable rules among ``rules``: (id, parsed condition) of the enabled rules in
    the engine's order. A rule shadowed by one earlier rule names that one; else, when the
    earlier rules together cover it, a smallest set of them that does."""
    found = []
    for i, (rule_id, node) in enumerate(rules):
        if not satisfiable(node):
            found.append(Unreachable(rule_id, ()))
            continue
        earlier = rules[:i]
        alone = next((other for other, cond in earlier if implies(node, cond)), None)
        if alone is not None:
            found.append(Unreachable(rule_id, (alone,)))
            continue
        if len(earlier) > 1 and covered(node, [cond for _, cond in earlier]):
            # Name a smallest set that still covers it: drop each rule the others cover for.
            needed = dict(earlier)
            for other in list(needed):
                rest = [cond for key, cond in needed.items() if key != other]
                if rest and covered(node, rest):
                    del needed[other]
            found.append(Unreachable(rule_id, tuple(needed)))
    return found


def values_required(node: Node, field: str) -> frozenset[str] | None:
    """The values (lower-case) a lead matching ``node`` can have in ``field`` when the
    condition pins it with ``eq``/``in`` on every path; None when some path leaves it open."""
    try:
        terms = normal_form(node)
    except TooBig:
        return None
    values: set[str] = set()
    for term in terms:
        allowed = _allowed_values([lit for lit in term if lit.field == field])
        if allowed is None:
            return None
        values |= allowed
    return frozenset(values)


# --- Hours no member works -------------------------------------------------------------------


def week_of(now: datetime) -> datetime:
    """Monday 00:00 UTC of ``now``'s week."""
    day = now.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), UTC)


# A shift "to midnight" is stored ending 23:59:59 (reps.WorkingHours).
END_OF_DAY = time(23, 59, 59)


def _working_spans(
    zone_name: str, intervals: Sequence[WorkInterval], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(zone_name)
    day: date = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    spans = []
    while day <= last:
        for interval in intervals:
            if interval.weekday != day.weekday() or interval.end <= interval.start:
                continue
            a = datetime.combine(day, interval.start, zone).astimezone(UTC)
            if interval.end >= END_OF_DAY:
                b = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
            else:
                b = datetime.combine(day, interval.end, zone).astimezone(UTC)
            a, b = max(a, start), min(b, end)
            if a < b:
                spans.append((a, b))
        day += timedelta(days=1)
    return spans


def uncovered_hours(
    schedules: Iterable[tuple[str, Sequence[WorkInterval]]], week_start: datetime
) -> list[tuple[datetime, datetime]]:
    """The UTC ranges starting in the week from ``week_start`` when nobody of ``schedules``
    (time zone, working hours; no hours: no limit) works, in order, on the real dates (so
    with the daylight saving time of those dates). A range that runs past the week's end
    ends on its real date in the next week; the hours at the week's start before the first
    shift are that same range a week earlier, so they are not listed again. Nobody works at
    all: the whole week."""
    week_end = week_start + timedelta(days=7)
    start, end = week_start - timedelta(days=7), week_end + timedelta(days=7)
    spans: list[tuple[datetime, datetime]] = []
    for zone_name, intervals in schedules:
        if not intervals:
            return []
        spans.extend(_working_spans(zone_name, intervals, start, end))
    gaps = []
    cursor = start
    for a, b in sorted(spans):
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        gaps.append((cursor, end))
    found = []
    for a, b in gaps:
        if a <= week_start and b >= week_end:
            return [(week_start, week_end)]
        if week_start <= a < week_end and b - a >= MIN_GAP:
            found.append((a, b))
    return found


def range_text(start: datetime, end: datetime, zone_name: str = "UTC") -> str:
    """``Sat 17:00 to Mon 08:00`` in ``zone_name``'s local time."""
    zone = ZoneInfo(zone_name)
    a, b = start.astimezone(zone), end.astimezone(zone)
    return f"{WEEKDAY_NAMES[a.weekday()]} {a:%H:%M} to {WEEKDAY_NAMES[b.weekday()]} {b:%H:%M}"


# --- Territories ---------------------------------------------------------------------------


def _chain(t: Territory, by_id: Mapping[int, Territory]) -> list[Territory] | None:
    """The territory and its ancestors, as matching walks them; None when they loop (such a
    territory never matches)."""
    chain, seen = [t], {t.id}
    while chain[-1].parent_id in by_id:
        if chain[-1].parent_id in seen:
            return None
        seen.add(chain[-1].parent_id)
        chain.append(by_id[chain[-1].parent_id])
    return chain


def _level(chain: list[Territory]) -> int:
    levels = [
        3 if t.postal_prefixes or t.postal_ranges else 2 if t.states else 1 if t.countries else 0
        for t in chain
    ]
    return max(levels)


def _meet(sets: Iterable[frozenset[str]]) -> frozenset[str] | None:
    result: frozenset[str] | None = None
    for s in sets:
        if s:
            s = frozenset(x.upper() for x in s)
            result = s if result is None else result & s
    return result


_DIGITS = re.compile(r"\d+")


def _postal_bounds(t: Territory) -> list[tuple[str, str]] | None:
    """A territory's postal criteria as lexicographic (low, high) bounds of the normalized
    code, None when it sets none or a range is not plain digits of one length."""
    if not (t.postal_prefixes or t.postal_ranges):
        return None
    bounds = []
    for prefix in t.postal_prefixes:
        p = "".join(prefix.split()).upper()
        bounds.append((p, p + "\uffff"))
    for low, high in t.postal_ranges:
        low, high = "".join(low.split()).upper(), "".join(high.split()).upper()
        if not (_DIGITS.fullmatch(low) and _DIGITS.fullmatch(high) and len(low) == len(high)):
            return []
        bounds.append((low, high + "\uffff"))
    return bounds


def _postal_overlap(a: Territory, b: Territory) -> bool:
    ba, bb = _postal_bounds(a), _postal_bounds(b)
    if ba is None or bb is None:
        return True
    return any(lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in ba for lo2, hi2 in bb)


def territory_overlaps(territories: Sequence[Territory]) -> list[tuple[int, int, str]]:
    """Pairs of territories of the same specificity (level and depth, as the matching
    ranks them), neither inside the other, that can both match one lead: (lower id, higher
    id, where in words). The lower id wins such a lead, which nobody chose."""
    by_id = {t.id: t for t in territories}
    info = {}
    for t in territories:
        chain = _chain(t, by_id)
        if chain is None:
            continue
        info[t.id] = (
            (_level(chain), len(chain) - 1),
            {c.id for c in chain},
            _meet(c.countries for c in chain),
            _meet(c.states for c in chain),
            next((c for c in chain if c.postal_prefixes or c.postal_ranges), None),
        )
    found = []
    ordered = sorted((t for t in territories if t.id in info), key=lambda t: t.id)
    for i, a in enumerate(ordered):
        rank_a, chain_a, countries_a, states_a, postal_a = info[a.id]
        for b in ordered[i + 1 :]:
            rank_b, chain_b, countries_b, states_b, postal_b = info[b.id]
            if rank_a != rank_b or a.id in chain_b or b.id in chain_a:
                continue
            if countries_a is not None and countries_b is not None:
                countries = countries_a & countries_b
                if not countries:
                    continue
            else:
                countries = countries_a if countries_b is None else countries_b
            if states_a is not None and states_b is not None and not states_a & states_b:
                continue
            if (
                postal_a is not None
                and postal_b is not None
                and not _postal_overlap(postal_a, postal_b)
            ):
                continue
            where = "any country" if countries is None else ", ".join(sorted(countries))
            if states_a is not None and states_b is not None:
                where += " (states " + ", ".join(sorted(states_a & states_b)) + ")"
            found.append((a.id, b.id, where))
    return found


def uncovered_countries(territories: Sequence[Territory], countries: Iterable[str]) -> list[str]:
    """The ``countries`` (ISO codes) that no territory can match, whatever the state or
    postal code: none allows them, and no territory matches every country."""
    by_id = {t.id: t for t in territories}
    allowed: set[str] = set()
    for t in territories:
        chain = _chain(t, by_id)
        if chain is None:
            continue
        meet = _meet(c.countries for c in chain)
        if meet is None:
            return []
        allowed |= meet
    return sorted({c.strip().upper() for c in countries if c and c.strip()} - allowed)
