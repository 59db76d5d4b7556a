"""The lead, its account, its event log, and the admin-editable pipeline configuration."""

import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    TRIAGE = "triage", "Triage"
    NURTURE = "nurture", "Nurture"
    QUEUED = "queued", "Waiting in a claim queue"
    ASSIGNED = "assigned", "Assigned"
    ACCEPTED = "accepted", "Accepted"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"
    JUNK = "junk", "Junk"


# A lead in a closed status is finished: it never reopens, and a new submission from the
# same person makes a new lead. Every other status is "open" and takes part in dedupe.
# Plain strings, not enum members: an enum member hashes by its name, so a set of members
# would not find the stored value "new".
CLOSED_STATUSES = frozenset({"converted", "disqualified", "junk"})
OPEN_STATUSES = frozenset(s.value for s in LeadStatus if s.value not in CLOSED_STATUSES)

# The lifecycle: new → triage | nurture | queued | assigned → accepted → contacted →
# qualified → converted | disqualified | junk. Any open lead can be disqualified or marked
# junk. A queued lead waits in a claim queue until a member claims it (→ assigned).
_FORWARD = {
    "new": {"triage", "nurture", "queued", "assigned"},
    "triage": {"nurture", "queued", "assigned"},
    "nurture": {"triage", "assigned"},
    "queued": {"triage", "assigned"},
    "assigned": {"accepted", "triage", "nurture"},
    "accepted": {"contacted", "nurture"},
    "contacted": {"qualified", "nurture"},
    "qualified": {"converted", "nurture"},
}
TRANSITIONS: dict[str, frozenset[str]] = {
    status.value: frozenset(
        _FORWARD[status.value] | {"disqualified", "junk"} if status.value in OPEN_STATUSES else ()
    )
    for status in LeadStatus
}


class ScoreBand(models.TextChoices):
    SALES_READY = "sales_ready", "Sales-ready"
    STANDARD = "standard", "Standard"
    NURTURE = "nurture", "Nurture"


class Channel(models.TextChoices):
    API = "api", "API"
    FORM = "form", "Web form"
    IMPORT = "import", "CSV import"
    ADMIN = "admin", "Admin"


