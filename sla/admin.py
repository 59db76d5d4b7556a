from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from sla.models import BusinessCalendar, BusinessHours, Notification, check_business_hours


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "rep", "kind", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), "rep__team"]
    search_fields = ["title", "rep__user__username"]
    list_select_related = ["rep__user"]
    raw_id_fields = ["rep", "lead", "decision"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False


class BusinessHoursFormSet(BaseInlineFormSet):
    """Refuse overlapping hours across the rows being saved together, which no single
    row's ``clean()`` can see."""

    def clean(self) -> None:
        super().clean()
        rows = [
            (form.cleaned_data["weekday"], form.cleaned_data["start"], form.cleaned_data["end"])
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        check_business_hours(rows)


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    formset = BusinessHoursFormSet
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "holiday_calendar"]
    list_select_related = ["holiday_calendar"]
    search_fields = ["name"]
    inlines = [BusinessHoursInline]
