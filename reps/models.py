"""People who receive leads: teams, reps, their skills, schedules, time off and caps.

Validation lives in ``clean()`` (and a few database constraints) so the admin, the API and
the services refuse the same bad rows; ``reps.services`` own the writes.
"""

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, time
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.timezone import now

from reps.availability import Presence

# ISO 639-1: every two-letter language code.
_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())


@lru_cache(maxsize=1)
def iana_timezones() -> frozenset[str]:
    """Every IANA time zone name this machine knows. ``zoneinfo.available_timezones`` walks
    the zone files on each call (a tenth of a second): asked once per process."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in iana_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris).")


def validate_languages(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError('A list of ISO 639-1 codes, e.g. ["en", "de"].')
    unknown = [code for code in value if code not in ISO_639_1]
    if unknown:
        raise ValidationError(
            f"Not ISO 639-1 language codes (two lower-case letters): {', '.join(unknown)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("A language is listed twice.")


def check_working_hours(intervals: Iterable[tuple[int, time, time]]) -> None:
    """Refuse a week of (weekday, start, end) intervals with a bad or overlapping one."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in intervals:
        if not 0 <= weekday <= 6:
            raise ValidationError(f"Weekday {weekday} is not 0 (Monday) to 6 (Sunday).")
        if start >= end:
            raise ValidationError(
                f"{WorkingHours.Weekday(weekday).label} {start:%H:%M}-{end:%H:%M}: "
                "the end must be after the start."
            )
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, spans in by_day.items():
        spans.sort()
        for (s1, e1), (s2, e2) in pairwise(spans):
            if s2 < e1:
                raise ValidationError(
                    f"{WorkingHours.Weekday(weekday).label} {s1:%H:%M}-{e1:%H:%M} overlaps "
                    f"{s2:%H:%M}-{e2:%H:%M}."
                )


def check_time_off(periods: Iterable[tuple[datetime, datetime]]) -> None:
    """Refuse (start, end) periods where one ends before it starts or two overlap."""
    spans = sorted(periods)
    for start, end in spans:
        if start >= end:
            raise ValidationError(
                f"Time off from {start:%Y-%m-%d %H:%M}: the end must be after the start."
            )
    for (s1, e1), (s2, e2) in pairwise(spans):
        if s2 < e1:
            raise ValidationError(
                f"Time off {s1:%Y-%m-%d %H:%M}-{e1:%Y-%m-%d %H:%M} overlaps "
                f"{s2:%Y-%m-%d %H:%M}-{e2:%Y-%m-%d %H:%M}."
            )


class Skill(models.Model):
    """Something a lead may need of a rep: an industry, a segment, a product."""

    name = models.SlugField(
        max_length=50, unique=True, help_text="Lower-case, e.g. fintech or public_sector."
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HolidayCalendar(models.Model):
    """Public holidays a rep does not work on, e.g. "US" or "Germany (Berlin)"."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(HolidayCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(help_text="The whole day, in each rep's own time zone.")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(
                "calendar",
                "date",
                name="holiday_unique_calendar_date",
                violation_error_message="This calendar already has a holiday on that date.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    region = models.CharField(max_length=50, blank=True, help_text="e.g. NA, EMEA, APAC")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rep(models.Model):
    class Role(models.TextChoices):
        REP = "rep", "Rep"
        MANAGER = "manager", "Manager"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="reps")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    active = models.BooleanField(default=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    presence = models.CharField(
        max_length=10,
        choices=[(p.value, p.value.capitalize()) for p in Presence],
        default=Presence.AVAILABLE.value,
    )
    presence_changed_at = models.DateTimeField(default=now)
    skills = models.ManyToManyField(Skill, blank=True, related_name="reps")
    languages = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_languages],
        help_text='ISO 639-1 codes, e.g. ["en", "de"].',
    )
    tier = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Seniority: 1 junior, higher senior.",
    )
    weight = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Share in weighted rotation: weight 2 gets twice the leads of weight 1.",
    )
    ramp_until = models.DateField(
        null=True,
        blank=True,
        help_text="A new rep gets the ramp share of their weight until (not including) this day.",
    )
    ramp_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="0 to 1: the part of their weight a ramping rep gets.",
    )
    max_open = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open leads at once; empty: no cap."
    )
    max_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most new leads per day (their local day); empty: no cap."
    )
    max_per_week = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most new leads per week (their local week, from Monday); empty: no cap.",
    )
    max_escalated = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Managers: most open escalated leads at once (escalations look past the "
        "caps above, not this); past it they go to triage. Empty: the "
        "LEADHUB_MANAGER_MAX_ESCALATED setting.",
    )
    holiday_calendar = models.ForeignKey(
        HolidayCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="reps"
    )

    class Meta:
        ordering = ["team__name", "user__username"]
        indexes = [models.Index(fields=["team", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ramp_share__gte=0, ramp_share__lte=1),
                name="rep_ramp_share_0_to_1",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__gte=1, weight__gte=1), name="rep_tier_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class WorkingHours(models.Model):
    """One working interval on one weekday, in the rep's own time zone: start ≤ t < end.
    A split shift is two rows on the same day; a night shift one each side of midnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="Exclusive. A shift that runs to midnight ends at 23:59:59.")

    class Meta:
        ordering = ["rep", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="working_hours_start_before_end"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="working_hours_weekday_0_to_6"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": "The end must be after the start."})


class TimeOff(models.Model):
    """A period the rep takes no leads (vacation, sick leave): start ≤ t < end."""

    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=100, blank=True, help_text="e.g. Vacation")

    class Meta:
        ordering = ["rep", "start"]
        verbose_name_plural = "time off"
        indexes = [models.Index(fields=["rep", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="time_off_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} {self.reason}".strip()

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": "The end must be after the start."})


class RepLoad(models.Model):
    """How many leads a rep holds, kept up to date by the lead app in the same transaction
    as every assignment and status change, so routing reads a rep's load in O(1) instead of
    counting their leads (which grows with history).

    ``open_leads`` counts the rep's leads in an open status. ``day_leads`` counts the leads
    given to the rep since ``day_start`` (the rep's local midnight on the day of the last
    assignment), ``week_leads`` since ``week_start`` (local Monday 00:00); a start older
    than the current local day or week means the count is zero now. A lead taken away from
    the rep is taken off the counts it was in. ``reps.load.rep_loads_recount`` rebuilds the
    rows from the leads themselves (a scheduled reconciliation; and after bulk loads).

    A row of its own, not fields on ``Rep``: a rep saved from a form that was loaded a
    minute earlier would otherwise write back stale counts.
    """

    rep = models.OneToOneField(Rep, on_delete=models.CASCADE, primary_key=True, related_name="load")
    open_leads = models.IntegerField(default=0)
    day_start = models.DateTimeField(null=True, blank=True)
    day_leads = models.IntegerField(default=0)
    week_start = models.DateTimeField(null=True, blank=True)
    week_leads = models.IntegerField(default=0)
    recounted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rep load"

    def __str__(self) -> str:
        return f"{self.open_leads} open, {self.day_leads} today, {self.week_leads} this week"
