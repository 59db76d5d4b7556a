"""Checking: the whole file read into clean values (a plan per section), every error
collected with the entry and the field it is about; nothing is written here.

Each of routing's sections has its checker here, with the signature every registered
section's has (``Section.check``); ``playbook_check`` runs them all, routing's then the
registered ones, over one ``Checker``. An entry with a field missing or unknown is still
checked field by field, so that a file's every error is reported in one run."""

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from leadhub.leads.models import PipelineSettings, ScoringRule
from reps.models import (
    Holiday,
    HolidayCalendar,
    Rep,
    Skill,
    Team,
    check_time_off,
    check_working_hours,
)
from routing.config_services import check_pool_settings, check_rule
from routing.models import Pool, Rule, Territory
from routing.playbook.base import (
    FORMAT,
    Checker,
    Refer,
    Section,
    convert,
    names_of,
    parse_date,
    parse_instant,
    parse_time,
    sections,
)

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
    "max_escalated",
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
    "max_escalated",
)
POOL_OPTIONAL = {"team", "method", "active", "settings", "members"}
TERRITORY_OPTIONAL = {
    "parent",
    "pool",
    "active",
    "countries",
    "states",
    "postal_prefixes",
    "postal_ranges",
}
TERRITORY_LISTS = ("countries", "states", "postal_prefixes")
RULE_OPTIONAL = {"enabled", "condition", "action", "pool", "rep", "fallback", "fallback_pool"}
SCORING_REQUIRED = {"name", "field", "operator", "points"}
PIPELINE_REQUIRED = {"sales_ready_score", "nurture_below_score", "routing_required_fields"}

# What the plan holds: each section's checked entries, by section name.
Plan = dict[str, Any]


def playbook_check(data: Any) -> tuple[Plan, list[str]]:
    """The file read into a plan per section, with every error found (none: it imports)."""
    if not isinstance(data, dict):
        return {}, ["The playbook must be a mapping of sections (see docs/playbook.md)."]
    check = Checker()
    every = sections()
    for name in sorted(set(data) - {"format", *(s.name for s in every)}):
        check.error(name, "unknown section.")
    if data.get("format", FORMAT) != FORMAT:
        check.error("format", f"this LeadHub reads format {FORMAT}, not {data['format']!r}.")
    for where in _with_nul(data, ""):
        check.error(where, "contains a NUL character (\\0), which cannot be stored.")
    refer = _referrer(check, _known(check, data, every))
    return {s.name: s.check(check, data, refer) for s in every}, check.errors


