"""Pages for people: sign-in, and where each role lands."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leadhub.web.roles import MANAGER, REP, REVOPS, role_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Reps land on their queue, managers and RevOps on the dashboard."""
    role = role_of(request.user)
    if role == REP:
        return redirect("web:queue")
    if role in (MANAGER, REVOPS):
        return redirect("web:dashboard")
    return render(request, "web/no_role.html", status=403)
