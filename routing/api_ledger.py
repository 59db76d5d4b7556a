"""``GET /api/pools/{id}/ledger/`` and ``GET /api/fairness/ledger/``: the fairness ledger
(``routing.ledger``) as JSON. Query parameters: ``start`` and ``end`` (UTC days, the end
included; default the last 30 days), ``value`` (what a lead is worth: score,
annual_revenue, employees or custom.<key>) and, for the list, ``pool``. Managers read
their team's pools, RevOps every pool; reps and intake keys get a 403, a pool one may not
read a 404, bad input a 400 naming the field."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.leads.auth import intake_key_of
from routing.ledger import LedgerForm, ledger_pools_for, pool_ledger_read

PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (UTC)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (UTC), included."),
    OpenApiParameter(
        "value",
        OpenApiTypes.STR,
        description="What a lead is worth: score (default), annual_revenue, employees or "
        "custom.<key>.",
    ),
]
RESPONSES = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}"),
    403: OpenApiResponse(description="Not a manager or RevOps."),
}
DESCRIPTION = (
    "Per member of the pool over the period: weight, hours available (working hours, time "
    "off and holidays in the member's zone), expected count and value (each counted lead "
    "shared by weight over the members scheduled at its instant), received and refunded "
    "(junk, duplicate) count and value, credits for time off (the share of leads it would "
    "have had while away), the catch-up the pool's method gives back of them, the engine's "
    "catch-up turns owed now, and the balance (received - refunded - expected)."
)


class LedgerAccess(permissions.BasePermission):
    message = "Only managers and RevOps read the fairness ledger."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        if not (request.user and request.user.is_authenticated):
            return False
        try:
            ledger_pools_for(request.user)
        except DjangoPermissionDenied:
            return False
        return True


def _form(request, pools) -> LedgerForm:
    form = LedgerForm(request.query_params, pools=pools)
    if not form.is_valid():
        raise ValidationError(
            {
                field: [e["message"] for e in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    return form


class PoolLedgerView(APIView):
    permission_classes = [LedgerAccess]

    @extend_schema(
        operation_id="pool_ledger",
        tags=["fairness"],
        parameters=PARAMETERS,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The pool's ledger."),
            404: OpenApiResponse(description="No such pool, or not one you may read."),
            **RESPONSES,
        },
        description=DESCRIPTION,
    )
    def get(self, request, pk: int):
        pools = ledger_pools_for(request.user)
        pool = pools.filter(pk=pk).first()
        if pool is None:
            raise NotFound("No such pool, or not one you may read.")
        form = _form(request, pools)
        start, end = form.period()
        view = pool_ledger_read(
            pool=pool, start=start, end=end, value_field=form.cleaned_data["value"]
        )
        return Response(view.as_data())


class FairnessLedgerView(APIView):
    permission_classes = [LedgerAccess]

    @extend_schema(
        operation_id="fairness_ledger",
        tags=["fairness"],
        parameters=[
            *PARAMETERS,
            OpenApiParameter("pool", OpenApiTypes.INT, description="One pool (yours)."),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="{pools: [ledger, ...]}"),
            **RESPONSES,
        },
        description="The ledger of every pool you may read (or of ``pool``). " + DESCRIPTION,
    )
    def get(self, request):
        pools = ledger_pools_for(request.user)
        form = _form(request, pools)
        start, end = form.period()
        chosen = [form.cleaned_data["pool"]] if form.cleaned_data.get("pool") else list(pools)
        value = form.cleaned_data["value"]
        return Response(
            {
                "pools": [
                    pool_ledger_read(pool=p, start=start, end=end, value_field=value).as_data()
                    for p in chosen
                ]
            }
        )
