from datetime import datetime
from typing import Any

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from leadhub.web.dashboard_tables import COUNT, LEAD, RATE, SECONDS, WHEN, lead_url

register = template.Library()


def duration(seconds: float) -> str:
    """1.5 → "1.5 s", 90 → "1 min 30 s", 7200 → "2 h 0 min", 3 days → "3 d 0 h"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {sec} s"


def in_minutes(seconds: float) -> str:
    """How long in the words a manager reads at a glance, to the minute: 30 → "< 1 min",
    240 → "4 min", 7800 → "2 h 10 min", 7200 → "2 h", 3 days and 4 hours → "3 d 4 h"."""
    minutes = int(abs(seconds) / 60 + 0.5)  # half a minute up, not to even
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.filter
def minutes(value: float | None) -> str:
    """Seconds as :func:`in_minutes` says them; "-" for nothing to show."""
    return "-" if value is None else in_minutes(float(value))


@register.filter
def cell(row: dict[str, Any], column) -> str:
    """A table cell as the page shows it; "-" for nothing to show."""
    value = row.get(column.key)
    if value is None or value == "":
        return "-"
    if column.kind == RATE:
        return f"{100 * value:.1f} %"
    if column.kind == SECONDS:
        return duration(float(value))
    if column.kind == COUNT:
        return f"{value:,}"
    if column.kind == WHEN and isinstance(value, datetime):
        return date_format(localtime(value), "Y-m-d H:i T")
    if column.kind == LEAD:
        return format_html('<a href="{}">Lead #{}</a>', lead_url(value), value)
    return str(value)


@register.filter
def seconds(value: float | None) -> str:
    return "-" if value is None else duration(float(value))


@register.filter
def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"
