from datetime import UTC, timedelta

import django_filters
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField

from leadhub.leads.models import Lead

# The UTC offsets places use (Baker Island to Kiribati's Line Islands). PostgreSQL refuses
# an offset past ±15:59 with a DataError, so an unchecked one was a 500 instead of a 400.
MIN_OFFSET, MAX_OFFSET = timedelta(hours=-12), timedelta(hours=14)


def _hhmm(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time with a real UTC offset (or none: the default time zone),
    handed on in UTC; anything else is the parameter's 400 saying why."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and not MIN_OFFSET <= offset <= MAX_OFFSET:
            raise forms.ValidationError(
                f"{_hhmm(offset)} is not a UTC offset: offsets run from "
                f"{_hhmm(MIN_OFFSET)} to {_hhmm(MAX_OFFSET)}.",
                code="invalid_offset",
            )
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                "The date is out of range (years 1 to 9999, in UTC).", code="out_of_range"
            ) from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """Every date-time filter of the API: ISO 8601, checked by ``UtcDateTimeField``."""

    field_class = UtcDateTimeField


class FilterSet(django_filters.FilterSet):
    """The API's filter sets: model date-time fields filter through ``DateTimeFilter``, so
    no declared or generated date-time filter can hand the database a bad offset."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": DateTimeFilter},
    }


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class LeadFilter(FilterSet):
    status = CharInFilter(field_name="status", help_text="One or more, comma-separated.")
    owner = django_filters.NumberFilter(field_name="owner_id")
    source = CharInFilter(field_name="source")
    country = CharInFilter(field_name="country")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    captured_after = DateTimeFilter(field_name="captured_at", lookup_expr="gte")
    captured_before = DateTimeFilter(field_name="captured_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(("captured_at", "captured_at"), ("score", "score"))
    )

    class Meta:
        model = Lead
        fields = []
