from auditlog.models import LogEntry
from django import template
from django.db.models import Model, QuerySet

register = template.Library()

SHOWN = 100


@register.simple_tag
def audit_entries(obj: Model) -> QuerySet[LogEntry]:
    """The newest audit entries of ``obj``, with their actors."""
    return (
        LogEntry.objects.get_for_object(obj)
        .select_related("actor")
        .order_by("-timestamp", "-pk")[:SHOWN]
    )
