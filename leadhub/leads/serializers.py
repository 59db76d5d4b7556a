"""Read representations of leads for the API, and the documented shape of intake input."""

from rest_framework import serializers

from leadhub.leads.models import Account, Lead, LeadEvent


class RepRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class AccountRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "segment"]


class LeadEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "at", "actor", "data"]


LEAD_READ_FIELDS = [
    "id",
    "status",
    "owner",
    "score",
    "score_band",
    "account",
    "is_partial",
    "channel",
    "email",
    "email_domain",
    "first_name",
    "last_name",
    "phone",
    "title",
    "company",
    "website",
    "industry",
    "employees",
    "employee_band",
    "annual_revenue",
    "country",
    "state",
    "city",
    "postal_code",
    "timezone",
    "language",
    "source",
    "product_interest",
    "message",
    "pages",
    "intent_signals",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "custom",
    "captured_at",
    "updated_at",
    "assigned_at",
    "accepted_at",
    "first_touch_at",
    "closed_at",
]


_DATETIME = serializers.DateTimeField()
_DECIMAL = serializers.DecimalField(max_digits=16, decimal_places=2)
_DATETIME_FIELDS = frozenset(
    {"captured_at", "updated_at", "assigned_at", "accepted_at", "first_touch_at", "closed_at"}
)


class LeadSerializer(serializers.ModelSerializer):
    owner = RepRefSerializer(read_only=True, allow_null=True)
    # Not the model's EmailField (format: email): a lead that came with a phone only has "".
    email = serializers.CharField(read_only=True, help_text="Lower-cased; empty if none.")
    account = AccountRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Lead
        fields = LEAD_READ_FIELDS
        read_only_fields = LEAD_READ_FIELDS

    def to_representation(self, lead: Lead) -> dict:
        """The same output as ModelSerializer's (a test pins them together), written out:
        ModelSerializer rebuilds its 42 fields for every lead, which was a fifth of the
        time of an API intake."""
        data = {}
        for name in LEAD_READ_FIELDS:
            if name == "owner":
                owner = lead.owner
                value = None if owner is None else {"id": owner.pk, "name": owner.display_name}
            elif name == "account":
                account = lead.account
                value = (
                    None
                    if account is None
                    else {"id": account.pk, "name": account.name, "segment": account.segment}
                )
            else:
                value = getattr(lead, name)
                if value is not None:
                    if name in _DATETIME_FIELDS:
                        value = _DATETIME.to_representation(value)
                    elif name == "annual_revenue":
                        value = _DECIMAL.to_representation(value)
            data[name] = value
        return data


class LeadDetailSerializer(LeadSerializer):
    events = LeadEventSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LEAD_READ_FIELDS, "events"]
        read_only_fields = fields

    def to_representation(self, lead: Lead) -> dict:
        events = self.fields["events"].to_representation(lead.events.all())
        return {**super().to_representation(lead), "events": events}


class LeadReceiptSerializer(serializers.ModelSerializer):
    """What an intake key gets back: enough to correlate, nothing about the person."""

    class Meta:
        model = Lead
        fields = ["id", "status", "score", "captured_at"]
        read_only_fields = fields


class LeadInputSerializer(serializers.Serializer):
    """The fields accepted by POST /api/leads/ (documentation; validation is
    leadhub.leads.intake.clean_lead_data, shared with the web form and CSV import)."""

    email = serializers.EmailField(required=False, help_text="Email or phone is required.")
    first_name = serializers.CharField(required=False, max_length=100)
    last_name = serializers.CharField(required=False, max_length=100)
    phone = serializers.CharField(
        required=False, help_text="Normalised to E.164 when the country allows."
    )
    title = serializers.CharField(required=False, max_length=150)
    company = serializers.CharField(required=False, max_length=200)
    website = serializers.CharField(
        required=False, help_text="URL or domain; stored as the domain."
    )
    industry = serializers.CharField(required=False, max_length=100)
    employees = serializers.CharField(required=False, help_text="250, 1,200, 51-200 or 10000+.")
    annual_revenue = serializers.CharField(required=False, help_text="1200000, 1.2M, $800k.")
    country = serializers.CharField(
        required=False, help_text="Name or ISO code; stored as alpha-2."
    )
    state = serializers.CharField(
        required=False, help_text="Name or code; stored as the ISO 3166-2 code."
    )
    city = serializers.CharField(required=False, max_length=100)
    postal_code = serializers.CharField(required=False, max_length=20)
    timezone = serializers.CharField(required=False, help_text="IANA name, e.g. Europe/Berlin.")
    language = serializers.CharField(required=False, help_text="ISO 639-1 code or language name.")
    source = serializers.CharField(required=False, max_length=100)
    product_interest = serializers.CharField(required=False, max_length=100)
    message = serializers.CharField(required=False, max_length=10_000)
    pages = serializers.ListField(child=serializers.CharField(), required=False)
    intent_signals = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="e.g. demo_request, pricing_page"
    )
    utm_source = serializers.CharField(required=False, max_length=100)
    utm_medium = serializers.CharField(required=False, max_length=100)
    utm_campaign = serializers.CharField(required=False, max_length=100)
    custom = serializers.DictField(
        required=False, help_text="Any JSON object; rules can read custom.<key>."
    )
