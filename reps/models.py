"""People who receive leads. The routing issue extends Rep with schedules, caps and skills."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris).")


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

    class Meta:
        ordering = ["team__name", "user__username"]
        indexes = [models.Index(fields=["team", "active"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()
