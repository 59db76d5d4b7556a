"""Diff: what importing a playbook would change, and how two rule sets differ.

The comparison (``diff_entries``, ``diff_playbooks``) is pure: two playbooks as plain data,
in the structure ``playbook_export`` gives, compared section by section, each section's
entries matched by the section's key (``Section.key``: a name, a rep's username), so a
section an upper app registers (the SLA policies) is compared as routing's own are. Each
entry is added, removed, changed (every field that differs, with its old and new value; a
mapping such as a pool's settings field by field) or moved: the entries of both sides are
kept in order, and an entry whose place changed relative to the others is moved (the fewest
such, so that a rule inserted at the top moves none below it). Rule sets are compared by
the same function, rule by rule name (the admin's draft diff and its Compare page).

``playbook_diff(data)`` answers "what would importing this file change": it exports the
set-up, imports the file in a transaction, exports again and rolls back. Comparing the
file's text with the export instead would report fields the file leaves to their defaults,
times written ``09:00`` for ``09:00:00``, and teams or reps the file leaves out, which an
import keeps; the export after the import is written in the export's own terms, so only
real changes show."""

import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from routing.playbook.base import ImportReport, PlaybookError, sections
from routing.playbook.export import playbook_export
from routing.playbook.write import playbook_import

ADDED, REMOVED, CHANGED, MOVED = "added", "removed", "changed", "moved"


class _Absent:
    """A field one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def show(value: Any) -> str:
    """A value as the diff prints it: JSON, on one line."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class FieldDiff:
    field: str  # a dotted path inside a mapping: ``settings.catch_up_limit``
    old: Any
    new: Any

    @property
    def old_text(self) -> str:
        return show(self.old)

    @property
    def new_text(self) -> str:
        return show(self.new)


@dataclass(frozen=True)
class EntryDiff:
    """One entry of a section that differs. Places count from 1 in the list's order (a
    rule's in evaluation order); ``follows`` is the entry now before it (None: it is first).
    An added entry's fields are its values (old ABSENT)."""

    name: str
    change: str  # ADDED, REMOVED, CHANGED or MOVED (moved and nothing else)
    fields: tuple[FieldDiff, ...] = ()
    old_place: int | None = None
    new_place: int | None = None
    moved: bool = False
    follows: str | None = None

    @property
    def what(self) -> str:
        """The change in words, without the entry's name: ``moved from #1 to #3, now after
        'Germany'`` (an entry can move among the others and keep its number)."""
        now = f"now after {self.follows!r}" if self.follows is not None else "now first"
        move = (
            f"moved (still #{self.new_place}), {now}"
            if self.old_place == self.new_place
            else f"moved from #{self.old_place} to #{self.new_place}, {now}"
        )
        return {
            ADDED: f"added at #{self.new_place}",
            REMOVED: f"removed (was #{self.old_place})",
            MOVED: move,
            CHANGED: f"changed, {move}" if self.moved else "changed",
        }[self.change]

    def sentence(self) -> str:
        """The change in words, with the entry's name: ``moved 'Germany' from #1 to #3, …``."""
        verb, _, rest = self.what.partition(" ")
        if verb == "changed,":
            return f"changed {self.name!r}, {rest}"
        return f"{verb} {self.name!r} {rest}".rstrip()


@dataclass(frozen=True)
class SectionDiff:
    name: str
    entries: tuple[EntryDiff, ...]

    def count(self, change: str) -> int:
        return sum(1 for e in self.entries if e.change == change)


@dataclass(frozen=True)
class PlaybookDiff:
    """The sections that differ, in the playbook's order (none: nothing would change)."""

    sections: tuple[SectionDiff, ...]

    @property
    def changed(self) -> bool:
        return bool(self.sections)

    def lines(self) -> list[str]:
        if not self.sections:
            return ["No changes."]
        out = []
        for section in self.sections:
            out.append(f"{section.name}:")
            out.extend(entry_lines(section.entries, indent="  "))
        totals = {
            change: sum(s.count(change) for s in self.sections)
            for change in (ADDED, REMOVED, CHANGED, MOVED)
        }
        summary = ", ".join(f"{n} {change}" for change, n in totals.items() if n)
        out.append(f"{len(self.sections)} section(s) would change: {summary}.")
        return out


def entry_lines(entries: Iterable[EntryDiff], *, indent: str = "") -> list[str]:
    out = []
    for entry in entries:
        out.append(f"{indent}{entry.sentence()}")
        for f in entry.fields:
            value = f.new_text if entry.change == ADDED else f"{f.old_text} -> {f.new_text}"
            out.append(f"{indent}    {f.field}: {value}")
    return out


def diff_playbooks(
    old: Mapping[str, Any], new: Mapping[str, Any], keys: Mapping[str, str]
) -> PlaybookDiff:
    """Compare two playbooks section by section: ``keys`` names each section, in order,
    with the field its entries are known by."""
    found = []
    for name, key in keys.items():
        entries = diff_entries(old.get(name), new.get(name), key=key, label=name)
        if entries:
            found.append(SectionDiff(name, entries))
    return PlaybookDiff(tuple(found))


