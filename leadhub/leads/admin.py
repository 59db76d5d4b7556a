"""The RevOps back office for leads and the pipeline's configuration.

Leads are written only through services, as everywhere else: adding a lead here is a
capture on the ``admin`` channel, a field edit is ``lead_update``, a status change is
``lead_transition``. The forms check the same rules first so a refusal is a form error
on the right field, never a half-saved lead. The event timeline is read-only, and leads
are not deleted here: they leave the funnel by status.
"""

import json
import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from leadhub.leads.admin_import import import_view
from leadhub.leads.export import leads_csv_response
from leadhub.leads.fieldmap import MAPPABLE_FIELDS, clean_field_map, default_field_map
from leadhub.leads.intake import LEAD_FIELDS, LeadDataError, clean_lead_data
from leadhub.leads.models import (
    OPEN_STATUSES,
    Account,
    AccountDomain,
    Channel,
    EnrichmentRecord,
    IdempotencyRecord,
    IntakeKey,
    Lead,
    LeadEvent,
    PipelineSettings,
    ScoringRule,
    WebForm,
)
from leadhub.leads.normalize import domain_of
from leadhub.leads.services import (
    LeadTransitionError,
    account_save,
    lead_capture,
    lead_transition,
    lead_transition_refusal,
    lead_update,
    open_duplicate_of,
)

EMPTY_VALUES = (None, "", [], {})