class Account(models.Model):
    class Segment(models.TextChoices):
        SMB = "smb", "SMB"
        MID_MARKET = "mid_market", "Mid-market"
        ENTERPRISE = "enterprise", "Enterprise"
        STRATEGIC = "strategic", "Strategic"

    name = models.CharField(max_length=200)
    # The normalised company name ("Acme, Inc." → "acme"), kept in step by account_save().
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    owner = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    segment = models.CharField(max_length=20, choices=Segment.choices, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountDomain(models.Model):
    """One web domain of an account. A domain belongs to one account only."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class WebForm(models.Model):
    """A hosted form at /f/<slug>/ and the endpoint other sites post to."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    active = models.BooleanField(default=True)
    fields = models.JSONField(
        default=list,
        help_text='Lead fields shown on the form, in order, e.g. ["email", "company"].',
    )
    required_fields = models.JSONField(
        default=list, blank=True, help_text='Fields the visitor must fill, e.g. ["email"].'
    )
    source = models.CharField(
        max_length=100, default="web_form", help_text="Lead source set on every submission."
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Sites allowed to post to this form, one origin per line (https://www.example.com).",
    )
    capture_partial = models.BooleanField(
        default=True, help_text="Save what a visitor typed even if they never press submit."
    )
    success_message = models.CharField(
        max_length=300, default="Thanks! We will be in touch shortly."
    )
    redirect_url = models.URLField(
        blank=True, help_text="Where to send the visitor after submitting."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def origin_list(self) -> set[str]:
        return {line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines()} - {
            ""
        }

    def origin_allowed(self, origin: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        return bool(origin) and origin in self.origin_list()

    def clean(self) -> None:
        from leadhub.leads.intake import FORM_FIELDS

        unknown = [f for f in [*self.fields, *self.required_fields] if f not in FORM_FIELDS]
        if unknown:
            raise ValidationError({"fields": f"Unknown lead fields: {', '.join(unknown)}."})
        missing = [f for f in self.required_fields if f not in self.fields]
        if missing:
            raise ValidationError(
                {"required_fields": f"Required but not on the form: {', '.join(missing)}."}
            )
        if "email" not in self.fields and "phone" not in self.fields:
            raise ValidationError({"fields": "A form needs an email or a phone field."})
        bad = [o for o in self.origin_list() if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d+)?", o)]
        if bad:
            raise ValidationError(
                {"allowed_origins": f"Not an origin (scheme://host[:port]): {', '.join(bad)}."}
            )


class Lead(models.Model):
    # Contact
    email = models.EmailField(max_length=254, blank=True)
    email_domain = models.CharField(max_length=253, blank=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True, help_text="E.164 where the country allows.")
    title = models.CharField(max_length=150, blank=True)
    # Company
    company = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=253, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    employee_band = models.CharField(max_length=12, blank=True, editable=False)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Place
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="ISO 639-1.")
    # Intent
    source = models.CharField(max_length=100, blank=True)
    product_interest = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    pages = models.JSONField(default=list, blank=True, help_text="Pages the visitor viewed.")
    intent_signals = models.JSONField(
        default=list, blank=True, help_text='e.g. ["demo_request", "pricing_page"]'
    )
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    # Pipeline
    is_partial = models.BooleanField(default=False)
    score = models.IntegerField(default=0)
    score_band = models.CharField(max_length=12, choices=ScoreBand.choices, blank=True)
    status = models.CharField(max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    owner = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.API)
    form = models.ForeignKey(
        WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    form_session = models.CharField(max_length=64, blank=True, editable=False)
    # Timestamps
    captured_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The rule of the lead's first automatic routing decision ("" when no rule matched,
    # null before it was routed), stamped by routing with that decision: the dashboard
    # groups and filters leads by it without looking up each lead's decisions.
    routed_rule = models.CharField(max_length=100, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-captured_at", "-id"]
        indexes = [
            models.Index(fields=["status", "captured_at"]),
            models.Index(fields=["owner", "status"]),
            # Reps' day and week counts (caps) read only recent assignments.
            models.Index(fields=["owner", "assigned_at"], name="lead_owner_assigned_idx"),
            models.Index(fields=["captured_at"]),
            # The dashboard's acceptance: leads assigned in a period, whoever owns them.
            models.Index(fields=["assigned_at"], name="lead_assigned_idx"),
            # The dashboard's speed rollup refreshes the days of leads changed since its
            # last run (leadhub.web.rollup), every five minutes.
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            models.Index(fields=["source", "captured_at"]),
            # Plain twins of the unique partial indexes below, for the dedupe look-up: SQLite
            # uses a partial index only when the query spells its condition as literals,
            # and Django sends parameters.
            models.Index(Lower("email"), name="lead_email_lower_idx"),
            models.Index(fields=["phone"], name="lead_phone_idx"),
        ]
        constraints = [
            # Dedupe is enforced by the database, so two concurrent submissions from the
            # same person cannot both create an open lead.
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email="") & models.Q(status__in=sorted(OPEN_STATUSES)),
                name="lead_unique_open_email",
            ),
            models.UniqueConstraint(
                "phone",
                condition=~models.Q(phone="") & models.Q(status__in=sorted(OPEN_STATUSES)),
                name="lead_unique_open_phone",
            ),
            models.UniqueConstraint(
                "form",
                "form_session",
                condition=~models.Q(form_session=""),
                name="lead_unique_form_session",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        who = name or self.email or self.phone or "(no contact)"
        return f"#{self.pk} {who}" + (f" — {self.company}" if self.company else "")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LeadEvent(models.Model):
    """Append-only history of a lead: every state change writes one in its transaction."""

    class Kind(models.TextChoices):
        CAPTURED = "captured", "Captured"
        PARTIAL_CAPTURED = "partial_captured", "Partial submission captured"
        PARTIAL_UPDATED = "partial_updated", "Partial submission updated"
        COMPLETED = "completed", "Partial submission completed"
        RESUBMITTED = "resubmitted", "Submitted again"
        MERGED = "merged", "Merged into another lead"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        REASSIGNED = "reassigned", "Reassigned"
        UPDATED = "updated", "Fields edited"
        NOTE = "note", "Note"
        TOUCHED = "touched", "Touched (call, email, meeting)"
        DECLINED = "declined", "Declined by the rep"
        RELEASED = "released", "Released back to its queue"
        SLA = "sla", "SLA step"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField(default=now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


class IdempotencyRecord(models.Model):
    """Remembers an Idempotency-Key per caller so a retried POST returns the same lead."""

    scope = models.CharField(max_length=64, help_text="Who sent it: user:<id> or key:<id>.")
    key = models.CharField(max_length=255)
    lead = models.ForeignKey(Lead, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint("scope", "key", name="idempotency_unique_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class IntakeKey(models.Model):
    """A key that may only create leads (X-Api-Key). Only a hash of it is stored."""

    name = models.CharField(max_length=100, help_text='Who uses it, e.g. "Website".')
    prefix = models.CharField(max_length=12, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    source = models.CharField(
        max_length=100, blank=True, help_text="Lead source set when a lead arrives without one."
    )
    active = models.BooleanField(default=True)
    field_map = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "The sender's field names and the lead field each one fills, on top of the "
            "standard aliases (those of the CSV import)."
        ),
    )
    strict = models.BooleanField(
        default=False,
        help_text="Refuse a submission with a field the mapping does not know, instead of "
        "keeping it in the lead's custom data.",
    )
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    def set_new_key(self) -> str:
        """Give this key a fresh secret and return it; it is shown once and never stored."""
        raw = "lh_" + secrets.token_urlsafe(30)
        self.prefix = raw[:10]
        self.key_hash = self.hash(raw)
        return raw


class EnrichmentRecord(models.Model):
    """Firmographics for a web domain: the local enrichment source (no network)."""

    domain = models.CharField(max_length=253, unique=True)
    company = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=253, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class ScoringRule(models.Model):
    """Points added to a lead's score when one of its fields matches."""

    class Operator(models.TextChoices):
        EQ = "eq", "equals"
        NEQ = "neq", "does not equal"
        IN = "in", "is one of (comma-separated)"
        NOT_IN = "not_in", "is none of (comma-separated)"
        CONTAINS = "contains", "contains"
        STARTS_WITH = "starts_with", "starts with"
        REGEX = "regex", "matches regex"
        GT = "gt", ">"
        GTE = "gte", "≥"
        LT = "lt", "<"
        LTE = "lte", "≤"
        IS_SET = "is_set", "is set"
        IS_EMPTY = "is_empty", "is empty"

    name = models.CharField(max_length=100)
    field = models.CharField(
        max_length=100,
        help_text="A lead field (employees, title, intent_signals…) or custom.<key>.",
    )
    operator = models.CharField(max_length=12, choices=Operator.choices)
    value = models.CharField(max_length=500, blank=True)
    points = models.IntegerField(help_text="May be negative.")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        from leadhub.leads.conditions import ConditionError, check_comparison

        try:
            check_comparison(self.field, self.operator, self.value)
        except ConditionError as exc:
            raise ValidationError({exc.field: exc.message}) from None


class PipelineSettings(models.Model):
    """One row: score thresholds and the fields a lead needs before it can be routed."""

    sales_ready_score = models.IntegerField(
        default=60, help_text="Scores at or above this are sales-ready."
    )
    nurture_below_score = models.IntegerField(
        default=0,
        help_text="Scores below this go to nurture instead of a rep (0: only negative scores).",
    )
    routing_required_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Leads missing any of these go to triage, e.g. ["company", "country"].',
    )

    class Meta:
        verbose_name = "pipeline settings"
        verbose_name_plural = "pipeline settings"

    def __str__(self) -> str:
        return "Pipeline settings"

    def clean(self) -> None:
        from leadhub.leads.intake import LEAD_FIELDS

        if self.nurture_below_score > self.sales_ready_score:
            raise ValidationError(
                {"nurture_below_score": "Must not be above the sales-ready score."}
            )
        unknown = [f for f in self.routing_required_fields if f not in LEAD_FIELDS]
        if unknown:
            raise ValidationError(
                {"routing_required_fields": f"Unknown lead fields: {', '.join(unknown)}."}
            )

    @classmethod
    def load(cls) -> "PipelineSettings":
        obj, _ = cls.objects.get_or_create(
            pk=1, defaults={"routing_required_fields": ["company", "country"]}
        )
        return obj
