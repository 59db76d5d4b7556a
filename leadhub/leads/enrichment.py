"""Enrichment providers: fill a lead's blank firmographic fields from its company domain.

A provider answers for many domains at once so a CSV import costs one lookup per chunk.
Providers are listed in settings.LEADHUB_ENRICHMENT_PROVIDERS and tried in order; none may
reach the network in tests. The local table (EnrichmentRecord) is the default.
"""

from collections.abc import Collection
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from leadhub.leads.normalize import registrable_domain

ENRICHABLE_FIELDS = (
    "company",
    "website",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "state",
    "city",
    "timezone",
)


class EnrichmentProvider(Protocol):
    name: str

    def lookup_many(self, domains: Collection[str]) -> dict[str, dict[str, Any]]:
        """Known facts per domain, restricted to ENRICHABLE_FIELDS; unknown domains omitted."""


class LocalTableProvider:
    name = "local_table"

    def lookup_many(self, domains: Collection[str]) -> dict[str, dict[str, Any]]:
        from leadhub.leads.models import EnrichmentRecord

        if not domains:
            return {}
        rows = EnrichmentRecord.objects.filter(domain__in=list(domains)).values(
            "domain", *ENRICHABLE_FIELDS
        )
        return {
            row.pop("domain"): {k: v for k, v in row.items() if v not in (None, "")} for row in rows
        }


@cache
def _providers(paths: tuple[str, ...]) -> list[EnrichmentProvider]:
    return [import_string(path)() for path in paths]


def providers() -> list[EnrichmentProvider]:
    return _providers(tuple(settings.LEADHUB_ENRICHMENT_PROVIDERS))


def enrichment_for(domains: Collection[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per domain: (provider name, facts) from the first provider that knows it or, failing
    that, its registrable domain (eu.acme.com → acme.com); unknown domains omitted."""
    lookups = {d: (d, registrable_domain(d)) for d in domains}
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    remaining = {name for pair in lookups.values() for name in pair}
    for provider in providers():
        if not remaining:
            break
        for domain, facts in provider.lookup_many(remaining).items():
            found[domain] = (provider.name, facts)
            remaining.discard(domain)
    return {
        domain: found[exact] if exact in found else found[parent]
        for domain, (exact, parent) in lookups.items()
        if exact in found or parent in found
    }
