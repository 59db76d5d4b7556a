"""Routing decisions in words: the renderer shared by the decision pages, the lead page,
the preview and the rep-facing pages (``leadhub.web.words``), and the read-only list."""

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from leadhub.leads.admin import ReadOnlyAdmin
from reps.models import Rep
from routing.engine.decide import METHOD_WORDS, REASON_WORDS
from routing.models import Decision, Pool


def decision_context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored or previewed decision (``engine.Decision.to_dict()``) in words, for
    admin/routing/decision.html. Names are read in two queries; nothing is written."""
    candidates = payload.get("candidates") or []
    pool_ids = {c.get("pool_id") for c in candidates} | {payload.get("pool_id")}
    pools = Pool.objects.in_bulk([p for p in pool_ids if p is not None])
    rep_id = payload.get("rep_id")
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first() if rep_id else None
    pool = pools.get(payload.get("pool_id"))
    method = payload.get("method") or ""
    rows = [
        {
            "name": c.get("name") or f"#{c.get('rep_id')}",
            "pool": pools.get(c.get("pool_id")) or "—",
            "eligible": "yes" if c.get("eligible") else "no",
            "chosen": bool(c.get("chosen")),
            "reasons": ", ".join(REASON_WORDS.get(r, r) for r in c.get("reasons") or []),
            "metrics": ", ".join(f"{k}: {v}" for k, v in (c.get("metrics") or {}).items()),
        }
        for c in candidates
    ]
    return {
        "outcome": payload.get("outcome") or "",
        "rule_name": payload.get("rule_name") or "",
        "ruleset_version": payload.get("ruleset_version"),
        "method": METHOD_WORDS.get(method, method.replace("_", " ")),
        "pool": pool,
        "rep": rep,
        "fallback_used": payload.get("fallback_used", False),
        "fallback_reason": payload.get("fallback_reason") or "",
        "explanation": payload.get("explanation") or [],
        "candidates": rows,
    }


def render_decision(payload: Mapping[str, Any]) -> SafeString:
    return render_to_string("admin/routing/decision.html", decision_context(payload))


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "lead",
        "kind",
        "outcome",
        "rep",
        "rule_name",
        "method",
        "pool",
        "ruleset_version",
        "created_at",
        "effective",
    ]
    list_filter = ["kind", "outcome", "effective", "method", "pool", "ruleset_version"]
    list_select_related = ["lead", "rep__user", "pool"]
    search_fields = ["=lead__id", "lead__email", "rule_name"]
    date_hierarchy = "created_at"
    fields = [
        "lead",
        ("kind", "effective"),
        ("created_at", "actor"),
        "reason",
        "explained",
    ]
    readonly_fields = ["lead", "kind", "effective", "created_at", "actor", "reason", "explained"]

    @admin.display(description="Decision")
    def explained(self, decision: Decision) -> SafeString:
        return render_decision(decision.payload)
