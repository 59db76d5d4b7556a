"""The outbox in the admin: every notification with its delivery state, a re-send action,
and the webhook subscriptions and Slack webhooks RevOps configure."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from leadhub.leads.models import Lead, LeadStatus
from routing.admin.widgets import ConditionRowsWidget
from routing.engine import RuleError, parse_condition
from sla.models import (
    BusinessCalendar,
    BusinessHours,
    Event,
    Notification,
    SlackWebhook,
    SlaClock,
    SlaPolicy,
    SlaStep,
    WebhookSubscription,
    check_business_hours,
)
from sla.services import outbox_resend, webhook_subscription_regenerate_secret


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "channel",
        "event",
        "rep",
        "address",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["channel", "status", "event", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "address", "rep__user__username", "last_error"]
    list_select_related = ["rep__user"]
    raw_id_fields = ["rep", "lead", "decision", "subscription"]
    date_hierarchy = "created_at"
    actions = ["resend"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # The outbox is a record: delivery state changes only through the services.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Re-send the selected notifications", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queued = sum(outbox_resend(notification_id=pk) for pk in ids)
        self.message_user(request, f"{queued} of {len(ids)} queued to be sent again.")
        if queued < len(ids):
            self.message_user(
                request,
                "In-app notifications and rows being sent right now are not re-sent.",
                messages.WARNING,
            )


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "team", "active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "team", "active", "created_at"]
    list_filter = ["active", "team"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "previous_secret_until", "created_at"]
    actions = ["rotate_secret", "regenerate_secret"]

    @admin.action(
        description="Rotate the signing secret (the old one still signs for a while)",
        permissions=["change"],
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        hours = settings.LEADHUB_WEBHOOK_SECRET_GRACE_HOURS
        for subscription in queryset:
            webhook_subscription_regenerate_secret(
                subscription=subscription, grace=timedelta(hours=hours)
            )
        self.message_user(
            request,
            f"New secret for {queryset.count()} subscription(s): for {hours} hours each "
            "delivery carries signatures by the old and the new secret; update the receivers "
            "before then.",
        )

    @admin.action(
        description="Regenerate the signing secret now (the old one stops at once)",
        permissions=["change"],
    )
    def regenerate_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset:
            webhook_subscription_regenerate_secret(subscription=subscription)
        self.message_user(
            request,
            f"New secret for {queryset.count()} subscription(s): update the receivers, "
            "older signatures no longer verify.",
        )


@admin.register(SlackWebhook)
class SlackWebhookAdmin(admin.ModelAdmin):
    list_display = ["__str__", "rep", "team", "active"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["active", "team"]
    raw_id_fields = ["rep"]


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


class SlaStepInline(admin.TabularInline):
    model = SlaStep
    extra = 0
    fields = ["position", "action", "minutes", "times"]


class SlaPolicyForm(forms.ModelForm):
    # A box per lead status, not a JSON list to type; the stored value stays a list.
    pause_statuses = forms.MultipleChoiceField(
        choices=LeadStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="While the lead is in one of these statuses its clocks stand still.",
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "active",
            "priority",
            "condition",
            "calendar",
            "accept_minutes",
            "touch_minutes",
            "pause_statuses",
        ]
        # Rows of field / operator / value, the JSON one click away; checked below.
        widgets = {"condition": ConditionRowsWidget()}

    def clean_condition(self) -> dict:
        value = self.cleaned_data.get("condition") or {}
        try:
            parse_condition(value, "condition")
        except RuleError as exc:
            raise forms.ValidationError(f"{exc.path}: {exc.message}") from None
        return value

    def clean(self) -> dict:
        data = super().clean()
        if data.get("accept_minutes") is None and data.get("touch_minutes") is None:
            raise forms.ValidationError("Give an accept window, a first-touch window, or both.")
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """What each lead's owner owes it, and the ladder when they miss it."""

    form = SlaPolicyForm
    list_display = ["name", "priority", "active", "accept_minutes", "touch_minutes", "calendar"]
    list_editable = ["priority", "active"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    inlines = [SlaStepInline]


@admin.register(SlaStep)
class SlaStepAdmin(admin.ModelAdmin):
    """Steps are edited on their policy's page; this is the list across policies."""

    list_display = ["policy", "position", "action", "minutes", "times"]
    list_select_related = ["policy"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    """Every clock, running or ended. Clocks are moved by the services, never by hand."""

    list_display = ["lead", "kind", "rep", "status", "due_at", "next_at", "breaches", "end_reason"]
    list_filter = ["status", "kind", "policy"]
    list_select_related = ["lead", "rep__user", "policy"]
    search_fields = ["lead__email", "lead__last_name", "rep__user__username"]
    raw_id_fields = ["lead", "rep", "pool", "policy"]
    date_hierarchy = "due_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SlaClockInline(admin.TabularInline):
    model = SlaClock
    verbose_name_plural = "SLA clocks"
    fields = ["kind", "rep", "policy", "status", "started_at", "due_at", "ended_at", "end_reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["started_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SlaClock]:
        return super().get_queryset(request).select_related("rep__user", "policy")


class SlaLeadAdminMixin:
    """For a ``ModelAdmin`` of ``Lead``: its SLA clocks under the lead's other inlines.
    Composed into the one LeadAdmin by ``leadhub.admin``."""

    def get_inlines(self, request: HttpRequest, obj: Lead | None) -> list:
        return [] if obj is None else [*super().get_inlines(request, obj), SlaClockInline]