def pretty_json(data: Any) -> SafeString:
    return format_html(
        '<pre style="margin:0;white-space:pre-wrap">{}</pre>',
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and bookkeeping rows: shown, never added, edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Leads ------------------------------------------------------------------------------


class LeadAdminForm(forms.ModelForm):
    # Wider than the stored two letters: "Germany" or "DEU" are normalised to "DE" in clean().
    country = forms.CharField(
        max_length=100,
        required=False,
        help_text="A name or an ISO code; stored as ISO 3166-1 alpha-2.",
    )
    status_reason = forms.CharField(
        max_length=300,
        required=False,
        label="Reason for the status change",
        help_text="Kept in the lead's history with the change.",
    )

    class Meta:
        model = Lead
        fields = [*LEAD_FIELDS, "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored_status = self.instance.status

    @property
    def adding(self) -> bool:
        return self.instance.pk is None

    def lead_data(self) -> dict[str, Any]:
        """What goes to the service: every filled field on add, the edited ones on change."""
        if self.adding:
            return {
                f: self.cleaned_data[f]
                for f in LEAD_FIELDS
                if f in self.cleaned_data and self.cleaned_data[f] not in EMPTY_VALUES
            }
        return {
            f: self.cleaned_data[f]
            for f in self.changed_data
            if f in LEAD_FIELDS and f in self.cleaned_data
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "status" in self.fields and cleaned.get("status"):
            self._check_status(cleaned["status"])
        data = self.lead_data()
        try:
            normalised = clean_lead_data(data, partial=not self.adding)
        except LeadDataError as exc:
            for field, reasons in exc.errors.items():
                if field in self.fields:
                    self.add_error(field, reasons)
                else:
                    self.add_error(None, f"{field}: {' '.join(reasons)}")
            return cleaned
        # The model gets what the service will store (e.g. "DE", not "Germany").
        for field, value in normalised.items():
            if field in self.fields and field in cleaned:
                cleaned[field] = value
        self._check_duplicate(normalised)
        return cleaned

    def _check_duplicate(self, data: dict[str, Any]) -> None:
        # lead_update refuses to give an open lead another open lead's email or phone, and
        # the database would refuse a new one; say so on the field instead.
        if not (data.get("email") or data.get("phone")):
            return
        if not self.adding and self.stored_status not in OPEN_STATUSES:
            return
        duplicate = open_duplicate_of(data, exclude_pk=self.instance.pk)
        if duplicate is None:
            return
        email = data.get("email") or ""
        field = "email" if email and duplicate.email.lower() == email else "phone"
        self.add_error(field, f"The open lead {duplicate} already has this {field}.")

    def _check_status(self, status: str) -> None:
        if status == self.stored_status:
            return
        refusal = lead_transition_refusal(self.stored_status, status)
        if refusal is None and status == "assigned" and self.instance.owner_id is None:
            refusal = "A lead is assigned with its owner, by routing; this lead has no owner."
        if refusal is None and status == "queued":
            refusal = "A lead joins a claim queue by routing, which records the queue."
        if refusal:
            self.add_error("status", refusal)


class LeadEventInline(admin.TabularInline):
    """The lead's timeline, oldest first."""

    model = LeadEvent
    verbose_name = "event"
    verbose_name_plural = "Timeline"
    fields = ["at", "kind", "actor", "details"]
    readonly_fields = fields
    ordering = ["at", "id"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeadEvent]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Details")
    def details(self, event: LeadEvent) -> SafeString:
        return pretty_json(event.data)


LEAD_FIELDSETS = [
    ("Contact", {"fields": ["email", "first_name", "last_name", "phone", "title"]}),
    (
        "Company",
        {"fields": ["company", "website", "industry", "employees", "annual_revenue"]},
    ),
    (
        "Place",
        {"fields": ["country", "state", "city", "postal_code", "timezone", "language"]},
    ),
    (
        "Intent",
        {
            "fields": [
                "source",
                "product_interest",
                "message",
                "pages",
                "intent_signals",
                ("utm_source", "utm_medium", "utm_campaign"),
                "custom",
            ]
        },
    ),
]
LEAD_CHANGE_FIELDSETS = [
    (
        "Pipeline",
        {
            "fields": [
                ("status", "status_reason"),
                ("score", "score_band"),
                ("owner", "account"),
                ("channel", "form", "is_partial"),
                ("email_domain", "employee_band"),
            ]
        },
    ),
    *LEAD_FIELDSETS,
    (
        "Timestamps",
        {
            "fields": [
                ("captured_at", "updated_at"),
                ("assigned_at", "accepted_at"),
                ("first_touch_at", "closed_at"),
            ]
        },
    ),
]
LEAD_READONLY_FIELDS = [
    "score",
    "score_band",
    "owner",
    "account",
    "channel",
    "form",
    "is_partial",
    "email_domain",
    "employee_band",
    "captured_at",
    "updated_at",
    "assigned_at",
    "accepted_at",
    "first_touch_at",
    "closed_at",
]


class LeadAdmin(admin.ModelAdmin):
    """The lead's own pages. Not registered here: the apps above add their parts (routing's
    decisions, the SLA clocks) and the composition root, ``leadhub.admin``, registers the
    one LeadAdmin built from them all."""

    form = LeadAdminForm
    inlines = [LeadEventInline]
    list_display = [
        "id",
        "contact",
        "company",
        "status",
        "score",
        "score_band",
        "owner",
        "account",
        "source",
        "country",
        "captured_at",
        "is_partial",
    ]
    list_display_links = ["id", "contact"]
    list_filter = [
        "status",
        "score_band",
        "source",
        "channel",
        "is_partial",
        "country",
        "owner__team",
        "captured_at",
    ]
    list_select_related = ["owner__user", "account"]
    search_fields = ["email", "first_name", "last_name", "company", "phone"]
    date_hierarchy = "captured_at"
    actions = ["mark_junk", "disqualify", "export_csv"]

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(import_view),
                name="leads_lead_import",
            ),
            *super().get_urls(),
        ]

    def has_delete_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        # A lead leaves the funnel by status (junk, disqualified), keeping its history for
        # the metrics; deleting would erase its events with it.
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Lead | None = None) -> list:
        return LEAD_FIELDSETS if obj is None else LEAD_CHANGE_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        return [] if obj is None else LEAD_READONLY_FIELDS

    def get_inlines(self, request: HttpRequest, obj: Lead | None) -> list:
        return [] if obj is None else self.inlines

    @admin.display(description="Lead", ordering="last_name")
    def contact(self, lead: Lead) -> str:
        name = f"{lead.first_name} {lead.last_name}".strip()
        reach = lead.email or lead.phone
        if name and reach:
            return format_html("{}<br><small>{}</small>", name, reach)
        return name or reach or "(no contact)"

    def save_model(
        self, request: HttpRequest, obj: Lead, form: LeadAdminForm, change: bool
    ) -> None:
        if not change:
            result = lead_capture(data=form.lead_data(), channel=Channel.ADMIN, actor=request.user)
            if result.outcome == "duplicate":
                messages.warning(
                    request,
                    f"{result.lead} is already an open lead with this email or phone; "
                    "the submission was added to it.",
                )
            obj.pk = result.lead.pk
            obj._state.adding = False
        else:
            status = form.cleaned_data["status"]
            with transaction.atomic():
                if changes := form.lead_data():
                    lead_update(lead_id=obj.pk, data=changes, actor=request.user)
                if status != form.stored_status:
                    lead_transition(
                        lead_id=obj.pk,
                        status=status,
                        actor=request.user,
                        reason=form.cleaned_data.get("status_reason") or "Changed in the admin",
                    )
        obj.refresh_from_db()

    def _transition_many(
        self, request: HttpRequest, queryset: QuerySet[Lead], status: str, done_verb: str
    ) -> None:
        done, refused = 0, []
        for lead_id, current in queryset.order_by("pk").values_list("pk", "status"):
            try:
                lead_transition(
                    lead_id=lead_id,
                    status=status,
                    actor=request.user,
                    reason=f"{done_verb.capitalize()} from the admin (bulk action)",
                )
                done += 1
            except LeadTransitionError:
                refused.append(f"#{lead_id} ({current})")
        if done:
            noun = "lead" if done == 1 else "leads"
            self.message_user(request, f"{done} {noun} {done_verb}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{len(refused)} refused, their status does not allow it: {', '.join(refused)}.",
                messages.WARNING,
            )

    @admin.action(description="Mark selected leads as junk", permissions=["change"])
    def mark_junk(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        self._transition_many(request, queryset, "junk", "marked as junk")

    @admin.action(description="Disqualify selected leads", permissions=["change"])
    def disqualify(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        self._transition_many(request, queryset, "disqualified", "disqualified")

    @admin.action(description="Export selected leads as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Lead]) -> HttpResponse:
        return leads_csv_response(queryset)


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "lead", "kind", "actor"]
    ordering = ["-at", "-id"]
    list_filter = ["kind", "at"]
    list_select_related = ["lead", "actor"]
    search_fields = ["=lead__id", "lead__email", "lead__company"]
    date_hierarchy = "at"
    fields = ["lead", "kind", "at", "actor", "details"]
    readonly_fields = fields

    @admin.display(description="Details")
    def details(self, event: LeadEvent) -> SafeString:
        return pretty_json(event.data)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "scope", "key", "lead"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["lead"]
    search_fields = ["scope", "key"]
    date_hierarchy = "created_at"


# --- Accounts ---------------------------------------------------------------------------


class AccountDomainForm(forms.ModelForm):
    class Meta:
        model = AccountDomain
        fields = ["domain"]

    def clean_domain(self) -> str:
        domain = domain_of(self.cleaned_data["domain"])
        if "." not in domain or not re.fullmatch(r"[a-z0-9.-]+", domain):
            raise forms.ValidationError("Enter a domain like acme.com.")
        owner = (
            AccountDomain.objects.filter(domain=domain)
            .exclude(account_id=self.instance.account_id)
            .select_related("account")
            .first()
        )
        if owner is not None:
            raise forms.ValidationError(f"{domain} belongs to {owner.account}.")
        return domain


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    form = AccountDomainForm
    extra = 1


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    inlines = [AccountDomainInline]
    list_display = [
        "name",
        "owner",
        "segment",
        "industry",
        "employees",
        "domain_list",
        "lead_count",
        "created_at",
    ]
    list_filter = ["segment", "industry", "owner__team"]
    list_select_related = ["owner__user"]
    search_fields = ["name", "name_key", "domains__domain"]
    autocomplete_fields = ["owner"]
    fields = ["name", "name_key", "owner", "segment", "industry", "employees", "created_at"]
    readonly_fields = ["name_key", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return (
            super()
            .get_queryset(request)
            .annotate(lead_count=Count("leads", distinct=True))
            .prefetch_related("domains")
        )

    @admin.display(description="Domains")
    def domain_list(self, account: Account) -> str:
        return ", ".join(d.domain for d in account.domains.all())

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, account: Account) -> int:
        return account.lead_count

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        # Sets name_key, which company-name matching reads.
        account_save(account=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: list, change: bool) -> None:
        # The domains are the inline's rows, already normalised by its form, which refused
        # the ones another account holds; account_save replaces the account's set with them.
        form.save_m2m()
        for formset in formsets:
            if formset.model is not AccountDomain:
                self.save_formset(request, form, formset, change)
                continue
            # Unsaved: fills new/changed/deleted_objects, which the history message reads.
            formset.save(commit=False)
            domains = [
                f.cleaned_data["domain"]
                for f in formset.forms
                if f.cleaned_data.get("domain") and not f.cleaned_data.get("DELETE")
            ]
            account_save(account=form.instance, domains=domains)


# --- Intake -----------------------------------------------------------------------------


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "public_link", "source", "active", "capture_partial"]
    list_filter = ["active", "capture_partial"]
    search_fields = ["name", "slug", "source"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["public_link"]

    @admin.display(description="Public URL")
    def public_link(self, form: WebForm) -> str:
        if not form.pk:
            return "-"
        url = reverse("leads:form", args=[form.slug])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)


MAPPING_BLANK_ROWS = 5


class MappingRowsWidget(forms.MultiWidget):
    """A key's mapping as rows of sender field → lead field (``n`` rows, the blank ones
    for new entries; saving with every blank row filled gives more)."""

    def __init__(self, rows: int) -> None:
        choices = [("", "—"), *((f, f) for f in MAPPABLE_FIELDS)]
        pairs = (
            (
                forms.TextInput(attrs={"placeholder": "sender field", "size": 30}),
                forms.Select(choices=choices),
            )
            for _ in range(rows)
        )
        super().__init__([w for pair in pairs for w in pair])

    def decompress(self, value: Any) -> list[str]:
        # In name order: the database may keep a JSON object's keys in another order.
        items = sorted(value.items()) if isinstance(value, dict) else []
        rows = len(self.widgets) // 2
        items += [("", "")] * (rows - len(items))
        return [part for item in items[:rows] for part in item]

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        parts = value if isinstance(value, list | tuple) else self.decompress(value)
        cells = [
            widget.render(f"{name}{suffix}", part, {"id": f"id_{name}{suffix}"}, renderer)
            for widget, suffix, part in zip(self.widgets, self.widgets_names, parts, strict=False)
        ]
        return format_html(
            "<table><thead><tr><th>Sender field</th><th></th><th>Lead field</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>→</td><td>{}</td></tr>",
                zip(cells[::2], cells[1::2], strict=True),
            ),
        )


