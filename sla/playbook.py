"""The SLA app's playbook sections (docs/playbook.md): business calendars, SLA policies,
webhook subscriptions and Slack webhooks.

Routing owns the playbook but may not import sla, so ``SlaConfig.ready()`` registers these
sections with it (``routing.playbook.register_section``); they are checked, written and
exported with routing's own, in its transaction, and an error in any of them stops the
whole import. Each entry is keyed by its name (a Slack webhook without a name by its URL)
and refers to others by name: a calendar to its holiday calendar, a policy to its
calendar, a subscription to its team, a Slack webhook to its rep (username) or team.

A subscription's signing secret is never exported, and a file that carries one is refused:
on import a new subscription gets a generated secret and an existing one keeps its own
(regenerate it in the admin). Policies are checked as the clocks compile them
(``sla.clocks.compile_policy``), so a condition the clocks would skip is an error here.
"""

from collections.abc import Mapping
from datetime import time
from typing import Any

from django.core.exceptions import ValidationError

from leadhub.db import rows_replace
from leadhub.leads.models import LeadStatus
from routing import engine
from routing.playbook import (
    Checker,
    Refer,
    Section,
    Written,
    names_of,
    register_section,
    sorted_json,
)
from sla.clocks import compile_policy
from sla.models import (
    BusinessCalendar,
    BusinessHours,
    SlackWebhook,
    SlaPolicy,
    SlaStep,
    WebhookSubscription,
    check_business_hours,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How an interval that runs to midnight (stored as 00:00) is written.
MIDNIGHT = "24:00"
POLICY_FIELDS = {
    "active",
    "priority",
    "condition",
    "calendar",
    "accept_minutes",
    "touch_minutes",
    "pause_statuses",
    "steps",
}


def _clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _span(start: time, end: time) -> str:
    return f"{_clock(start)}-{MIDNIGHT if end == time(0) else _clock(end)}"


def _parse_span(value: Any) -> tuple[time, time]:
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError('write an interval as "09:00-17:00"')
    start, end = (part.strip() for part in value.split("-"))
    if end in (MIDNIGHT, f"{MIDNIGHT}:00"):
        return time.fromisoformat(start), time(0)
    return time.fromisoformat(start), time.fromisoformat(end)


def _errors_of(check: Checker, where: str, exc: ValidationError) -> None:
    for message in exc.messages:
        check.error(where, message)


# --- Business calendars -----------------------------------------------------------------


def _export_calendars() -> list[dict[str, Any]]:
    out = []
    for calendar in BusinessCalendar.objects.select_related("holiday_calendar").prefetch_related(
        "hours"
    ):
        hours: dict[str, list[str]] = {}
        for h in sorted(calendar.hours.all(), key=lambda h: (h.weekday, h.start)):
            hours.setdefault(WEEKDAYS[h.weekday], []).append(_span(h.start, h.end))
        out.append(
            {
                "name": calendar.name,
                "timezone": calendar.timezone,
                "holiday_calendar": calendar.holiday_calendar.name
                if calendar.holiday_calendar
                else None,
                "hours": hours,
            }
        )
    return sorted(out, key=lambda c: c["name"])


def _check_calendars(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    for where, item in check.entries(data, "business_calendars"):
        if not check.fields(where, item, {"name", "timezone"}, {"holiday_calendar", "hours"}):
            continue
        check.model(
            where,
            BusinessCalendar(name=item["name"], timezone=item["timezone"]),
            ["holiday_calendar"],
        )
        holidays = refer(
            f"{where}.holiday_calendar", item.get("holiday_calendar"), "holiday calendar"
        )
        rows: list[tuple[int, time, time]] = []
        hours = item.get("hours") or {}
        if check.typed(f"{where}.hours", hours, dict, 'a mapping, e.g. {mon: ["09:00-17:00"]}'):
            for day, spans in hours.items():
                here = f"{where}.hours.{day}"
                if day not in WEEKDAYS:
                    check.error(here, f"unknown day; one of {', '.join(WEEKDAYS)}.")
                    continue
                if not check.typed(here, spans, list, 'a list, e.g. ["09:00-17:00"]'):
                    continue
                for j, span in enumerate(spans):
                    try:
                        start, end = _parse_span(span)
                    except (TypeError, ValueError) as exc:
                        check.error(f"{here}[{j}]", f"{span!r} is not valid ({exc}).")
                        continue
                    rows.append((WEEKDAYS.index(day), start, end))
            try:
                check_business_hours(rows)
            except ValidationError as exc:
                _errors_of(check, f"{where}.hours", exc)
        plan.append(
            {
                "name": item["name"],
                "timezone": item["timezone"],
                "holiday_calendar": holidays,
                "hours": sorted(rows),
            }
        )
    return plan


def _write_calendars(plan: list[dict], written: Written) -> None:
    existing = {c.name: c for c in BusinessCalendar.objects.all()}
    for item in plan:
        calendar = existing.get(item["name"]) or BusinessCalendar(name=item["name"])
        calendar.timezone = item["timezone"]
        name = item["holiday_calendar"]
        calendar.holiday_calendar = written.holiday_calendars[name] if name else None
        calendar.full_clean()
        calendar.save()
        rows_replace(
            calendar.hours.all(),
            (
                BusinessHours(calendar=calendar, weekday=weekday, start=start, end=end)
                for weekday, start, end in item["hours"]
            ),
            # Intervals of a day never overlap: their start tells them apart.
            key=lambda row: (row.weekday, row.start),
            fields=["end"],
        )


# --- SLA policies -----------------------------------------------------------------------


def _export_policies() -> list[dict[str, Any]]:
    policies = (
        SlaPolicy.objects.select_related("calendar")
        .prefetch_related("steps")
        .order_by("priority", "name")
    )
    return [
        {
            "name": p.name,
            "active": p.active,
            "priority": p.priority,
            "condition": sorted_json(p.condition),
            "calendar": p.calendar.name if p.calendar else None,
            "accept_minutes": p.accept_minutes,
            "touch_minutes": p.touch_minutes,
            "pause_statuses": list(p.pause_statuses),
            "steps": [
                {"action": s.action, "minutes": s.minutes, "times": s.times}
                for s in sorted(p.steps.all(), key=lambda s: (s.position, s.pk))
            ],
        }
        for p in policies
    ]


def _check_steps(check: Checker, where: str, steps: Any) -> list[SlaStep]:
    out: list[SlaStep] = []
    if not check.typed(f"{where}.steps", steps, list, "a list"):
        return out
    for j, step in enumerate(steps):
        here = f"{where}.steps[{j}]"
        if not check.typed(here, step, dict, "a mapping") or not check.fields(
            here, step, {"action"}, {"minutes", "times"}
        ):
            continue
        row = SlaStep(
            position=j,
            action=step["action"],
            minutes=step.get("minutes", 0),
            times=step.get("times", 1),
        )
        errors = len(check.errors)
        check.model(here, row, ["policy"])
        if isinstance(row.times, int) and row.times < 1:
            check.error(f"{here}.times", "must be 1 or more.")
        if len(check.errors) == errors:
            out.append(row)
    return out


def _check_policies(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    check.unique("sla_policies", names_of(data, "sla_policies"))
    statuses = LeadStatus.values
    for where, item in check.entries(data, "sla_policies"):
        if not check.fields(where, item, {"name"}, POLICY_FIELDS):
            continue
        errors = len(check.errors)
        policy = SlaPolicy(
            name=item["name"],
            active=item.get("active", True),
            priority=item.get("priority", 100),
            condition=item.get("condition") or {},
            accept_minutes=item.get("accept_minutes"),
            touch_minutes=item.get("touch_minutes"),
            pause_statuses=item.get("pause_statuses") or [],
        )
        check.model(where, policy, ["calendar"])
        calendar = refer(f"{where}.calendar", item.get("calendar"), "business calendar")
        if check.typed(f"{where}.pause_statuses", policy.pause_statuses, list, "a list"):
            for j, status in enumerate(policy.pause_statuses):
                if status not in statuses:
                    check.error(
                        f"{where}.pause_statuses[{j}]",
                        f"unknown lead status {status!r}; one of {', '.join(statuses)}.",
                    )
        steps = _check_steps(check, where, item.get("steps", []))
        try:
            # The clocks' own compilation, on a policy without its calendar (which may not
            # exist yet): the calendar's hours are checked with the calendar.
            compile_policy(policy, steps)
        except engine.RuleError as exc:
            check.error(f"{where}.{exc.path}", exc.message)
        except ValueError as exc:
            check.error(where, str(exc))
        if len(check.errors) > errors:
            continue
        plan.append(
            {
                "name": policy.name,
                "active": policy.active,
                "priority": policy.priority,
                "condition": policy.condition,
                "calendar": calendar,
                "accept_minutes": policy.accept_minutes,
                "touch_minutes": policy.touch_minutes,
                "pause_statuses": policy.pause_statuses,
                "steps": [(s.action, s.minutes, s.times) for s in steps],
            }
        )
    return plan


def _write_policies(plan: list[dict], written: Written) -> None:
    existing = {p.name: p for p in SlaPolicy.objects.all()}
    calendars = {c.name: c for c in BusinessCalendar.objects.all()}
    for item in plan:
        policy = existing.get(item["name"]) or SlaPolicy(name=item["name"])
        for name in ("active", "priority", "condition", "accept_minutes", "touch_minutes"):
            setattr(policy, name, item[name])
        policy.pause_statuses = item["pause_statuses"]
        policy.calendar = calendars[item["calendar"]] if item["calendar"] else None
        policy.full_clean()
        policy.save()
        rows_replace(
            policy.steps.all(),
            (
                SlaStep(policy=policy, position=i, action=action, minutes=minutes, times=times)
                for i, (action, minutes, times) in enumerate(item["steps"])
            ),
            key=lambda row: row.position,
            fields=["action", "minutes", "times"],
        )


# --- Webhook subscriptions --------------------------------------------------------------


def _export_webhooks() -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "url": s.url,
            "events": list(s.events),
            "team": s.team.name if s.team else None,
            "active": s.active,
        }
        for s in WebhookSubscription.objects.select_related("team").order_by("name")
    ]


def _check_webhooks(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    check.unique("webhooks", names_of(data, "webhooks"))
    for where, item in check.entries(data, "webhooks"):
        if "secret" in item:
            check.error(
                f"{where}.secret",
                "a playbook never holds a secret: a new subscription gets a generated one, "
                "an existing one keeps its own (regenerate it in the admin).",
            )
            item = {k: v for k, v in item.items() if k != "secret"}
        if not check.fields(where, item, {"name", "url", "events"}, {"team", "active"}):
            continue
        subscription = WebhookSubscription(
            name=item["name"],
            url=item["url"],
            events=item["events"],
            active=item.get("active", True),
        )
        check.model(where, subscription, ["team", "secret"])
        plan.append(
            {
                "name": item["name"],
                "url": item["url"],
                "events": item["events"],
                "active": subscription.active,
                "team": refer(f"{where}.team", item.get("team"), "team"),
            }
        )
    return plan


def _write_webhooks(plan: list[dict], written: Written) -> None:
    existing = {s.name: s for s in WebhookSubscription.objects.all()}
    for item in plan:
        # An existing subscription keeps its secret; a new one gets the model's default.
        subscription = existing.get(item["name"]) or WebhookSubscription(name=item["name"])
        subscription.url, subscription.events = item["url"], item["events"]
        subscription.active = item["active"]
        subscription.team = written.teams[item["team"]] if item["team"] else None
        subscription.full_clean()
        subscription.save()


# --- Slack webhooks ---------------------------------------------------------------------


def _slack_key(item: Mapping[str, Any]) -> Any:
    """A Slack webhook is known by its name, or by its URL when it has none."""
    return item.get("name") or item.get("url")


def _export_slack() -> list[dict[str, Any]]:
    hooks = SlackWebhook.objects.select_related("rep__user", "team").order_by("name", "url", "pk")
    return [
        {
            "name": h.name,
            "url": h.url,
            "rep": h.rep.user.get_username() if h.rep else None,
            "team": h.team.name if h.team else None,
            "active": h.active,
        }
        for h in hooks
    ]


def _stored_slack(key: str) -> list[SlackWebhook]:
    hooks = SlackWebhook.objects.filter(name=key) | SlackWebhook.objects.filter(name="", url=key)
    return list(hooks.order_by("pk"))


def _check_slack(check: Checker, data: Mapping[str, Any], refer: Refer) -> list[dict]:
    plan = []
    seen: set[str] = set()
    for where, item in check.entries(data, "slack_webhooks"):
        if not check.fields(where, item, {"url"}, {"name", "rep", "team", "active"}):
            continue
        hook = SlackWebhook(
            name=item.get("name") or "", url=item["url"], active=item.get("active", True)
        )
        check.model(where, hook, ["rep", "team"])
        key = _slack_key(item)
        if isinstance(key, str):
            if key in seen:
                check.error(where, "is listed twice (same name, or no name and the same url).")
            seen.add(key)
            if len(_stored_slack(key)) > 1:
                check.error(
                    where,
                    f"several stored Slack webhooks are known as {key!r}; "
                    "give them different names in the admin first.",
                )
        rep = refer(f"{where}.rep", item.get("rep"), "rep")
        team = refer(f"{where}.team", item.get("team"), "team")
        if (item.get("rep") is None) == (item.get("team") is None):
            check.error(where, "needs a rep or a team, not both and not neither.")
        plan.append(
            {
                "key": key,
                "name": hook.name,
                "url": hook.url,
                "rep": rep,
                "team": team,
                "active": hook.active,
            }
        )
    return plan


def _write_slack(plan: list[dict], written: Written) -> None:
    for item in plan:
        stored = _stored_slack(item["key"])
        hook = stored[0] if stored else SlackWebhook()
        hook.name, hook.url, hook.active = item["name"], item["url"], item["active"]
        hook.rep = written.reps[item["rep"]] if item["rep"] else None
        hook.team = written.teams[item["team"]] if item["team"] else None
        hook.full_clean()
        hook.save()


SECTIONS = (
    Section(
        name="business_calendars",
        export=_export_calendars,
        check=_check_calendars,
        write=_write_calendars,
        kind="business calendar",
        stored=lambda: BusinessCalendar.objects.values_list("name", flat=True),
    ),
    Section(
        name="sla_policies",
        export=_export_policies,
        check=_check_policies,
        write=_write_policies,
    ),
    Section(name="webhooks", export=_export_webhooks, check=_check_webhooks, write=_write_webhooks),
    Section(name="slack_webhooks", export=_export_slack, check=_check_slack, write=_write_slack),
)


def register_sections() -> None:
    """Add the SLA sections to routing's playbook (from ``SlaConfig.ready()``)."""
    for section in SECTIONS:
        register_section(section)
