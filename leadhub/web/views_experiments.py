"""The A/B routing experiments for managers and RevOps: the list, and one experiment's
figures per arm with the test of the difference in conversion and the verdict in words
(``routing.experiments.selectors``). Reps get a 403; experiments are set up by RevOps in
the admin or the API."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from leadhub.web.roles import MANAGER, REVOPS, role_of
from routing.experiments.selectors import (
    arm_name,
    experiment_results,
    experiment_state,
    experiments_all,
    segment_in_words,
)


def _readers_only(request: HttpRequest) -> None:
    if role_of(request.user) not in (REVOPS, MANAGER):
        raise PermissionDenied("Experiments are for managers and RevOps.")


@login_required
@require_GET
def experiments(request: HttpRequest) -> HttpResponse:
    _readers_only(request)
    rows = [
        {
            "experiment": e,
            "state": experiment_state(e),
            "arm_a": arm_name(e, "a"),
            "arm_b": arm_name(e, "b"),
        }
        for e in experiments_all()
    ]
    return render(request, "web/dashboard/experiments.html", {"rows": rows})


@login_required
@require_GET
def experiment(request: HttpRequest, pk: int) -> HttpResponse:
    _readers_only(request)
    exp = get_object_or_404(experiments_all(), pk=pk)
    context: dict[str, Any] = {
        "experiment": exp,
        "state": experiment_state(exp),
        "segment": segment_in_words(exp),
        "results": experiment_results(exp),
    }
    return render(request, "web/dashboard/experiment.html", context)
