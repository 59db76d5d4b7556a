"""The fairness ledger page: one pool's ledger over a period (``routing.ledger``, the same
reading as ``GET /api/pools/{id}/ledger/``). Managers choose among their team's pools, RevOps
among every pool; anyone else gets a 403, bad input the form again with a 400."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from routing.ledger import LedgerForm, ledger_pools_for, pool_ledger_read


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    pools = ledger_pools_for(request.user)  # PermissionDenied (403) for reps
    form = LedgerForm(request.GET, pools=pools)
    context = {"form": form, "here": "ledger", "view": None, "data": None}
    if not form.is_valid():
        return render(request, "web/dashboard/ledger.html", context, status=400)
    pool = form.cleaned_data.get("pool") or pools.first()
    if pool is not None:
        start, end = form.period()
        view = pool_ledger_read(
            pool=pool, start=start, end=end, value_field=form.cleaned_data["value"]
        )
        context.update(view=view, data=view.as_data(), pool=pool)
    return render(request, "web/dashboard/ledger.html", context)