def diff_entries(
    old: Any, new: Any, *, key: str = "name", label: str = ""
) -> tuple[EntryDiff, ...]:
    """Compare one section's two values: lists of entries matched by ``key``, or a single
    mapping (the pipeline settings, an entry called ``label``)."""
    if isinstance(old, Mapping) or isinstance(new, Mapping):
        fields = diff_fields(_mapping(old), _mapping(new))
        return (EntryDiff(label, CHANGED, fields),) if fields else ()
    before, after = _keyed(old, key), _keyed(new, key)
    old_at = {name: i for i, (name, _item) in enumerate(before)}
    new_at = {name: i for i, (name, _item) in enumerate(after)}
    kept = _in_order([old_at[name] for name, _item in after if name in old_at])
    placed: list[tuple[float, EntryDiff]] = []
    for j, (name, item) in enumerate(after):
        i = old_at.get(name)
        if i is None:
            fields = tuple(
                FieldDiff(f, ABSENT, v)
                for f, v in _fields(item).items()
                if f != key and v not in (None, "", [], {})
            )
            placed.append((j, EntryDiff(name, ADDED, fields, new_place=j + 1)))
            continue
        fields = diff_fields(_fields(before[i][1]), _fields(item))
        moved = i not in kept
        if fields or moved:
            change = CHANGED if fields else MOVED
            follows = after[j - 1][0] if j else None
            placed.append((j, EntryDiff(name, change, fields, i + 1, j + 1, moved, follows)))
    # A removed entry is shown after the entry it followed, where it was.
    after_index = -0.5
    for i, (name, _item) in enumerate(before):
        if name in new_at:
            after_index = new_at[name] + 0.5
        else:
            placed.append((after_index, EntryDiff(name, REMOVED, old_place=i + 1)))
    return tuple(entry for _at, entry in sorted(placed, key=lambda p: p[0]))


def diff_fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> tuple:
    """The fields that differ, in the new entry's order then the old's; a mapping inside
    (a pool's settings) field by field, a list as a whole."""
    out: list[FieldDiff] = []
    for name in [*new, *(n for n in old if n not in new)]:
        a, b = old.get(name, ABSENT), new.get(name, ABSENT)
        if a == b and type(a) is type(b):
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(diff_fields(a, b, f"{prefix}{name}."))
        else:
            out.append(FieldDiff(f"{prefix}{name}", a, b))
    return tuple(out)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _fields(item: Any) -> Mapping[str, Any]:
    return item if isinstance(item, Mapping) else {"value": item}


def _keyed(items: Any, key: str) -> list[tuple[str, Any]]:
    """The entries with the names they are matched by: the key's value, else (an unnamed
    Slack webhook) the first text among the values; a name met again is ``name (2)``."""
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    seen: dict[str, int] = {}
    out = []
    for item in items:
        name = _name_of(item, key)
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name} ({seen[name]})", item))
    return out


def _name_of(item: Any, key: str) -> str:
    if not isinstance(item, Mapping):
        return show(item)
    value = item.get(key)
    if value not in (None, ""):
        return str(value)
    text = next((v for v in item.values() if isinstance(v, str) and v), None)
    return text if text is not None else show(item)


def _in_order(indexes: list[int]) -> set[int]:
    """The longest increasing subsequence of ``indexes`` (patience sorting): the entries
    that kept their order; every other common entry moved."""
    tops: list[int] = []  # tops[k]: the smallest value ending an increasing run of k+1
    ends: list[int] = []  # ends[k]: where in ``indexes`` that run ends
    back: list[int | None] = []
    for pos, value in enumerate(indexes):
        k = bisect_left(tops, value)
        back.append(ends[k - 1] if k else None)
        if k == len(tops):
            tops.append(value)
            ends.append(pos)
        else:
            tops[k], ends[k] = value, pos
    run: set[int] = set()
    at = ends[-1] if ends else None
    while at is not None:
        run.add(indexes[at])
        at = back[at]
    return run


def section_keys() -> dict[str, str]:
    """Every registered section with the field its entries are known by."""
    return {section.name: section.key for section in sections()}


def playbook_import_diff(
    data: Any, *, dry_run: bool = False, actor: Any = None
) -> tuple[PlaybookDiff | None, ImportReport]:
    """``playbook_import``, with what it changes: the set-up exported before and after the
    import, in one transaction (rolled back on a dry run). The diff is None when the file
    does not import; the report has its errors."""
    with transaction.atomic():
        before = playbook_export()
        report = replace(playbook_import(data, actor=actor), dry_run=dry_run)
        changes = diff_playbooks(before, playbook_export(), section_keys()) if report.ok else None
        if dry_run:
            transaction.set_rollback(True)
    return changes, report


def playbook_diff(data: Any) -> PlaybookDiff:
    """What importing ``data`` would change, section by section; writes nothing. A file
    that does not import raises PlaybookError with the import's errors."""
    changes, report = playbook_import_diff(data, dry_run=True)
    if changes is None:
        raise PlaybookError(report.errors)
    return changes
