"""Shapes of teams, reps, presence and time off in the API. Validation of the input only:
the writes are reps.services'."""

import re
from datetime import time
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reps.availability import Presence
from reps.models import Rep, Skill, Team, TimeOff, WorkingHours


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "region", "timezone"]


# A time of day on the rep's own clock, so without an offset: not OpenAPI's format "time"
# (RFC 3339's full-time, which has one). Read as HH:MM or HH:MM:SS, written as HH:MM:SS.
LOCAL_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"


@extend_schema_field({"type": "string", "pattern": f"^{LOCAL_TIME}$", "example": "09:00:00"})
class LocalTimeField(serializers.TimeField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M:%S", **kwargs)

    def to_internal_value(self, value: Any) -> time:
        # TimeField alone also takes "0900", "T09:00" and offsets (which it drops).
        if not (isinstance(value, str) and re.fullmatch(LOCAL_TIME, value)):
            self.fail("invalid", format="hh:mm[:ss]")
        return super().to_internal_value(value)


class WorkingHoursSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: LocalTimeField,
    }

    class Meta:
        model = WorkingHours
        fields = ["weekday", "start", "end"]


class TimeOffSerializer(serializers.ModelSerializer):
    class Meta:
        model = TimeOff
        fields = ["id", "start", "end", "reason"]


class PresenceSerializer(serializers.Serializer):
    presence = serializers.ChoiceField(choices=[p.value for p in Presence])
    presence_changed_at = serializers.DateTimeField(read_only=True)


class SkillNamesField(serializers.SlugRelatedField):
    """A skill by its name. A name the database cannot even look up (a NUL character:
    PostgreSQL refuses it in any text) is no skill either: a 400, not a 500."""

    def to_internal_value(self, data: Any) -> Skill:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class RepSerializer(serializers.ModelSerializer):
    """A rep with their schedule. Presence is set through /presence/ and time off through
    /time-off/; ``time_off`` here lists the current and coming periods only."""

    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    username = serializers.CharField(source="user.get_username", read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    skills = SkillNamesField(
        many=True, slug_field="name", queryset=Skill.objects.all(), required=False
    )
    working_hours = WorkingHoursSerializer(many=True, required=False)
    time_off = TimeOffSerializer(many=True, read_only=True, source="upcoming_time_off")
    languages = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, allow_empty=True
    )

    class Meta:
        model = Rep
        fields = [
            "id",
            "user",
            "username",
            "name",
            "team",
            "role",
            "active",
            "timezone",
            "presence",
            "presence_changed_at",
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
            "holiday_calendar",
            "working_hours",
            "time_off",
        ]
        read_only_fields = ["presence", "presence_changed_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["user"].read_only = True  # a rep row stays with its user
        return fields

    def to_service_kwargs(self) -> dict:
        """validated_data as reps.services.rep_create / rep_update take it."""
        data = dict(self.validated_data)
        if "skills" in data:
            data["skills"] = [skill.name for skill in data["skills"]]
        if "working_hours" in data:
            data["working_hours"] = [
                (h["weekday"], h["start"], h["end"]) for h in data["working_hours"]
            ]
        return data
