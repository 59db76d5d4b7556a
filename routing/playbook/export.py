"""Export: the set-up read into plain data keyed by names, a function per routing's
section, and written as YAML."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import yaml
from django.utils import timezone

from leadhub.leads.models import PipelineSettings, ScoringRule
from reps.models import HolidayCalendar, Rep, Skill, Team
from routing.models import Pool, Rule, RuleSet, Territory
from routing.playbook.base import FORMAT, PlaybookError, instant, sections, sorted_json
from routing.selectors import ruleset_in_force


def export_teams() -> list[dict[str, Any]]:
    return [
        {"name": t.name, "region": t.region, "timezone": t.timezone}
        for t in Team.objects.order_by("name")
    ]


def export_skills() -> list[dict[str, Any]]:
    return [{"name": s.name, "description": s.description} for s in Skill.objects.order_by("name")]


def export_holiday_calendars() -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "holidays": [
                {"date": h.date.isoformat(), "name": h.name}
                for h in sorted(c.holidays.all(), key=lambda h: h.date)
            ],
        }
        for c in HolidayCalendar.objects.prefetch_related("holidays").order_by("name")
    ]


def export_reps() -> list[dict[str, Any]]:
    now = timezone.now()
    reps = (
        Rep.objects.select_related("user", "team", "holiday_calendar")
        .prefetch_related("skills", "working_hours", "time_off")
        .order_by("user__username")
    )
    return [_export_rep(rep, now) for rep in reps]


def _export_rep(rep: Rep, now: datetime) -> dict[str, Any]:
    user = rep.user
    return {
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
            {"start": instant(t.start), "end": instant(t.end), "reason": t.reason}
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
        "max_escalated": rep.max_escalated,
    }


def export_pools() -> list[dict[str, Any]]:
    pools = Pool.objects.select_related("team").prefetch_related("members__rep__user")
    return [
        {
            "name": p.name,
            "team": p.team.name if p.team else None,
            "method": p.method,
            "active": p.active,
            "settings": sorted_json(p.settings),
            "members": [
                {"rep": m.rep.user.get_username(), "weight": m.weight}
                for m in sorted(p.members.all(), key=lambda m: (m.position, m.pk))
            ],
        }
        for p in pools.order_by("name")
    ]


def export_territories() -> list[dict[str, Any]]:
    return [
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
    ]


def export_rules() -> list[dict[str, Any]]:
    ruleset = ruleset_in_force()
    return [] if ruleset is None else export_ruleset(ruleset)


def export_ruleset(ruleset: RuleSet) -> list[dict[str, Any]]:
    """A rule set's rules as the playbook holds them, in evaluation order (the draft's or
    any version's: the admin compares two with ``routing.playbook.diff``)."""
    rules = (
        Rule.objects.filter(ruleset=ruleset)
        .select_related("action_pool", "action_rep__user", "fallback_pool")
        .order_by("position", "pk")
    )
    return [
        {
            "name": r.name,
            "enabled": r.enabled,
            "condition": sorted_json(r.condition),
            "action": r.action,
            "pool": r.action_pool.name if r.action_pool else None,
            "rep": r.action_rep.user.get_username() if r.action_rep else None,
            "fallback": r.fallback,
            "fallback_pool": r.fallback_pool.name if r.fallback_pool else None,
        }
        for r in rules
    ]


def export_scoring_rules() -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "field": s.field,
            "operator": s.operator,
            "value": s.value,
            "points": s.points,
            "active": s.active,
        }
        for s in ScoringRule.objects.order_by("position", "pk")
    ]


def export_pipeline() -> dict[str, Any]:
    pipeline = PipelineSettings.load()
    return {
        "sales_ready_score": pipeline.sales_ready_score,
        "nurture_below_score": pipeline.nurture_below_score,
        "routing_required_fields": list(pipeline.routing_required_fields),
    }


def playbook_export() -> dict[str, Any]:
    """The set-up as plain data keyed by names: routing's sections, then the registered
    ones; see docs/playbook.md."""
    return {"format": FORMAT, **{section.name: section.export() for section in sections()}}


def playbook_dump(data: Mapping[str, Any]) -> str:
    """The playbook as YAML, sections and fields in the order ``playbook_export`` gives."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)


def playbook_load(text: str) -> Any:
    """Parse a playbook file; a YAML syntax error is a PlaybookError."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError([f"Not valid YAML: {exc}"]) from None
