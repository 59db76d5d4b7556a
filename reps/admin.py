"""RevOps edit teams, reps (with their working hours and time off), skills and holiday
calendars here. Teams and reps are written through ``reps.services``, their working hours
and time off too; the inline formsets refuse overlapping intervals with the same checks the
services use, so that a refusal is a form error."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from reps.load import load_counts, rep_loads_recount
from reps.models import (
    Holiday,
    HolidayCalendar,
    Rep,
    RepLoad,
    Skill,
    Team,
    TimeOff,
    WorkingHours,
    check_time_off,
    check_working_hours,
)
from reps.services import (
    REP_FIELDS,
    rep_create,
    rep_set_presence,
    rep_update,
    team_create,
    team_update,
    time_off_add,
    time_off_remove,
    working_hours_set,
)


def _kept_forms(formset: BaseInlineFormSet) -> list:
    return [
        form
        for form in formset.forms
        if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class WorkingHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        rows = [
            (f.cleaned_data["weekday"], f.cleaned_data["start"], f.cleaned_data["end"])
            for f in _kept_forms(self)
        ]
        try:
            check_working_hours(rows)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class TimeOffFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        rows = [(f.cleaned_data["start"], f.cleaned_data["end"]) for f in _kept_forms(self)]
        try:
            check_time_off(rows)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    formset = TimeOffFormSet
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class ListOnlyAdmin(admin.ModelAdmin):
    """A list across reps; rows are added and changed on the rep's page, where the inline
    checks them against the rep's other rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WorkingHours)
class WorkingHoursAdmin(ListOnlyAdmin):
    list_display = ["rep", "weekday", "start", "end"]
    list_filter = ["weekday", "rep__team"]
    list_select_related = ["rep__user"]
    search_fields = ["rep__user__username", "rep__user__last_name"]


@admin.register(TimeOff)
class TimeOffAdmin(ListOnlyAdmin):
    list_display = ["rep", "start", "end", "reason"]
    list_filter = ["rep__team"]
    list_select_related = ["rep__user"]
    search_fields = ["rep__user__username", "rep__user__last_name", "reason"]
    date_hierarchy = "start"


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "calendar"]
    list_filter = ["calendar"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "rep_count"]
    search_fields = ["name", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skill]:
        return super().get_queryset(request).annotate(rep_count=Count("reps"))

    @admin.display(description="Reps", ordering="rep_count")
    def rep_count(self, skill: Skill) -> int:
        return skill.rep_count


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "holiday_count"]
    search_fields = ["name"]
    inlines = [HolidayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[HolidayCalendar]:
        return super().get_queryset(request).annotate(holiday_count=Count("holidays"))

    @admin.display(description="Holidays", ordering="holiday_count")
    def holiday_count(self, calendar: HolidayCalendar) -> int:
        return calendar.holiday_count


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

    def save_model(self, request: HttpRequest, obj: Team, form: forms.ModelForm, change: bool):
        fields = {name: form.cleaned_data[name] for name in ("name", "region", "timezone")}
        if change:
            team_update(team=obj, **fields)
        else:
            obj.pk = team_create(**fields).pk
            obj._state.adding = False


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "full_name",
        "team",
        "role",
        "active",
        "timezone",
        "presence",
        "tier",
        "weight",
        "max_open",
        "max_per_day",
        "max_per_week",
        "max_escalated",
    ]
    list_filter = ["team", "role", "active", "presence", "tier"]
    list_select_related = ["user", "team"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "team__name",
    ]
    raw_id_fields = ["user"]
    filter_horizontal = ["skills"]
    readonly_fields = ["presence_changed_at"]
    inlines = [WorkingHoursInline, TimeOffInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Rep | None = None) -> list[str]:
        # A rep row is its user's for good: the services never move it to another user.
        return [*self.readonly_fields, *(["user"] if obj is not None else [])]

    def save_model(self, request: HttpRequest, obj: Rep, form: forms.ModelForm, change: bool):
        data = form.cleaned_data
        if change:
            # The form has already put the new values on ``obj``; the services compare
            # with what is stored.
            obj.presence = form.initial["presence"]
            rep_update(rep=obj, **{f: data[f] for f in form.changed_data if f in REP_FIELDS})
        else:
            fields = {f: data[f] for f in REP_FIELDS - {"team"} if f in data}
            rep = rep_create(user=data["user"], team=data["team"], **fields)
            obj.pk, obj.presence = rep.pk, rep.presence
            obj._state.adding = False
        rep_set_presence(rep=obj, presence=data["presence"], actor=request.user)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        rep = form.instance
        rep_update(rep=rep, skills=[skill.name for skill in form.cleaned_data["skills"]])
        for formset in formsets:
            # Unsaved: fills new/changed/deleted_objects, which the history message reads.
            formset.save(commit=False)
            if formset.model is WorkingHours:
                working_hours_set(
                    rep=rep,
                    intervals=[
                        (f.cleaned_data["weekday"], f.cleaned_data["start"], f.cleaned_data["end"])
                        for f in _kept_forms(formset)
                    ],
                )
            elif formset.model is TimeOff:
                # A changed period is taken off and added again, so that the overlap check
                # sees the rep's other periods as they will be.
                changed = [time_off for time_off, _fields in formset.changed_objects]
                for time_off in [*formset.deleted_objects, *changed]:
                    time_off_remove(time_off=time_off, actor=request.user)
                for time_off in [*changed, *formset.new_objects]:
                    time_off_add(
                        rep=rep,
                        start=time_off.start,
                        end=time_off.end,
                        reason=time_off.reason,
                        actor=request.user,
                    )

    @admin.display(description="Name", ordering="user__last_name")
    def full_name(self, rep: Rep) -> str:
        return rep.user.get_full_name()


@admin.register(RepLoad)
class RepLoadAdmin(admin.ModelAdmin):
    """The load counters routing reads (``reps.load``). Kept by the services; read-only
    here, with an action to recount them from the leads."""

    list_display = ["rep", "open_now", "today", "this_week", "recounted_at"]
    list_select_related = ["rep__user"]
    readonly_fields = [
        "rep",
        "open_leads",
        "day_start",
        "day_leads",
        "week_start",
        "week_leads",
        "recounted_at",
    ]
    actions = ["recount"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _counts(self, load: RepLoad) -> tuple[int, int, int]:
        return load_counts(load, load.rep.timezone, timezone.now())

    @admin.display(description="Open")
    def open_now(self, load: RepLoad) -> int:
        return self._counts(load)[0]

    @admin.display(description="Today")
    def today(self, load: RepLoad) -> int:
        return self._counts(load)[1]

    @admin.display(description="This week")
    def this_week(self, load: RepLoad) -> int:
        return self._counts(load)[2]

    @admin.action(description="Recount from the leads")
    def recount(self, request: HttpRequest, queryset: QuerySet[RepLoad]) -> None:
        drift = rep_loads_recount(rep_ids=list(queryset.values_list("rep_id", flat=True)))
        self.message_user(
            request,
            f"Recounted {queryset.count()} reps; {len(drift)} had drifted."
            if drift
            else f"Recounted {queryset.count()} reps; all were right.",
        )