class MappingRowsField(forms.Field):
    def to_python(self, value: Any) -> dict:
        if isinstance(value, dict):
            return value
        parts = list(value or [])
        mapping: dict[str, str] = {}
        for name, target in zip(parts[::2], parts[1::2], strict=False):
            name = (name or "").strip()
            if not name and not target:
                continue
            if not name or not target:
                raise forms.ValidationError(
                    f"Row {name or target!r}: give both the sender field and the lead field."
                )
            if name in mapping:
                raise forms.ValidationError(f"{name!r} is in two rows.")
            mapping[name] = target
        return mapping


class IntakeKeyForm(forms.ModelForm):
    """The mapping shown twice, as rows and as JSON: whichever was edited is kept (both
    edited, they must agree), and it is checked as translate() will read it."""

    field_map_rows = MappingRowsField(label="Field mapping", required=False)

    class Meta:
        model = IntakeKey
        fields = ["name", "source", "active", "strict", "field_map"]
        widgets = {"field_map": forms.Textarea(attrs={"rows": 6, "cols": 60})}
        labels = {"field_map": "Field mapping as JSON"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.field_map if isinstance(self.instance.field_map, dict) else {}
        rows = self.fields["field_map_rows"]
        rows.widget = MappingRowsWidget(len(current) + MAPPING_BLANK_ROWS)
        rows.initial = current
        rows.help_text = (
            "Sender field → lead field, on top of the standard aliases below. Names match "
            "ignoring case, spaces, dashes and underscores. Map a field to “custom” to keep "
            "it in the lead's custom data, to “ignore” to drop it."
        )
        self.fields["field_map"].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        before = self.fields["field_map_rows"].initial
        rows = cleaned.get("field_map_rows")
        raw = cleaned.get("field_map")
        raw = {} if raw is None else raw  # an emptied JSON box: no mapping of its own
        by_json = "field_map" in self.errors or raw != before
        by_rows = "field_map_rows" in self.errors or rows != before
        if by_json and by_rows and rows != raw:
            raise forms.ValidationError("Edit the mapping as rows or as JSON, not both at once.")
        target = "field_map" if by_json else "field_map_rows"
        value = raw if by_json else rows
        if target in self.errors:
            return cleaned
        try:
            cleaned["field_map"] = clean_field_map(value)
        except ValueError as exc:
            self.add_error(target, str(exc))
        return cleaned


@admin.register(IntakeKey)
class IntakeKeyAdmin(admin.ModelAdmin):
    form = IntakeKeyForm
    list_display = ["name", "prefix", "source", "active", "strict", "created_at", "last_used_at"]
    list_filter = ["active", "strict"]
    search_fields = ["name", "prefix", "source"]
    fields = [
        "name",
        "source",
        "active",
        "strict",
        "field_map_rows",
        "field_map",
        "standard_aliases",
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = ["standard_aliases", "prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["rotate"]

    @admin.display(description="Standard aliases")
    def standard_aliases(self, obj: IntakeKey | None) -> SafeString:
        by_field: dict[str, list[str]] = {}
        for alias, name in default_field_map().items():
            by_field.setdefault(name, []).append(alias)
        return format_html(
            "<details><summary>Understood by every key (the CSV import's list), besides "
            "each field's own name</summary>{}</details>",
            pretty_json(by_field),
        )

    def _show_once(self, request: HttpRequest, key: IntakeKey, raw: str) -> None:
        self.message_user(
            request,
            f"The key for “{key.name}” is {raw} — copy it now, it is not stored.",
            messages.WARNING,
        )

    def save_model(self, request: HttpRequest, obj: IntakeKey, form: Any, change: bool) -> None:
        raw = None if change else obj.set_new_key()
        super().save_model(request, obj, form, change)
        if raw:
            self._show_once(request, obj, raw)

    @admin.action(
        description="Rotate key (the old one stops working at once)", permissions=["change"]
    )
    def rotate(self, request: HttpRequest, queryset: QuerySet[IntakeKey]) -> None:
        for key in queryset.order_by("pk"):
            raw = key.set_new_key()
            key.save(update_fields=["prefix", "key_hash"])
            self._show_once(request, key, raw)


@admin.register(EnrichmentRecord)
class EnrichmentRecordAdmin(admin.ModelAdmin):
    list_display = ["domain", "company", "industry", "employees", "country", "city", "updated_at"]
    list_filter = ["industry", "country"]
    search_fields = ["domain", "company"]


# --- Scoring and pipeline ---------------------------------------------------------------


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "field", "operator", "value", "points", "active", "position"]
    list_display_links = ["name"]
    list_editable = ["points", "active", "position"]
    list_filter = ["active", "operator"]
    search_fields = ["name", "field", "value"]


@admin.register(PipelineSettings)
class PipelineSettingsAdmin(admin.ModelAdmin):
    """One row: the list page opens it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:leads_pipelinesettings_change", PipelineSettings.load().pk)
