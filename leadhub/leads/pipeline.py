"""What happens to a lead between validation and storage: account match, enrichment,
scoring and the first status. Batch-first: ``pipeline_context`` loads, in a fixed number of
queries, everything a batch of leads needs; ``prepare`` is then pure per lead. The single
API intake is a batch of one, so both paths run the same code."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from leadhub.leads.enrichment import enrichment_for
from leadhub.leads.models import Account, AccountDomain, PipelineSettings, ScoringRule
from leadhub.leads.normalize import domain_candidates, employee_band, normalize_company_name
from leadhub.leads.scoring import ScoringRuleData, Thresholds, score_band, score_lead


def company_domain(data: Mapping[str, Any]) -> str:
    """The domain that identifies the lead's company: the email's unless it is free mail or
    a subdomain of free mail."""
    domain = data.get("email_domain") or ""
    free = settings.LEADHUB_FREE_MAIL_DOMAINS
    if domain and not any(c in free for c in domain_candidates(domain)):
        return domain
    return data.get("website") or ""


@dataclass
class PipelineContext:
    thresholds: Thresholds
    required_fields: list[str]
    rules: list[ScoringRuleData]
    enrichment: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    accounts_by_domain: dict[str, Account] = field(default_factory=dict)
    accounts_by_name: dict[str, Account] = field(default_factory=dict)


@dataclass
class Prepared:
    fields: dict[str, Any]
    account: Account | None
    event: dict[str, Any]


def pipeline_context(batch: Iterable[Mapping[str, Any]]) -> PipelineContext:
    batch = list(batch)
    conf = PipelineSettings.load()
    rules = [
        ScoringRuleData(r.id, r.name, r.field, r.operator, r.value, r.points)
        for r in ScoringRule.objects.filter(active=True)
    ]
    ctx = PipelineContext(
        thresholds=Thresholds(conf.sales_ready_score, conf.nurture_below_score),
        required_fields=list(conf.routing_required_fields),
        rules=rules,
    )
    domains = {company_domain(d) for d in batch} - {""}
    if domains:
        ctx.enrichment = enrichment_for(domains)
        candidates = {c for d in domains for c in domain_candidates(d)}
        for row in AccountDomain.objects.filter(domain__in=candidates).select_related("account"):
            ctx.accounts_by_domain[row.domain] = row.account
    # Company names are looked up only for leads whose domain matched no account.
    names = set()
    for data in batch:
        domain = company_domain(data)
        if domain and any(c in ctx.accounts_by_domain for c in domain_candidates(domain)):
            continue
        names.add(normalize_company_name(data.get("company") or ""))
        if domain in ctx.enrichment:
            names.add(normalize_company_name(ctx.enrichment[domain][1].get("company") or ""))
    names.discard("")
    if names:
        for account in Account.objects.filter(name_key__in=names).order_by("-id"):
            ctx.accounts_by_name[account.name_key] = account  # lowest id wins
    return ctx


def prepare(
    data: Mapping[str, Any], ctx: PipelineContext, *, base: Mapping[str, Any] | None = None
) -> Prepared:
    """Enrich, match and score one lead. ``base`` is what is already stored (a partial lead
    being completed); ``data`` is applied on top of it."""
    merged = {**(base or {}), **data}
    fields = dict(data)
    event: dict[str, Any] = {}

    domain = company_domain(merged)
    if domain in ctx.enrichment:
        provider, facts = ctx.enrichment[domain]
        filled = {k: v for k, v in facts.items() if merged.get(k) in (None, "")}
        if filled:
            fields.update(filled)
            merged.update(filled)
            if "employees" in filled:
                fields["employee_band"] = merged["employee_band"] = employee_band(
                    filled["employees"]
                )
            event["enriched"] = {"provider": provider, "fields": sorted(filled)}

    account = None
    match = ""
    for candidate in domain_candidates(domain) if domain else []:
        if candidate in ctx.accounts_by_domain:
            account, match = ctx.accounts_by_domain[candidate], f"domain:{candidate}"
            break
    if account is None:
        key = normalize_company_name(merged.get("company") or "")
        if key in ctx.accounts_by_name:
            account, match = ctx.accounts_by_name[key], f"name:{key}"
    if account is not None:
        event["account"] = {"id": account.pk, "name": account.name, "matched_by": match}
        # The account's name is the company a lead from its domain works for.
        known = {
            "company": account.name,
            "industry": account.industry,
            "employees": account.employees,
        }
        for name, value in known.items():
            if merged.get(name) in (None, "") and value not in (None, ""):
                fields[name] = merged[name] = value
                if name == "employees":
                    fields["employee_band"] = merged["employee_band"] = employee_band(value)

    score, matched = score_lead(merged, ctx.rules)
    band = score_band(score, ctx.thresholds)
    fields["score"], fields["score_band"] = score, band
    event["score"] = {"total": score, "band": band, "rules": matched}

    if merged.get("is_partial"):
        status = "new"
    elif band == "nurture":
        status = "nurture"
        event["status_reason"] = f"score {score} below {ctx.thresholds.nurture_below}"
    else:
        missing = [f for f in ctx.required_fields if merged.get(f) in (None, "", [], {})]
        status = "triage" if missing else "new"
        if missing:
            event["status_reason"] = f"missing fields required for routing: {', '.join(missing)}"
            event["missing"] = missing
    fields["status"] = status
    return Prepared(fields=fields, account=account, event=event)
