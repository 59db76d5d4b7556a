"""The SLA app's lint checks, run by routing's lint (``routing.lint``) over every rule set:
routing may not import sla, so ``SlaConfig.ready()`` registers ``sla_lint`` with it.

- an active policy no lead can match: its condition never holds, or a policy before it
  (lower priority number; the first matching policy applies) matches every lead it
  matches, e.g. one with an empty condition;
- an active policy counting in a business calendar with no business hours: its clocks
  would never count a minute, so nobody is ever reminded or escalated.
"""

from collections.abc import Iterable

from routing import engine
from routing.engine.conditions import Node, parse_condition
from routing.engine.lint import ERROR, Finding, implies, satisfiable
from routing.lint import LintContext
from sla.models import BusinessCalendar, SlaPolicy


def _subject(policy: SlaPolicy) -> str:
    return f"SLA policy '{policy.name}' (priority {policy.priority})"


def sla_lint(context: LintContext) -> Iterable[Finding]:
    """The findings about the active SLA policies and their calendars."""
    policies = list(
        SlaPolicy.objects.filter(active=True)
        .select_related("calendar")
        .order_by("priority", "name", "pk")
    )
    findings = []
    earlier: list[tuple[SlaPolicy, Node]] = []
    for policy in policies:
        try:
            node = parse_condition(policy.condition or {}, "condition")
        except engine.RuleError as exc:
            findings.append(
                Finding(
                    ERROR,
                    "sla_policy_invalid",
                    "sla_policy",
                    policy.pk,
                    _subject(policy),
                    f"Its condition cannot be read ({exc}): the clocks skip this policy.",
                )
            )
            continue
        if not satisfiable(node):
            message = f"No lead can match its condition ({node.describe()}): it never applies."
            findings.append(
                Finding(
                    ERROR,
                    "sla_policy_unreachable",
                    "sla_policy",
                    policy.pk,
                    _subject(policy),
                    message,
                )
            )
        else:
            first = next((p for p, cond in earlier if implies(node, cond)), None)
            if first is not None:
                findings.append(
                    Finding(
                        ERROR,
                        "sla_policy_shadowed",
                        "sla_policy",
                        policy.pk,
                        _subject(policy),
                        f"Policy '{first.name}' (priority {first.priority}) comes first and "
                        "applies to every lead this one matches: it never applies.",
                    )
                )
        earlier.append((policy, node))
    closed = set(
        BusinessCalendar.objects.filter(
            pk__in={p.calendar_id for p in policies if p.calendar_id is not None},
            hours__isnull=True,
        ).values_list("pk", flat=True)
    )
    for policy in policies:
        if policy.calendar_id in closed:
            findings.append(
                Finding(
                    ERROR,
                    "sla_calendar_closed",
                    "sla_policy",
                    policy.pk,
                    _subject(policy),
                    f"It counts in business calendar '{policy.calendar.name}', which has no "
                    "business hours: its clocks never count a minute, so nobody is reminded "
                    "or escalated.",
                )
            )
    return findings
