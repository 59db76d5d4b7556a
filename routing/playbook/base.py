"""The playbook's shared pieces: the error and report types, the checker that collects
every error with its place, the parsers the sections share, and the registry of sections
(``Section``, ``register_section``): routing's own, then those upper apps add."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.utils import timezone

FORMAT = 1
IMPORT_NOTE = "playbook import"
# Routing's own sections, in the file's order (``routing.playbook.sections``).
SECTIONS = (
    "teams",
    "skills",
    "holiday_calendars",
    "reps",
    "pools",
    "territories",
    "rules",
    "scoring_rules",
    "pipeline",
)


class PlaybookError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportReport:
    dry_run: bool
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    version: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        if self.errors:
            return [*self.errors, f"{len(self.errors)} error(s); nothing was imported."]
        counts = ", ".join(f"{n} {section}" for section, n in self.counts.items())
        done = (
            "Dry run: everything checks out; nothing was written."
            if self.dry_run
            else f"Imported and published as version {self.version}."
        )
        return [f"Read {counts}.", done]


def sorted_json(value: Any) -> Any:
    """JSON from the database with its object keys sorted (PostgreSQL's jsonb and SQLite
    keep them in different orders)."""
    if isinstance(value, Mapping):
        return {k: sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [sorted_json(v) for v in value]
    return value


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def names_of(data: Mapping[str, Any], section: str, key: str = "name") -> list[str]:
    items = data.get(section)
    if not isinstance(items, list):
        return []
    return [i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]


class Checker:
    """Reads the file into clean values, collecting every error with its place."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def entries(self, data: Mapping[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
        """The section's entries with their labels (``pools[2] 'EMEA RR'``)."""
        items = data.get(section, [])
        if items is None:
            return []
        if not isinstance(items, list):
            self.error(section, "must be a list.")
            return []
        out = []
        for i, item in enumerate(items):
            label = f"{section}[{i}]"
            if not isinstance(item, dict):
                self.error(label, "must be a mapping.")
                continue
            key = item.get("username", item.get("name"))
            if isinstance(key, str):
                label = f"{label} {key!r}"
            out.append((label, item))
        return out

    def fields(
        self, where: str, item: Mapping[str, Any], required: set[str], optional: set[str]
    ) -> bool:
        ok = True
        for name in sorted(required - set(item)):
            self.error(f"{where}.{name}", "is required.")
            ok = False
        for name in sorted(set(item) - required - optional):
            self.error(f"{where}.{name}", "unknown field.")
            ok = False
        return ok

    def typed(self, where: str, value: Any, kind: type | tuple, what: str) -> bool:
        if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _tuple(kind)):
            return True
        self.error(where, f"must be {what}, not {value!r}.")
        return False

    def unique(self, section: str, names: list[str]) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.error(f"{section}[{i}] {name!r}", "is listed twice.")
            seen.add(name)

    def model(self, where: str, instance: Any, exclude: list[str], *, whole: bool = True) -> None:
        """Django's own field validation, errors named by field. ``whole=False`` checks
        the fields alone, not the model's ``clean()``, which reads every field: for an
        entry that lacks a required one, whose default must not be judged."""
        try:
            if not whole:
                instance.clean_fields(exclude=exclude)
                return
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            self._model_errors(where, exc)
        except (TypeError, ValueError):
            # The model's clean() compared values its fields refuse (a score written as
            # text); the fields' own errors say what is wrong.
            try:
                instance.clean_fields(exclude=exclude)
            except ValidationError as exc:
                self._model_errors(where, exc)
            else:
                raise

    def _model_errors(self, where: str, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            place = where if name == "__all__" else f"{where}.{name}"
            for message in messages:
                self.error(place, message)


def _tuple(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def parse_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value))


def parse_instant(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if timezone.is_naive(parsed):
        raise ValueError("needs a time zone, e.g. 2026-12-24T00:00:00+00:00")
    return parsed


def convert(check: Checker, where: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    try:
        return parse(value)
    except (TypeError, ValueError) as exc:
        check.error(where, f"{value!r} is not valid ({exc}).")
        return None


class Refer(Protocol):
    """Checks a reference by name (``refer(where, "EMEA", "team")``): the name of an entry
    of the file or of a row already stored, else an error at ``where`` and None. ``None``
    is no reference, and fine unless ``optional=False``."""

    def __call__(
        self, where: str, value: Any, kind: str, *, optional: bool = True
    ) -> str | None: ...


@dataclass
class Written:
    """What an import has written so far, by natural key, for the sections that follow:
    routing's sections fill these in as they write."""

    actor: Any
    now: datetime
    teams: dict[str, Any] = field(default_factory=dict)
    holiday_calendars: dict[str, Any] = field(default_factory=dict)
    reps: dict[str, Any] = field(default_factory=dict)
    pools: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    """A section of the playbook. Routing's own are registered when ``routing.playbook``
    is imported (``routing.playbook.sections``); an upper app registers its own from its
    ``AppConfig.ready()`` (routing may not import them), and they come after routing's, in
    the order of registration. Each is read, checked, written and exported the same way:

    - ``export()``: the entries as plain data, in a fixed order (the same bytes each time);
    - ``check(checker, data, refer)``: reads ``data[name]``, reports every error through
      ``checker`` with the entry and the field, writes nothing, and returns the plan that
      ``write`` gets;
    - ``write(plan, written)``: writes the plan, in the import's transaction, after the
      sections before it and before the rules are published; a ``ValidationError`` here
      fails the whole import;
    - ``kind`` and ``stored()``: when other entries refer to this section's by name (its
      ``key``), what a reference is called in errors and the names already stored;
    - ``count(plan)``: how many entries the import report mentions (None: it mentions
      none).
    """

    name: str
    export: Callable[[], Any]
    check: Callable[[Checker, Mapping[str, Any], Refer], Any]
    write: Callable[[Any, Written], None]
    kind: str | None = None
    key: str = "name"
    stored: Callable[[], Iterable[str]] | None = None
    count: Callable[[Any], int] | None = len


_registry: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add (or, registered again under its name, replace) a section of the playbook.
    Routing's own sections are registered first, once; no other may take their names."""
    if section.name == "format" or (section.name in SECTIONS and section.name in _registry):
        raise ValueError(f"{section.name!r} is one of routing's own playbook sections.")
    _registry[section.name] = section


def sections() -> tuple[Section, ...]:
    """Every section of the playbook: routing's own, then the upper apps', in the order
    they were registered."""
    return tuple(_registry.values())
