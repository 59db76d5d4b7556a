"""Checking: the whole file read into clean values (a ``Plan``), every error collected
with the entry and the field it is about; nothing is written here."""

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    SECTIONS,
    Checker,
    convert,
    extra_sections,
    names_of,
    parse_date,
    parse_instant,
    parse_time,
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


@dataclass
class Plan:
    teams: list[dict[str, Any]] = field(default_factory=list)
    skills: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[dict[str, Any]] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    territories: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    scoring_rules: list[dict[str, Any]] = field(default_factory=list)
    pipeline: dict[str, Any] | None = None
    # The registered sections' plans, by section name.
    extra: dict[str, Any] = field(default_factory=dict)


def playbook_check(data: Any) -> tuple[Plan, list[str]]:
    """The file read into a ``Plan``, with every error found (none: it imports)."""
    check = Checker()
    plan = Plan()
    if not isinstance(data, dict):
        return plan, ["The playbook must be a mapping of sections (see docs/playbook.md)."]
    extra = extra_sections()
    for name in sorted(set(data) - {"format", *SECTIONS, *(s.name for s in extra)}):
        check.error(name, "unknown section.")
    if data.get("format", FORMAT) != FORMAT:
        check.error("format", f"this LeadHub reads format {FORMAT}, not {data['format']!r}.")

    known = {
        "team": set(names_of(data, "teams")) | set(Team.objects.values_list("name", flat=True)),
        "skill": set(names_of(data, "skills")) | set(Skill.objects.values_list("name", flat=True)),
        "holiday calendar": set(names_of(data, "holiday_calendars"))
        | set(HolidayCalendar.objects.values_list("name", flat=True)),
        "rep": set(names_of(data, "reps", "username"))
        | set(Rep.objects.values_list("user__username", flat=True)),
        "pool": set(names_of(data, "pools")) | set(Pool.objects.values_list("name", flat=True)),
        "territory": set(names_of(data, "territories"))
        | set(Territory.objects.values_list("name", flat=True)),
    }
    for section in extra:
        if section.kind is not None:
            stored = set(section.stored()) if section.stored is not None else set()
            known[section.kind] = set(names_of(data, section.name, section.key)) | stored
            check.unique(section.name, names_of(data, section.name, section.key))

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
        check.unique(section, names_of(data, section, key))

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
                day = convert(check, f"{here}.date", h["date"], parse_date)
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

    for section in extra:
        plan.extra[section.name] = section.check(check, data, ref)
    return plan, check.errors


def _check_rep(check: Checker, where: str, item: Mapping[str, Any], ref) -> dict | None:
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
            else convert(check, f"{where}.ramp_until", item["ramp_until"], parse_date)
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
                start = convert(check, f"{here}.start", h["start"], parse_time)
                end = convert(check, f"{here}.end", h["end"], parse_time)
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
