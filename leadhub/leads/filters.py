import django_filters

from leadhub.leads.models import Lead


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class LeadFilter(django_filters.FilterSet):
    status = CharInFilter(field_name="status", help_text="One or more, comma-separated.")
    owner = django_filters.NumberFilter(field_name="owner_id")
    source = CharInFilter(field_name="source")
    country = CharInFilter(field_name="country")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    captured_after = django_filters.IsoDateTimeFilter(field_name="captured_at", lookup_expr="gte")
    captured_before = django_filters.IsoDateTimeFilter(field_name="captured_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(("captured_at", "captured_at"), ("score", "score"))
    )

    class Meta:
        model = Lead
        fields = []
