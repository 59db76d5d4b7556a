"""Notifications. For now the in-app channel: a record per rep, read or unread. The SLA
issue grows this into the outbox (email, Slack, webhooks) with delivery attempts.

Business calendars: the hours and holidays an SLA clock counts in. The arithmetic lives in
``sla.calendars`` (pure); ``sla.selectors.calendar_spec`` turns these rows into its input.
"""

from collections.abc import Iterable
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.timezone import now

from reps.models import WorkingHours, validate_timezone
from sla.calendars import BusinessInterval, check_intervals


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Lead assigned"
        REASSIGNED = "reassigned", "Lead reassigned to you"

    rep = models.ForeignKey("reps.Rep", on_delete=models.CASCADE, related_name="notifications")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notifications")
    decision = models.OneToOneField(
        "routing.Decision", null=True, on_delete=models.SET_NULL, related_name="notification"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rep", "read_at", "created_at"])]

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
