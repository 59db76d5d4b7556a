"""``{% web_nav %}``: the links of the main navigation for the signed-in person, with their
unread notification count. Any page's ``{% block nav %}`` can use it (the queue pages, the
dashboard)."""

from typing import Any

from django import template

from leadhub.web.roles import REP, role_of
from leadhub.web.selectors import unread_count
from reps.selectors import rep_of

register = template.Library()


@register.inclusion_tag("web/_nav.html", takes_context=True)
def web_nav(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    has_queue = rep_of(request.user) is not None
    return {
        "has_queue": has_queue,
        "dashboard": role_of(request.user) not in (REP, None),
        "unread": unread_count(request.user) if has_queue else 0,
        "here": request.resolver_match.url_name if request.resolver_match else "",
    }
