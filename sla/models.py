"""Notifications: one outbox table for every channel (in-app, email, Slack, outbound
webhooks), plus who subscribes to what. Business calendars: the hours and holidays an SLA
clock counts in (the arithmetic lives in ``sla.calendars``, pure; ``sla.selectors.
calendar_spec`` turns these rows into its input).

An in-app row is the rep's record, delivered the moment it is written; every other row is a
delivery to make: ``sla.services.outbox_deliver`` claims it, sends it, and either marks it
sent or schedules the next attempt, until it is ``dead`` after LEADHUB_OUTBOX_MAX_ATTEMPTS.
"""

import base64
import secrets
from collections.abc import Iterable
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from reps.models import WorkingHours, validate_timezone
from sla.calendars import BusinessInterval, check_intervals


class Event(models.TextChoices):
    """What happened. The strings are the public names webhook subscribers filter on."""

    LEAD_CREATED = "lead.created", "Lead created"
    LEAD_ASSIGNED = "lead.assigned", "Lead assigned"
    LEAD_ACCEPTED = "lead.accepted", "Lead accepted"
    LEAD_DECLINED = "lead.declined", "Lead declined"
    LEAD_REASSIGNED = "lead.reassigned", "Lead reassigned"
    LEAD_ESCALATED = "lead.escalated", "Lead escalated"
    SLA_BREACHED = "sla.breached", "SLA breached"
    SLA_REMINDER = "sla.reminder", "SLA deadline coming"
    LEAD_STATUS_CHANGED = "lead.status_changed", "Lead status changed"
    ESCALATION_CEILING = "manager.escalation_ceiling", "Manager at the escalation ceiling"


def validate_events(value: object) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
        raise ValidationError('A non-empty list of event names, e.g. ["lead.assigned"].')
    unknown = sorted(set(value) - set(Event.values))
    if unknown:
        raise ValidationError(
            f"Unknown events: {', '.join(unknown)}. Known: {', '.join(Event.values)}."
        )


# Standard Webhooks secrets: "whsec_" and the base64 of the key (24 to 64 random bytes).
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscription(models.Model):
    """An outside system that wants a signed POST for some events. With a team, only the
    events about that team's leads (the lead's owner, or the rep or team notified)."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    events = models.JSONField(validators=[validate_events], help_text="Event names it receives.")
    # Signs every delivery (webhook-signature, and the deprecated X-LeadHub-Signature);
    # never exported with the playbook. Secrets from before Standard Webhooks lack the
    # "whsec_" prefix: sla.delivery.signing_key reads both.
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    # The secret a rotation replaced, still signing (beside the new one) until
    # ``previous_secret_until``: the receivers' grace period to switch.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    team = models.ForeignKey(
        "reps.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlackWebhook(models.Model):
    """A Slack incoming webhook that hears about one rep's leads, or one team's."""

    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500)
    rep = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "reps.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "Slack webhook"
        constraints = [
            models.CheckConstraint(
                condition=Q(rep__isnull=False, team__isnull=True)
                | Q(rep__isnull=True, team__isnull=False),
                name="sla_slackwebhook_rep_xor_team",
                violation_error_message="A Slack webhook belongs to a rep or to a team.",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.url


class Notification(models.Model):
    """One row of the outbox: a message for one recipient on one channel."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In-app"
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead"

    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.IN_APP)
    event = models.CharField(max_length=32, choices=Event.choices)
    rep = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # The email address or URL the row goes to; blank for in-app rows.
    address = models.CharField(max_length=500, blank=True)
    subscription = models.ForeignKey(
        WebhookSubscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    decision = models.ForeignKey(
        "routing.Decision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    title = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Pending or failed: when the next attempt is due. Sending: when the claim's lease ends
    # (a worker that died mid-send leaves the row due again then).
    next_attempt_at = models.DateTimeField(default=now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    # When its delivery task was queued in the outbox lane: set by the claim that queues
    # it, cleared by the claim that sends it. A row queued less than QUEUE_LEASE ago
    # (sla.selectors) is not queued again.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["rep", "read_at", "created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            # Only the rows waiting in the queue: counted by every sweep.
            models.Index(
                fields=["queued_at"],
                condition=Q(queued_at__isnull=False),
                name="sla_notification_queued",
            ),
        ]
        constraints = [
            # However often a decision is announced, each recipient hears of it once.
            models.UniqueConstraint(
                fields=["decision", "channel", "address"],
                condition=Q(decision__isnull=False, subscription__isnull=True),
                name="sla_notification_once_per_decision",
            ),
            models.UniqueConstraint(
                fields=["decision", "subscription"],
                condition=Q(decision__isnull=False, subscription__isnull=False),
                name="sla_webhook_once_per_decision",
            ),
        ]

    def __str__(self) -> str:
        return self.title


def check_business_hours(rows: Iterable[tuple[int, time, time]]) -> None:
    """Refuse a week of (weekday, start, end) business hours with a bad or overlapping
    interval; the same check ``BusinessCalendarSpec`` makes, as a ValidationError."""
    try:
        check_intervals(BusinessInterval(*row) for row in rows)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class BusinessCalendar(models.Model):
    """The hours an SLA clock runs in: weekly business hours in a time zone, minus the
    holidays of a holiday calendar. A policy without one runs around the clock."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, validators=[validate_timezone], help_text="IANA name, e.g. Europe/Berlin."
    )
    # The holidays reps already share (reps.HolidayCalendar), not a copy. PROTECT: deleting
    # the holiday calendar would silently turn its holidays into business days for every
    # running clock.
    holiday_calendar = models.ForeignKey(
        "reps.HolidayCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="business_calendars",
        help_text="Its holidays are closed all day, in this calendar's time zone.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """One open interval on one weekday, local to the calendar: start ≤ t < end. Several a
    day make a lunch break; an interval never crosses midnight."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=WorkingHours.Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="Exclusive. 00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")) | models.Q(end=time(0)),
                name="business_hours_start_before_end",
                violation_error_message="The end must be after the start (00:00: midnight).",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="business_hours_weekday_0_to_6"
            ),
        ]

    def __str__(self) -> str:
        return str(BusinessInterval(self.weekday, self.start, self.end))

    def clean(self) -> None:
        if self.weekday is None or self.start is None or self.end is None:
            return
        try:
            check_intervals([BusinessInterval(self.weekday, self.start, self.end)])
        except ValueError as exc:
            raise ValidationError({"end": str(exc)}) from None


