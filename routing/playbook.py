"""Rules as code: the whole routing set-up as one playbook file (docs/playbook.md).

``playbook_export()`` reads teams, reps, skills, holiday calendars, territories, pools, the
rule set in force, scoring rules and pipeline settings into a dict keyed by names, never
database ids, so the file moves between databases; ``playbook_dump`` writes it as YAML in
a fixed order, so exporting twice gives the same bytes.

``playbook_import(data, dry_run=...)`` checks the whole file first and writes nothing if
anything is wrong; every error names the entry and the field
(``pools[2] 'EMEA RR'.members[1]: unknown rep 'jdoe'``). Then, in one transaction, it adds
and updates the entries, replaces the lists inside them, writes the rules into the draft
and publishes it as a new version. A dry run does all of that and rolls it back.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadhub.leads.models import PipelineSettings, ScoringRule
from reps.models import (
    Holiday,
    HolidayCalendar,
    Rep,
    Skill,
    Team,
    TimeOff,
    check_time_off,
    check_working_hours,
)
from reps.services import rep_create, rep_update, team_create, team_update, time_off_add
from routing.config_services import (
    Member,
    check_pool_settings,
    check_rule,
    draft_rules_replace,
    pool_save,
    territory_save,
)
from routing.models import Pool, Rule, Territory
from routing.selectors import ruleset_in_force
from routing.services import RoutingError, ruleset_publish
from routing.world import routing_changed

FORMAT = 1
IMPORT_NOTE = "playbook import"
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


# --- Export -----------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """JSON from the database with its object keys sorted (PostgreSQL's jsonb and SQLite
    keep them in different orders)."""
    if isinstance(value, Mapping):
        return {k: _json(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _export_reps(now: datetime) -> list[dict[str, Any]]:
    reps = (
        Rep.objects.select_related("user", "team", "holiday_calendar")
        .prefetch_related("skills", "working_hours", "time_off")
        .order_by("user__username")
    )
    out = []
    for rep in reps:
        user = rep.user
        out.append(
            {
                "username": user.get_username(),
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "team": rep.team.name,
                "role": rep.role,
                "active": rep.active,
                "timezone": rep.timezone,
                "working_hours": [
                    {"weekday": h.weekday, "start": h.start.isoformat(), "end": h.end.isoformat()}
                    for h in sorted(rep.working_hours.all(), key=lambda h: (h.weekday, h.start))
                ],
                "time_off": [
                    {"start": _instant(t.start), "end": _instant(t.end), "reason": t.reason}
                    for t in sorted(rep.time_off.all(), key=lambda t: t.start)
                    if t.end > now
                ],
                "holiday_calendar": rep.holiday_calendar.name if rep.holiday_calendar else None,
                "skills": sorted(s.name for s in rep.skills.all()),
                "languages": sorted(rep.languages),
                "tier": rep.tier,
                "weight": rep.weight,
                "ramp_until": rep.ramp_until.isoformat() if rep.ramp_until else None,
                "ramp_share": float(rep.ramp_share),
                "max_open": rep.max_open,
                "max_per_day": rep.max_per_day,
                "max_per_week": rep.max_per_week,
            }
        )
    return out


def _export_rules() -> list[dict[str, Any]]:
    ruleset = ruleset_in_force()
    if ruleset is None:
        return []
    rules = (
        Rule.objects.filter(ruleset=ruleset)
        .select_related("action_pool", "action_rep__user", "fallback_pool")
        .order_by("position", "pk")
    )
    return [
        {
            "name": r.name,
            "enabled": r.enabled,
            "condition": _json(r.condition),
            "action": r.action,
            "pool": r.action_pool.name if r.action_pool else None,
            "rep": r.action_rep.user.get_username() if r.action_rep else None,
            "fallback": r.fallback,
            "fallback_pool": r.fallback_pool.name if r.fallback_pool else None,
        }
        for r in rules
    ]


def playbook_export() -> dict[str, Any]:
    """The routing set-up as plain data keyed by names; see docs/playbook.md."""
    now = timezone.now()
    pipeline = PipelineSettings.load()
    return {
        "format": FORMAT,
        "teams": [
            {"name": t.name, "region": t.region, "timezone": t.timezone}
            for t in Team.objects.order_by("name")
        ],
        "skills": [
            {"name": s.name, "description": s.description} for s in Skill.objects.order_by("name")
        ],
        "holiday_calendars": [
            {
                "name": c.name,
                "holidays": [
                    {"date": h.date.isoformat(), "name": h.name}
                    for h in sorted(c.holidays.all(), key=lambda h: h.date)
                ],
            }
            for c in HolidayCalendar.objects.prefetch_related("holidays").order_by("name")
        ],
        "reps": _export_reps(now),
        "pools": [
            {
                "name": p.name,
                "team": p.team.name if p.team else None,
                "method": p.method,
                "active": p.active,
                "settings": _json(p.settings),
                "members": [
                    {"rep": m.rep.user.get_username(), "weight": m.weight}
                    for m in sorted(p.members.all(), key=lambda m: (m.position, m.pk))
                ],
            }
            for p in Pool.objects.select_related("team")
            .prefetch_related("members__rep__user")
            .order_by("name")
        ],
        "territories": [
            {
                "name": t.name,
                "parent": t.parent.name if t.parent else None,
                "pool": t.pool.name if t.pool else None,
                "active": t.active,
                "countries": list(t.countries),
                "states": list(t.states),
                "postal_prefixes": list(t.postal_prefixes),
                "postal_ranges": [list(r) for r in t.postal_ranges],
            }
            for t in Territory.objects.select_related("parent", "pool").order_by("name")
        ],
        "rules": _export_rules(),
        "scoring_rules": [
            {
                "name": s.name,
                "field": s.field,
                "operator": s.operator,
                "value": s.value,
                "points": s.points,
                "active": s.active,
            }
            for s in ScoringRule.objects.order_by("position", "pk")
        ],
        "pipeline": {
            "sales_ready_score": pipeline.sales_ready_score,
            "nurture_below_score": pipeline.nurture_below_score,
            "routing_required_fields": list(pipeline.routing_required_fields),
        },
    }


def playbook_dump(data: Mapping[str, Any]) -> str:
    """The playbook as YAML, sections and fields in the order ``playbook_export`` gives."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)


