"""Which territory covers a lead: hierarchical, most specific wins.

A territory matches a lead when every criterion it sets matches and all its ancestors
match too:

- ``countries``: the lead's country (ISO alpha-2, any case);
- ``states``: the lead's state code (any case);
- ``postal_prefixes`` / ``postal_ranges``: the lead's postal code starts with a prefix or
  falls in an inclusive range (either is enough when both are set).

Postal codes are compared upper-case with spaces removed ("sw1a 1aa" → "SW1A1AA"). A range
whose bounds are digits of equal length n (("10000", "14999")) compares the code's first n
characters as a number, so a ZIP+4 "10115-1234" falls in it and "1011" does not; any other
range compares the whole code lexicographically ("AB1" ≤ code ≤ "AB9ZZZ").

Specificity: a territory's level is the finest criterion set on it or an ancestor
(postal 3 > state 2 > country 1 > none 0), then its depth in the tree; the highest wins,
and ties go to the lowest id, so the answer never depends on input order. A territory with
no criteria at all matches every lead (a catch-all root). A parent chain that loops is
treated as not matching; a parent that is not in the list (inactive) ends the chain.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from routing.engine.inputs import Territory


def normalize_postal(code: str) -> str:
    return "".join(code.split()).upper()


def _in_range(code: str, low: str, high: str) -> bool:
    low, high = normalize_postal(low), normalize_postal(high)
    if low.isdigit() and high.isdigit() and len(low) == len(high):
        head = code[: len(low)]
        return len(head) == len(low) and head.isdigit() and int(low) <= int(head) <= int(high)
    return low <= code <= high


@dataclass(frozen=True)
class _Entry:
    territory: Territory
    chain: tuple[Territory, ...]  # itself first, then its ancestors
    level: int
    depth: int
    countries: frozenset[str]
    states: frozenset[str]
    prefixes: tuple[str, ...]


def _own_level(t: Territory) -> int:
    if t.postal_prefixes or t.postal_ranges:
        return 3
    if t.states:
        return 2
    return 1 if t.countries else 0


class TerritoryIndex:
    """The territories, prepared once per world for matching."""

    def __init__(self, territories: Sequence[Territory]) -> None:
        by_id = {t.id: t for t in territories}
        entries = []
        for t in territories:
            chain = [t]
            seen = {t.id}
            parent = t.parent_id
            looped = False
            while parent is not None:
                if parent in seen or parent not in by_id:
                    looped = parent in seen
                    break
                seen.add(parent)
                chain.append(by_id[parent])
                parent = by_id[parent].parent_id
            if looped:
                continue
            entries.append(
                _Entry(
                    territory=t,
                    chain=tuple(chain),
                    level=max(_own_level(c) for c in chain),
                    depth=len(chain) - 1,
                    countries=frozenset(c.upper() for c in t.countries),
                    states=frozenset(s.upper() for s in t.states),
                    prefixes=tuple(normalize_postal(p) for p in t.postal_prefixes),
                )
            )
        self._entries = {e.territory.id: e for e in entries}
        # Most specific first, so the first match is the answer; per country, only the
        # territories whose chain allows that country (the rest for any other country).
        order = sorted(entries, key=lambda e: (-e.level, -e.depth, e.territory.id))
        allowed = {e.territory.id: self._countries(e) for e in order}
        named = set().union(*(c for c in allowed.values() if c is not None))
        self._anywhere = tuple(e for e in order if allowed[e.territory.id] is None)
        self._by_country = {
            country: tuple(
                e for e in order if (a := allowed[e.territory.id]) is None or country in a
            )
            for country in named
        }

    def _countries(self, entry: _Entry) -> frozenset[str] | None:
        """The countries a territory can match at all (None: any)."""
        allowed = None
        for t in entry.chain:
            own = self._entries[t.id].countries
            if own:
                allowed = own if allowed is None else allowed & own
        return allowed

    def _matches_own(self, e: _Entry, country: str, state: str, postal: str) -> bool:
        if e.countries and country not in e.countries:
            return False
        if e.states and state not in e.states:
            return False
        t = e.territory
        if t.postal_prefixes or t.postal_ranges:
            return any(postal.startswith(p) for p in e.prefixes) or any(
                _in_range(postal, low, high) for low, high in t.postal_ranges
            )
        return True

    def match(self, lead: Mapping[str, Any]) -> Territory | None:
        country = str(lead.get("country") or "").strip().upper()
        state = str(lead.get("state") or "").strip().upper()
        postal = normalize_postal(str(lead.get("postal_code") or ""))
        for e in self._by_country.get(country, self._anywhere):
            if all(self._matches_own(self._entries[c.id], country, state, postal) for c in e.chain):
                return e.territory
        return None

    def pool_of(self, territory: Territory) -> int | None:
        """The territory's pool, or the nearest ancestor's when it has none."""
        entry = self._entries.get(territory.id)
        for t in entry.chain if entry else (territory,):
            if t.pool_id is not None:
                return t.pool_id
        return None