class SlaPolicy(models.Model):
    """What a lead's owner owes it, and what happens when they don't. The first active
    policy (lowest priority number) whose condition matches the lead applies when it is
    assigned; no match, no clocks.

    Windows are minutes of business time in ``calendar`` (none: around the clock). The
    accept clock runs from assignment to acceptance (or decline); the first-touch clock
    from assignment to the first logged call, email or meeting. While the lead is in one
    of ``pause_statuses`` the clocks stand still. ``steps`` say what the sweep does."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(
        default=100, help_text="The lowest number whose condition matches applies."
    )
    condition = models.JSONField(
        default=dict,
        blank=True,
        help_text="The same condition tree as routing rules; empty matches every lead.",
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Business hours the windows count in; empty: around the clock (24/7).",
    )
    accept_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Accept within this many business minutes."
    )
    touch_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="First touch within this many business minutes."
    )
    pause_statuses = models.JSONField(
        default=list, blank=True, help_text='Lead statuses that stop the clock, e.g. ["nurture"].'
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaStep(models.Model):
    """One rung of a policy's ladder. Reminders fire ``minutes`` before a deadline; the
    other steps happen on a breach, in order: each breach takes the next (a reassignment
    ``times`` times over, then the escalation, then triage)."""

    class Action(models.TextChoices):
        REMIND = "remind", "Remind the owner"
        REASSIGN = "reassign", "Reassign to the next eligible rep of the pool"
        ESCALATE = "escalate", "Escalate to the team manager"
        TRIAGE = "triage", "Move to triage"

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    action = models.CharField(max_length=10, choices=Action.choices)
    minutes = models.PositiveIntegerField(
        default=0, help_text="Reminders: business minutes before the deadline."
    )
    times = models.PositiveIntegerField(
        default=1, help_text="Reassignments: how many breaches in a row reassign."
    )

    class Meta:
        ordering = ["policy", "position", "id"]
        verbose_name = "SLA step"
        constraints = [models.CheckConstraint(condition=Q(times__gte=1), name="sla_step_times_1")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.position})"


class SlaClock(models.Model):
    """A running promise about one lead: accept it, touch it, or (in a claim queue) claim
    it by ``due_at``. The sweep finds clocks whose ``next_at`` (the next reminder, else the
    deadline) has passed through a partial index on running clocks, so a tick costs the
    same with a million stopped clocks stored. Each step claims the clock with a
    conditional update of ``stage`` in the transaction that does the step: done once, or
    (rolled back) not at all."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", "Accept"
        TOUCH = "touch", "First touch"
        CLAIM = "claim", "Claim from the queue"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        MET = "met", "Met"
        BREACHED = "breached", "Breached (its ladder has run)"
        STOPPED = "stopped", "Stopped"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    rep = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="sla_clocks"
    )
    pool = models.ForeignKey(
        "routing.Pool", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=now)
    due_at = models.DateTimeField()
    next_at = models.DateTimeField(
        help_text="When the sweep next acts: a reminder or the deadline."
    )
    # Business time left when paused (seconds), to set a new deadline on resuming.
    remaining_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Steps done on this clock (reminders and breaches): the sweep's claim token.
    stage = models.PositiveIntegerField(default=0)
    reminded = models.BooleanField(default=False)
    # Breaches of this kind before this clock (carried over a reassignment): which rung next.
    breaches = models.PositiveIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "SLA clock"
        indexes = [
            models.Index(
                fields=["next_at"], condition=Q(status="running"), name="sla_clock_running_next"
            ),
            models.Index(fields=["lead", "status"], name="sla_clock_lead_status"),
            # The dashboard's SLA compliance reads the clocks started in a period.
            models.Index(fields=["started_at"], name="sla_clock_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.due_at:%Y-%m-%d %H:%M} ({self.status})"