def playbook_load(text: str) -> Any:
    """Parse a playbook file; a YAML syntax error is a PlaybookError."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError([f"Not valid YAML: {exc}"]) from None


# --- Checking -------------------------------------------------------------------------


class _Checker:
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

    def model(self, where: str, instance: Any, exclude: list[str]) -> None:
        """Django's own field validation, errors named by field."""
        try:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                place = where if name == "__all__" else f"{where}.{name}"
                for message in messages:
                    self.error(place, message)


def _tuple(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _parse_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value))


def _parse_instant(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if timezone.is_naive(parsed):
        raise ValueError("needs a time zone, e.g. 2026-12-24T00:00:00+00:00")
    return parsed


def _convert(check: _Checker, where: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    try:
        return parse(value)
    except (TypeError, ValueError) as exc:
        check.error(where, f"{value!r} is not valid ({exc}).")
        return None


REP_REQUIRED = {"username", "team"}
REP_OPTIONAL = {
    "first_name",
    "last_name",
    "email",
    "role",
    "active",
    "timezone",
    "working_hours",
    "time_off",
    "holiday_calendar",
    "skills",
    "languages",
    "tier",
    "weight",
    "ramp_until",
    "ramp_share",
    "max_open",
    "max_per_day",
    "max_per_week",
}
REP_MODEL_FIELDS = (
    "role",
    "active",
    "timezone",
    "languages",
    "tier",
    "weight",
    "max_open",
    "max_per_day",
    "max_per_week",
)


@dataclass
class _Plan:
    teams: list[dict[str, Any]] = field(default_factory=list)
    skills: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[dict[str, Any]] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    territories: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    scoring_rules: list[dict[str, Any]] = field(default_factory=list)
    pipeline: dict[str, Any] | None = None


def _names_of(data: Mapping[str, Any], section: str, key: str = "name") -> list[str]:
    items = data.get(section)
    if not isinstance(items, list):
        return []
    return [i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]


def _check(data: Any) -> tuple[_Plan, list[str]]:
    check = _Checker()
    plan = _Plan()
    if not isinstance(data, dict):
        return plan, ["The playbook must be a mapping of sections (see docs/playbook.md)."]
    for name in sorted(set(data) - {"format", *SECTIONS}):
        check.error(name, "unknown section.")
    if data.get("format", FORMAT) != FORMAT:
        check.error("format", f"this LeadHub reads format {FORMAT}, not {data['format']!r}.")

    known = {
        "team": set(_names_of(data, "teams")) | set(Team.objects.values_list("name", flat=True)),
        "skill": set(_names_of(data, "skills")) | set(Skill.objects.values_list("name", flat=True)),
        "holiday calendar": set(_names_of(data, "holiday_calendars"))
        | set(HolidayCalendar.objects.values_list("name", flat=True)),
        "rep": set(_names_of(data, "reps", "username"))
        | set(Rep.objects.values_list("user__username", flat=True)),
        "pool": set(_names_of(data, "pools")) | set(Pool.objects.values_list("name", flat=True)),
        "territory": set(_names_of(data, "territories"))
        | set(Territory.objects.values_list("name", flat=True)),
    }

    def ref(where: str, value: Any, kind: str, *, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in known[kind]:
            check.error(where, f"unknown {kind} {value!r}.")
            return None
        return value

    for section, key in (
        ("teams", "name"),
        ("skills", "name"),
        ("holiday_calendars", "name"),
        ("reps", "username"),
        ("pools", "name"),
        ("territories", "name"),
    ):
        check.unique(section, _names_of(data, section, key))

    for where, item in check.entries(data, "teams"):
        if check.fields(where, item, {"name"}, {"region", "timezone"}):
            team = Team(
                name=item["name"],
                region=item.get("region", ""),
                timezone=item.get("timezone", "UTC"),
            )
            check.model(where, team, [])
            plan.teams.append(item)

    for where, item in check.entries(data, "skills"):
        if check.fields(where, item, {"name"}, {"description"}):
            check.model(
                where, Skill(name=item["name"], description=item.get("description", "")), []
            )
            plan.skills.append(item)

    for where, item in check.entries(data, "holiday_calendars"):
        if not check.fields(where, item, {"name"}, {"holidays"}):
            continue
        check.model(where, HolidayCalendar(name=item["name"]), [])
        holidays = []
        days: set[date] = set()
        if check.typed(f"{where}.holidays", item.get("holidays", []), list, "a list"):
            for j, h in enumerate(item.get("holidays", [])):
                here = f"{where}.holidays[{j}]"
                if not check.typed(here, h, dict, "a mapping") or not check.fields(
                    here, h, {"date", "name"}, set()
                ):
                    continue
                day = _convert(check, f"{here}.date", h["date"], _parse_date)
                if day in days:
                    check.error(f"{here}.date", f"{day} is listed twice.")
                days.add(day)
                check.model(here, Holiday(date=day, name=h["name"]), ["calendar", "date"])
                holidays.append({"date": day, "name": h["name"]})
        plan.calendars.append({"name": item["name"], "holidays": holidays})

    for where, item in check.entries(data, "reps"):
        if check.fields(where, item, REP_REQUIRED, REP_OPTIONAL):
            rep = _check_rep(check, where, item, ref)
            if rep is not None:
                plan.reps.append(rep)

    for where, item in check.entries(data, "pools"):
        if not check.fields(
            where, item, {"name"}, {"team", "method", "active", "settings", "members"}
        ):
            continue
        settings = item.get("settings") or {}
        try:
            check_pool_settings(settings)
        except ValidationError as exc:
            for message in exc.message_dict["settings"]:
                check.error(f"{where}.settings", message)
        pool = Pool(
            name=item["name"],
            method=item.get("method", Pool.Method.ROUND_ROBIN),
            active=item.get("active", True),
            settings=settings,
        )
        check.model(where, pool, ["team"])
        members = []
        if check.typed(f"{where}.members", item.get("members", []), list, "a list"):
            for j, m in enumerate(item.get("members", [])):
                here = f"{where}.members[{j}]"
                if not check.typed(here, m, dict, "a mapping") or not check.fields(
                    here, m, {"rep"}, {"weight"}
                ):
                    continue
                username = ref(here, m["rep"], "rep", optional=False)
                weight = m.get("weight")
                if weight is not None and not (
                    isinstance(weight, int) and not isinstance(weight, bool) and weight >= 0
                ):
                    check.error(
                        f"{here}.weight", f"must be a whole number or null, not {weight!r}."
                    )
                    continue
                if username in {x["rep"] for x in members}:
                    check.error(here, f"{username!r} is listed twice.")
                members.append({"rep": username, "weight": weight})
        plan.pools.append(
            {
                "name": item["name"],
                "team": ref(f"{where}.team", item.get("team"), "team"),
                "method": pool.method,
                "active": pool.active,
                "settings": settings,
                "members": members,
            }
        )

    parents: dict[str, str | None] = {}
    for where, item in check.entries(data, "territories"):
        optional = {"parent", "pool", "active", "countries", "states"}
        optional |= {"postal_prefixes", "postal_ranges"}
        if not check.fields(where, item, {"name"}, optional):
            continue
        values = {}
        for name in ("countries", "states", "postal_prefixes"):
            value = item.get(name, [])
            if check.typed(f"{where}.{name}", value, list, "a list") and not all(
                isinstance(v, str) for v in value
            ):
                check.error(f"{where}.{name}", "must be a list of text.")
            values[name] = value
        ranges = item.get("postal_ranges", [])
        if not isinstance(ranges, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(v, str) for v in r)
            for r in ranges
        ):
            check.error(f"{where}.postal_ranges", 'must be a list of ["from", "to"] pairs.')
        territory = Territory(name=item["name"], active=item.get("active", True), **values)
        check.model(where, territory, ["parent", "pool", "postal_ranges"])
        parent = ref(f"{where}.parent", item.get("parent"), "territory")
        if parent == item["name"]:
            check.error(f"{where}.parent", "a territory cannot be its own parent.")
        parents[item["name"]] = parent
        plan.territories.append(
            {
                **values,
                "name": item["name"],
                "active": territory.active,
                "postal_ranges": ranges,
                "parent": parent,
                "pool": ref(f"{where}.pool", item.get("pool"), "pool"),
            }
        )
    for name in parents:
        seen, current = {name}, parents[name]
        while current is not None and current in parents:
            if current in seen:
                check.error(f"territories {name!r}.parent", "the parents form a loop.")
                break
            seen.add(current)
            current = parents[current]

    rule_fields = {"enabled", "condition", "action", "pool", "rep", "fallback", "fallback_pool"}
    for where, item in check.entries(data, "rules"):
        if not check.fields(where, item, {"name", "action"}, rule_fields):
            continue
        rule = {
            "name": item["name"],
            "enabled": item.get("enabled", True),
            "condition": item.get("condition") or {},
            "action": item["action"],
            "pool": ref(f"{where}.pool", item.get("pool"), "pool"),
            "rep": ref(f"{where}.rep", item.get("rep"), "rep"),
            "fallback": item.get("fallback", Rule.Fallback.TRIAGE),
            "fallback_pool": ref(f"{where}.fallback_pool", item.get("fallback_pool"), "pool"),
        }
        check.model(
            where,
            Rule(
                name=rule["name"],
                enabled=rule["enabled"],
                condition=rule["condition"],
                action=rule["action"],
                fallback=rule["fallback"],
            ),
            ["ruleset"],
        )
        target = rule["pool"] if rule["action"] == Rule.Action.POOL else rule["rep"]
        try:
            check_rule(
                condition=rule["condition"],
                action=rule["action"],
                action_target=0 if target else None,
                fallback=rule["fallback"],
                fallback_pool=0 if rule["fallback_pool"] else None,
            )
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                for message in messages:
                    check.errors.append(message.replace("rules[0]", where.split(" ")[0], 1))
        if rule["action"] not in (Rule.Action.POOL, Rule.Action.REP) and (
            rule["pool"] or rule["rep"]
        ):
            check.error(f"{where}.action", f"{rule['action']!r} takes no pool or rep.")
        plan.rules.append(rule)

    for where, item in check.entries(data, "scoring_rules"):
        if check.fields(where, item, {"name", "field", "operator", "points"}, {"value", "active"}):
            scoring = ScoringRule(
                name=item["name"],
                field=item["field"],
                operator=item["operator"],
                value=item.get("value", ""),
                points=item["points"],
                active=item.get("active", True),
            )
            check.model(where, scoring, [])
            plan.scoring_rules.append(item)

    pipeline = data.get("pipeline")
    if pipeline is not None and check.typed("pipeline", pipeline, dict, "a mapping"):
        required = {"sales_ready_score", "nurture_below_score", "routing_required_fields"}
        if check.fields("pipeline", pipeline, required, set()):
            check.model("pipeline", PipelineSettings(**pipeline), [])
            plan.pipeline = dict(pipeline)
    return plan, check.errors


def _check_rep(check: _Checker, where: str, item: Mapping[str, Any], ref) -> dict | None:
    values = {name: item[name] for name in REP_MODEL_FIELDS if name in item}
    team = ref(f"{where}.team", item["team"], "team", optional=False)
    calendar = ref(f"{where}.holiday_calendar", item.get("holiday_calendar"), "holiday calendar")
    skills = item.get("skills", [])
    if check.typed(f"{where}.skills", skills, list, "a list"):
        for j, name in enumerate(skills):
            ref(f"{where}.skills[{j}]", name, "skill", optional=False)
    if "ramp_until" in item:
        values["ramp_until"] = (
            None
            if item["ramp_until"] is None
            else _convert(check, f"{where}.ramp_until", item["ramp_until"], _parse_date)
        )
    if "ramp_share" in item:
        try:
            values["ramp_share"] = Decimal(str(item["ramp_share"])).quantize(Decimal("0.01"))
        except InvalidOperation:
            check.error(f"{where}.ramp_share", f"{item['ramp_share']!r} is not a number.")
    check.model(where, Rep(**values), ["user", "team", "holiday_calendar"])
    for name in ("first_name", "last_name", "email"):
        if name in item:
            check.typed(f"{where}.{name}", item[name], str, "text")
    hours = []
    if check.typed(f"{where}.working_hours", item.get("working_hours", []), list, "a list"):
        for j, h in enumerate(item.get("working_hours", [])):
            here = f"{where}.working_hours[{j}]"
            if check.typed(here, h, dict, "a mapping") and check.fields(
                here, h, {"weekday", "start", "end"}, set()
            ):
                start = _convert(check, f"{here}.start", h["start"], _parse_time)
                end = _convert(check, f"{here}.end", h["end"], _parse_time)
                if check.typed(f"{here}.weekday", h["weekday"], int, "0 (Monday) to 6 (Sunday)"):
                    hours.append((h["weekday"], start, end))
        try:
            check_working_hours([h for h in hours if None not in h])
        except ValidationError as exc:
            for message in exc.messages:
                check.error(f"{where}.working_hours", message)
    time_off = []
    if check.typed(f"{where}.time_off", item.get("time_off", []), list, "a list"):
        for j, t in enumerate(item.get("time_off", [])):
            here = f"{where}.time_off[{j}]"
            if check.typed(here, t, dict, "a mapping") and check.fields(
                here, t, {"start", "end"}, {"reason"}
            ):
                start = _convert(check, f"{here}.start", t["start"], _parse_instant)
                end = _convert(check, f"{here}.end", t["end"], _parse_instant)
                if start and end:
                    if start >= end:
                        check.error(here, "the end must be after the start.")
                    time_off.append((start, end, str(t.get("reason", ""))))
        try:
            check_time_off([(start, end) for start, end, _reason in time_off if start < end])
        except ValidationError as exc:
            for message in exc.messages:
                check.error(f"{where}.time_off", message)
    return {
        "username": item["username"],
        "first_name": item.get("first_name", ""),
        "last_name": item.get("last_name", ""),
        "email": item.get("email", ""),
        "team": team,
        "holiday_calendar": calendar,
        "skills": skills if isinstance(skills, list) else [],
        "working_hours": hours,
        "time_off": sorted(time_off),
        "fields": values,
    }


# --- Writing --------------------------------------------------------------------------


def _write_rep(
    item: dict[str, Any], teams: dict, calendars: dict, actor: Any, now: datetime
) -> None:
    users = get_user_model().objects
    user = users.filter(username=item["username"]).first()
    if user is None:
        user = users.create_user(username=item["username"])
    user.first_name, user.last_name = item["first_name"], item["last_name"]
    user.email = item["email"]
    user.save(update_fields=["first_name", "last_name", "email"])
    fields = {
        **item["fields"],
        "team": teams[item["team"]],
        "holiday_calendar": calendars.get(item["holiday_calendar"]),
    }
    rep = Rep.objects.filter(user=user).first()
    if rep is None:
        rep = rep_create(
            user=user, skills=item["skills"], working_hours=item["working_hours"], **fields
        )
    else:
        rep_update(rep=rep, skills=item["skills"], working_hours=item["working_hours"], **fields)
    TimeOff.objects.filter(rep=rep, end__gt=now).delete()
    for start, end, reason in item["time_off"]:
        time_off_add(rep=rep, start=start, end=end, reason=reason, actor=actor)


def _write(plan: _Plan, actor: Any, now: datetime) -> int:
    teams = {t.name: t for t in Team.objects.all()}
    for item in plan.teams:
        values = {"region": item.get("region", ""), "timezone": item.get("timezone", "UTC")}
        if item["name"] in teams:
            team_update(team=teams[item["name"]], **values)
        else:
            teams[item["name"]] = team_create(name=item["name"], **values)

    for item in plan.skills:
        Skill.objects.update_or_create(
            name=item["name"], defaults={"description": item.get("description", "")}
        )

    for item in plan.calendars:
        calendar, _ = HolidayCalendar.objects.get_or_create(name=item["name"])
        calendar.holidays.all().delete()
        Holiday.objects.bulk_create(
            Holiday(calendar=calendar, date=h["date"], name=h["name"]) for h in item["holidays"]
        )
    calendars = {c.name: c for c in HolidayCalendar.objects.all()}

    for i, item in enumerate(plan.reps):
        try:
            _write_rep(item, teams, calendars, actor, now)
        except ValidationError as exc:
            raise PlaybookError(
                [f"reps[{i}] {item['username']!r}: {m}" for m in exc.messages]
            ) from None
    reps = {r.user.get_username(): r for r in Rep.objects.select_related("user")}

    pools = {p.name: p for p in Pool.objects.all()}
    for item in plan.pools:
        pools[item["name"]] = pool_save(
            pool=pools.get(item["name"]),
            name=item["name"],
            team=teams.get(item["team"]) if item["team"] else None,
            method=item["method"],
            active=item["active"],
            settings=item["settings"],
            members=[Member(reps[m["rep"]].pk, m["weight"]) for m in item["members"]],
        )

    territories = {t.name: t for t in Territory.objects.all()}
    for item in plan.territories:
        territories[item["name"]] = territory_save(
            territory=territories.get(item["name"]),
            name=item["name"],
            parent=None,
            pool=pools[item["pool"]] if item["pool"] else None,
            active=item["active"],
            countries=item["countries"],
            states=item["states"],
            postal_prefixes=item["postal_prefixes"],
            postal_ranges=item["postal_ranges"],
        )
    for item in plan.territories:
        if item["parent"]:
            territory_save(territory=territories[item["name"]], parent=territories[item["parent"]])

    draft_rules_replace(
        rules=[
            {
                "name": r["name"],
                "enabled": r["enabled"],
                "condition": r["condition"],
                "action": r["action"],
                "action_pool": pools[r["pool"]] if r["pool"] else None,
                "action_rep": reps[r["rep"]] if r["rep"] else None,
                "fallback": r["fallback"],
                "fallback_pool": pools[r["fallback_pool"]] if r["fallback_pool"] else None,
            }
            for r in plan.rules
        ],
        actor=actor,
    )

    ScoringRule.objects.all().delete()
    ScoringRule.objects.bulk_create(
        ScoringRule(
            position=i,
            name=s["name"],
            field=s["field"],
            operator=s["operator"],
            value=s.get("value", ""),
            points=s["points"],
            active=s.get("active", True),
        )
        for i, s in enumerate(plan.scoring_rules)
    )
    if plan.pipeline is not None:
        pipeline = PipelineSettings.load()
        for name, value in plan.pipeline.items():
            setattr(pipeline, name, value)
        pipeline.save(update_fields=list(plan.pipeline))

    return ruleset_publish(actor=actor, note=IMPORT_NOTE).version


def playbook_import(data: Any, *, dry_run: bool = False, actor: Any = None) -> ImportReport:
    """Check the whole playbook, then write it in one transaction and publish its rules as
    a new version. Nothing is written when there is any error, nor on a dry run."""
    report = ImportReport(dry_run=dry_run)
    plan, report.errors = _check(data)
    if report.errors:
        return report
    report.counts = {
        "teams": len(plan.teams),
        "reps": len(plan.reps),
        "pools": len(plan.pools),
        "territories": len(plan.territories),
        "rules": len(plan.rules),
    }
    try:
        with transaction.atomic():
            report.version = _write(plan, actor, timezone.now())
            routing_changed()  # the bulk writes above send no model signals
            if dry_run:
                transaction.set_rollback(True)
    except ValidationError as exc:
        report.errors = [f"While writing: {m}" for m in exc.messages]
    except PlaybookError as exc:
        report.errors = exc.errors
    except RoutingError as exc:
        report.errors = [str(exc)]
    return report
