"""RevOps edit teams and reps here. The routing issue adds schedules, caps and skills."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from reps.models import Rep, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "timezone", "rep_count"]
    list_filter = ["region"]
    search_fields = ["name", "region"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(rep_count=Count("reps"))

    @admin.display(description="Reps", ordering="rep_count")
    def rep_count(self, team: Team) -> int:
        return team.rep_count


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = ["user", "full_name", "team", "role", "active", "timezone"]
    list_filter = ["team", "role", "active"]
    list_select_related = ["user", "team"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "team__name",
    ]
    raw_id_fields = ["user"]

    @admin.display(description="Name", ordering="user__last_name")
    def full_name(self, rep: Rep) -> str:
        return rep.user.get_full_name()
