"""The SLA app's lint checks (sla.lint), run by routing's lint through its registry."""

from datetime import time

import pytest
from django.core.management import call_command

from routing.lint import database_lint
from sla.models import BusinessCalendar, BusinessHours, SlaPolicy

pytestmark = pytest.mark.django_db

DE = {"field": "country", "op": "eq", "value": "DE"}


def sla_findings():
    findings, _reports = database_lint(sample=0)
    return [(f.severity, f.code, f.subject, f.message) for f in findings if f.kind == "sla_policy"]


def test_sound_policies_have_no_finding():
    calendar = BusinessCalendar.objects.create(name="Berlin", timezone="Europe/Berlin")
    BusinessHours.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(17))
    SlaPolicy.objects.create(name="Germany", priority=10, condition=DE, calendar=calendar)
    SlaPolicy.objects.create(name="Everyone", priority=20)
    assert sla_findings() == []


def test_a_policy_behind_a_catch_all_of_higher_priority_never_applies():
    SlaPolicy.objects.create(name="Everyone", priority=10)
    SlaPolicy.objects.create(name="Germany", priority=20, condition=DE)
    SlaPolicy.objects.create(name="Off", priority=5, active=False)
    assert sla_findings() == [
        (
            "error",
            "sla_policy_shadowed",
            "SLA policy 'Germany' (priority 20)",
            "Policy 'Everyone' (priority 10) comes first and applies to every lead this one "
            "matches: it never applies.",
        )
    ]


def test_a_policy_no_lead_can_match():
    never = {"all": [DE, {"field": "country", "op": "eq", "value": "FR"}]}
    SlaPolicy.objects.create(name="Never", priority=10, condition=never)
    assert sla_findings() == [
        (
            "error",
            "sla_policy_unreachable",
            "SLA policy 'Never' (priority 10)",
            "No lead can match its condition (country = DE and country = FR): it never applies.",
        )
    ]


def test_a_clock_whose_calendar_has_no_business_hours(capsys):
    closed = BusinessCalendar.objects.create(name="Closed", timezone="UTC")
    SlaPolicy.objects.create(name="Support", priority=10, calendar=closed)
    assert sla_findings() == [
        (
            "error",
            "sla_calendar_closed",
            "SLA policy 'Support' (priority 10)",
            "It counts in business calendar 'Closed', which has no business hours: its clocks "
            "never count a minute, so nobody is reminded or escalated.",
        )
    ]
    with pytest.raises(SystemExit) as exit:
        call_command("playbook", "lint")
    assert exit.value.code == 1
    assert "The set-up:\n  ERROR   SLA policy 'Support' (priority 10)" in capsys.readouterr().out