def _with_nul(value: Any, where: str) -> Iterator[str]:
    """The places of the texts (values or keys) holding a NUL, which PostgreSQL refuses."""
    if isinstance(value, str) and "\x00" in value:
        yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield f"{where}.{key!r}" if where else repr(key)
            else:
                yield from _with_nul(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _with_nul(item, f"{where}[{i}]")


def _known(
    check: Checker, data: Mapping[str, Any], every: tuple[Section, ...]
) -> dict[str, set[str]]:
    """The names each kind of reference may use, those of the file's entries and those
    already stored; the file's own are checked for duplicates on the way."""
    known: dict[str, set[str]] = {}
    for section in every:
        if section.kind is None:
            continue
        names = names_of(data, section.name, section.key)
        check.unique(section.name, names)
        stored = set(section.stored()) if section.stored is not None else set()
        known[section.kind] = set(names) | stored
    return known


def _referrer(check: Checker, known: dict[str, set[str]]) -> Refer:
    def refer(where: str, value: Any, kind: str, *, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in known[kind]:
            check.error(where, f"unknown {kind} {value!r}.")
            return None
        return value

    return refer


def _model(
    check: Checker,
    where: str,
    instance: Any,
    exclude: list[str],
    item: Mapping[str, Any],
    required: Iterable[str],
) -> None:
    """The model's own validation of an entry. ``Checker.fields`` has reported the
    required fields the entry lacks, so they are left out here; and the model's
    ``clean()``, which would judge their defaults, runs only when none is missing."""
    missing = [name for name in required if name not in item]
    check.model(where, instance, [*exclude, *missing], whole=not missing)


# --- Teams, skills, holiday calendars ---------------------------------------------------


def check_teams(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "teams"):
        ok = check.fields(where, item, {"name"}, {"region", "timezone"})
        team = Team(
            name=item.get("name", ""),
            region=item.get("region", ""),
            timezone=item.get("timezone", "UTC"),
        )
        _model(check, where, team, [], item, ["name"])
        if ok:
            plan.append(item)
    return plan


def check_skills(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "skills"):
        ok = check.fields(where, item, {"name"}, {"description"})
        skill = Skill(name=item.get("name", ""), description=item.get("description", ""))
        _model(check, where, skill, [], item, ["name"])
        if ok:
            plan.append(item)
    return plan


def check_holiday_calendars(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "holiday_calendars"):
        ok = check.fields(where, item, {"name"}, {"holidays"})
        calendar = HolidayCalendar(name=item.get("name", ""))
        _model(check, where, calendar, [], item, ["name"])
        holidays = _check_holidays(check, where, item.get("holidays", []))
        if ok:
            plan.append({"name": item["name"], "holidays": holidays})
    return plan


def _check_holidays(check: Checker, where: str, items: Any) -> list[dict]:
    holidays: list[dict] = []
    if not check.typed(f"{where}.holidays", items, list, "a list"):
        return holidays
    days: set[date] = set()
    for j, h in enumerate(items):
        here = f"{where}.holidays[{j}]"
        if not check.typed(here, h, dict, "a mapping"):
            continue
        ok = check.fields(here, h, {"date", "name"}, set())
        day = convert(check, f"{here}.date", h["date"], parse_date) if "date" in h else None
        if day is not None:
            if day in days:
                check.error(f"{here}.date", f"{day} is listed twice.")
            days.add(day)
        holiday = Holiday(date=day, name=h.get("name", ""))
        _model(check, here, holiday, ["calendar", "date"], h, ["name"])
        if ok:
            holidays.append({"date": day, "name": h["name"]})
    return holidays


# --- Reps ---------------------------------------------------------------------------------


def check_reps(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "reps"):
        ok = check.fields(where, item, REP_REQUIRED, REP_OPTIONAL)
        rep = _check_rep(check, where, item, refer)
        if ok:
            plan.append(rep)
    return plan


def _check_rep(check: Checker, where: str, item: Mapping[str, Any], refer: Refer) -> dict:
    team = refer(f"{where}.team", item["team"], "team", optional=False) if "team" in item else None
    calendar = refer(f"{where}.holiday_calendar", item.get("holiday_calendar"), "holiday calendar")
    skills = item.get("skills", [])
    if check.typed(f"{where}.skills", skills, list, "a list"):
        for j, name in enumerate(skills):
            refer(f"{where}.skills[{j}]", name, "skill", optional=False)
    values = _check_rep_values(check, where, item)
    for name in ("first_name", "last_name", "email"):
        if name in item:
            check.typed(f"{where}.{name}", item[name], str, "text")
    return {
        "username": item.get("username"),
        "first_name": item.get("first_name", ""),
        "last_name": item.get("last_name", ""),
        "email": item.get("email", ""),
        "team": team,
        "holiday_calendar": calendar,
        "skills": skills if isinstance(skills, list) else [],
        "working_hours": _check_working_hours(check, where, item.get("working_hours", [])),
        "time_off": _check_time_off(check, where, item.get("time_off", [])),
        "fields": values,
    }


def _check_rep_values(check: Checker, where: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The rep's own model fields, as the model validates them."""
    values = {name: item[name] for name in REP_MODEL_FIELDS if name in item}
    if "ramp_until" in item:
        values["ramp_until"] = (
            None
            if item["ramp_until"] is None
            else convert(check, f"{where}.ramp_until", item["ramp_until"], parse_date)
        )
    if "ramp_share" in item:
        try:
            values["ramp_share"] = Decimal(str(item["ramp_share"])).quantize(Decimal("0.01"))
        except InvalidOperation:
            check.error(f"{where}.ramp_share", f"{item['ramp_share']!r} is not a number.")
    check.model(where, Rep(**values), ["user", "team", "holiday_calendar"])
    return values


def _check_working_hours(check: Checker, where: str, items: Any) -> list[tuple]:
    hours: list[tuple] = []
    if not check.typed(f"{where}.working_hours", items, list, "a list"):
        return hours
    for j, h in enumerate(items):
        here = f"{where}.working_hours[{j}]"
        if check.typed(here, h, dict, "a mapping") and check.fields(
            here, h, {"weekday", "start", "end"}, set()
        ):
            start = convert(check, f"{here}.start", h["start"], parse_time)
            end = convert(check, f"{here}.end", h["end"], parse_time)
            if check.typed(f"{here}.weekday", h["weekday"], int, "0 (Monday) to 6 (Sunday)"):
                hours.append((h["weekday"], start, end))
    complete = [h for h in hours if None not in h]
    # Each interval alone, so that every bad one is named, then the good ones together
    # for overlaps: check_working_hours stops at the first problem.
    good = [h for h in complete if _working_hours_ok(check, where, [h])]
    _working_hours_ok(check, where, good)
    return hours


def _working_hours_ok(check: Checker, where: str, hours: list[tuple]) -> bool:
    try:
        check_working_hours(hours)
    except ValidationError as exc:
        for message in exc.messages:
            check.error(f"{where}.working_hours", message)
        return False
    return True


def _check_time_off(check: Checker, where: str, items: Any) -> list[tuple]:
    time_off: list[tuple] = []
    if not check.typed(f"{where}.time_off", items, list, "a list"):
        return time_off
    for j, t in enumerate(items):
        here = f"{where}.time_off[{j}]"
        if check.typed(here, t, dict, "a mapping") and check.fields(
            here, t, {"start", "end"}, {"reason"}
        ):
            start = convert(check, f"{here}.start", t["start"], parse_instant)
            end = convert(check, f"{here}.end", t["end"], parse_instant)
            if start and end:
                if start >= end:
                    check.error(here, "the end must be after the start.")
                time_off.append((start, end, str(t.get("reason", ""))))
    try:
        check_time_off([(start, end) for start, end, _reason in time_off if start < end])
    except ValidationError as exc:
        for message in exc.messages:
            check.error(f"{where}.time_off", message)
    return sorted(time_off)


# --- Pools and territories ----------------------------------------------------------------


def check_pools(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "pools"):
        ok = check.fields(where, item, {"name"}, POOL_OPTIONAL)
        settings = item.get("settings") or {}
        try:
            check_pool_settings(settings)
        except ValidationError as exc:
            for message in exc.message_dict["settings"]:
                check.error(f"{where}.settings", message)
        pool = Pool(
            name=item.get("name", ""),
            method=item.get("method", Pool.Method.ROUND_ROBIN),
            active=item.get("active", True),
            settings=settings,
        )
        _model(check, where, pool, ["team"], item, ["name"])
        members = _check_members(check, where, item.get("members", []), refer)
        team = refer(f"{where}.team", item.get("team"), "team")
        if ok:
            plan.append(
                {
                    "name": item["name"],
                    "team": team,
                    "method": pool.method,
                    "active": pool.active,
                    "settings": settings,
                    "members": members,
                }
            )
    return plan


def _check_members(check: Checker, where: str, items: Any, refer: Refer) -> list[dict]:
    members: list[dict] = []
    if not check.typed(f"{where}.members", items, list, "a list"):
        return members
    for j, m in enumerate(items):
        here = f"{where}.members[{j}]"
        if not check.typed(here, m, dict, "a mapping"):
            continue
        ok = check.fields(here, m, {"rep"}, {"weight"})
        username = refer(here, m["rep"], "rep", optional=False) if "rep" in m else None
        weight = m.get("weight")
        if weight is not None and not (
            isinstance(weight, int) and not isinstance(weight, bool) and weight >= 0
        ):
            check.error(f"{here}.weight", f"must be a whole number or null, not {weight!r}.")
            continue
        if username is not None and username in {x["rep"] for x in members}:
            check.error(here, f"{username!r} is listed twice.")
        if ok:
            members.append({"rep": username, "weight": weight})
    return members


def check_territories(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    parents: dict[str, str | None] = {}
    for where, item in check.entries(data, "territories"):
        ok = check.fields(where, item, {"name"}, TERRITORY_OPTIONAL)
        territory = _check_territory(check, where, item, refer)
        if "name" in item:
            parents[item["name"]] = territory["parent"]
        if ok:
            plan.append(territory)
    for name in parents:
        seen, current = {name}, parents[name]
        while current is not None and current in parents:
            if current in seen:
                check.error(f"territories {name!r}.parent", "the parents form a loop.")
                break
            seen.add(current)
            current = parents[current]
    return plan


def _check_territory(
    check: Checker, where: str, item: Mapping[str, Any], refer: Refer
) -> dict[str, Any]:
    values = {}
    for name in TERRITORY_LISTS:
        value = item.get(name, [])
        if check.typed(f"{where}.{name}", value, list, "a list") and not all(
            isinstance(v, str) for v in value
        ):
            check.error(f"{where}.{name}", "must be a list of text.")
        values[name] = value
    ranges = item.get("postal_ranges", [])
    if not isinstance(ranges, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(v, str) for v in r) for r in ranges
    ):
        check.error(f"{where}.postal_ranges", 'must be a list of ["from", "to"] pairs.')
    territory = Territory(name=item.get("name", ""), active=item.get("active", True), **values)
    _model(check, where, territory, ["parent", "pool", "postal_ranges"], item, ["name"])
    parent = refer(f"{where}.parent", item.get("parent"), "territory")
    if parent is not None and parent == item.get("name"):
        check.error(f"{where}.parent", "a territory cannot be its own parent.")
    return {
        **values,
        "name": item.get("name"),
        "active": territory.active,
        "postal_ranges": ranges,
        "parent": parent,
        "pool": refer(f"{where}.pool", item.get("pool"), "pool"),
    }


# --- Rules, scoring rules, pipeline settings ----------------------------------------------


def check_rules(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "rules"):
        ok = check.fields(where, item, {"name", "action"}, RULE_OPTIONAL)
        rule = {
            "name": item.get("name", ""),
            "enabled": item.get("enabled", True),
            "condition": item.get("condition") or {},
            "action": item.get("action"),
            "pool": refer(f"{where}.pool", item.get("pool"), "pool"),
            "rep": refer(f"{where}.rep", item.get("rep"), "rep"),
            "fallback": item.get("fallback", Rule.Fallback.TRIAGE),
            "fallback_pool": refer(f"{where}.fallback_pool", item.get("fallback_pool"), "pool"),
        }
        model = Rule(
            name=rule["name"],
            enabled=rule["enabled"],
            condition=rule["condition"],
            action=rule["action"],
            fallback=rule["fallback"],
        )
        _model(check, where, model, ["ruleset"], item, ["name", "action"])
        _check_compiles(check, where, rule)
        if rule["action"] not in (Rule.Action.POOL, Rule.Action.REP) and (
            rule["pool"] or rule["rep"]
        ):
            check.error(f"{where}.action", f"{rule['action']!r} takes no pool or rep.")
        if ok:
            plan.append(rule)
    return plan


def _check_compiles(check: Checker, where: str, rule: Mapping[str, Any]) -> None:
    """The rule compiled as the engine compiles it at publication. The engine stops at the
    first problem, so the condition, the action and the fallback are compiled apart (each
    with harmless stand-ins for the other two): a bad condition does not hide a bad
    action."""
    target = rule["pool"] if rule["action"] == Rule.Action.POOL else rule["rep"]
    actual = {
        "condition": rule["condition"],
        "action": rule["action"],
        "action_target": 0 if target else None,
        "fallback": rule["fallback"],
        "fallback_pool": 0 if rule["fallback_pool"] else None,
    }
    neutral = {
        "condition": {},
        "action": Rule.Action.TRIAGE,
        "action_target": None,
        "fallback": Rule.Fallback.TRIAGE,
        "fallback_pool": None,
    }
    parts = [("condition",), ("fallback", "fallback_pool")]
    if rule["action"] is not None:
        parts.insert(1, ("action", "action_target"))
    for part in parts:
        try:
            check_rule(**{**neutral, **{name: actual[name] for name in part}})
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                for message in messages:
                    check.errors.append(message.replace("rules[0]", where.split(" ")[0], 1))


def check_scoring_rules(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "scoring_rules"):
        ok = check.fields(where, item, SCORING_REQUIRED, {"value", "active"})
        scoring = ScoringRule(
            name=item.get("name", ""),
            field=item.get("field", ""),
            operator=item.get("operator", ""),
            value=item.get("value", ""),
            points=item.get("points", 0),
            active=item.get("active", True),
        )
        _model(check, where, scoring, [], item, SCORING_REQUIRED)
        if ok:
            plan.append(item)
    return plan


def check_pipeline(check: Checker, data: Mapping[str, Any], refer: Refer) -> dict | None:
    pipeline = data.get("pipeline")
    if pipeline is None or not check.typed("pipeline", pipeline, dict, "a mapping"):
        return None
    ok = check.fields("pipeline", pipeline, PIPELINE_REQUIRED, set())
    values = {name: pipeline[name] for name in PIPELINE_REQUIRED if name in pipeline}
    _model(check, "pipeline", PipelineSettings(**values), [], pipeline, PIPELINE_REQUIRED)
    return dict(pipeline) if ok else None
