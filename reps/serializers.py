"""Shapes of teams, reps, presence and time off in the API. Validation of the input only:
the writes are reps.services'."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from reps.availability import Presence
from reps.models import Rep, Skill, Team, TimeOff, WorkingHours


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "region", "timezone"]


class WorkingHoursSerializer(serializers.ModelSerializer):
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


class RepSerializer(serializers.ModelSerializer):
    """A rep with their schedule. Presence is set through /presence/ and time off through
    /time-off/; ``time_off`` here lists the current and coming periods only."""

    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    username = serializers.CharField(source="user.get_username", read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    skills = serializers.SlugRelatedField(
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
