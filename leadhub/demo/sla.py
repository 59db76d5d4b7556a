"""The demo's SLA set-up: a US business-hours calendar and three policies.

- **Demo requests** (asked for a demo on a form, or came from the demo-request form):
  accept within 5 minutes and touch within 15, around the clock; a reminder 2 minutes
  before a deadline, then on each miss: reassign (twice), escalate to the manager, triage.
- **Content downloads**: first touch within 1 business hour of "US business hours"
  (America/New_York, Mon-Fri 09:00-17:00, closed on the United States holidays); a
  reminder 15 minutes before, then an escalation.
- **Inbound leads** (every other lead): accept within an hour and touch within eight,
  around the clock; a reminder 10 minutes before, then one reassignment and an escalation.

All stand still while a lead is in nurture. Created before the month of demo leads is
played out (demo/story.py), so the story's leads get their clocks as they are routed, and
the story's SLA sweeps end them met or breached in the past.

Idempotent like the rest of the demo: each row is created when missing, by name, and never
overwritten.
"""

from datetime import time
from typing import Any

from reps.models import HolidayCalendar
from sla.models import BusinessCalendar, BusinessHours, SlaPolicy, SlaStep

CALENDAR = "US business hours"
CALENDAR_TIMEZONE = "America/New_York"
HOLIDAYS = "United States"
OPEN, CLOSE = time(9), time(17)
PAUSE = ["nurture"]

DEMO_REQUESTS = "Demo requests"
CONTENT_DOWNLOADS = "Content downloads"
INBOUND = "Inbound leads"
# (name, priority, condition, business calendar?, accept, touch, steps)
POLICIES: list[tuple[str, int, dict[str, Any], bool, int | None, int, list[tuple]]] = [
    (
        DEMO_REQUESTS,
        10,
        {
            "any": [
                {"field": "intent_signals", "op": "contains", "value": "demo_request"},
                {"field": "source", "op": "eq", "value": "demo_request"},
            ]
        },
        False,
        5,
        15,
        # (action, minutes, times)
        [("remind", 2, 1), ("reassign", 0, 2), ("escalate", 0, 1), ("triage", 0, 1)],
    ),
    (
        CONTENT_DOWNLOADS,
        20,
        {"field": "source", "op": "eq", "value": "content_download"},
        True,
        None,
        60,
        [("remind", 15, 1), ("escalate", 0, 1)],
    ),
    (INBOUND, 30, {}, False, 60, 480, [("remind", 10, 1), ("reassign", 0, 1), ("escalate", 0, 1)]),
]


def seed_sla() -> dict[str, int]:
    """The calendar and the policies that are missing. Returns what it made."""
    created = {"business calendars": 0, "SLA policies": 0}
    calendar = BusinessCalendar.objects.filter(name=CALENDAR).first()
    if calendar is None:
        calendar = BusinessCalendar(
            name=CALENDAR,
            timezone=CALENDAR_TIMEZONE,
            holiday_calendar=HolidayCalendar.objects.filter(name=HOLIDAYS).first(),
        )
        calendar.full_clean()
        calendar.save()
        BusinessHours.objects.bulk_create(
            BusinessHours(calendar=calendar, weekday=day, start=OPEN, end=CLOSE) for day in range(5)
        )
        created["business calendars"] += 1

    existing = set(SlaPolicy.objects.values_list("name", flat=True))
    for name, priority, condition, in_hours, accept, touch, steps in POLICIES:
        if name in existing:
            continue
        policy = SlaPolicy(
            name=name,
            priority=priority,
            condition=condition,
            calendar=calendar if in_hours else None,
            accept_minutes=accept,
            touch_minutes=touch,
            pause_statuses=PAUSE,
        )
        policy.full_clean()
        policy.save()
        SlaStep.objects.bulk_create(
            SlaStep(policy=policy, position=i, action=action, minutes=minutes, times=times)
            for i, (action, minutes, times) in enumerate(steps)
        )
        created["SLA policies"] += 1
    return created
