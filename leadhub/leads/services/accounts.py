"""Accounts: saving one with its domains."""

from django.db import transaction

from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import (
    Account,
    AccountDomain,
)
from leadhub.leads.normalize import domain_of, normalize_company_name


def account_save(*, account: Account, domains: list[str] | None = None) -> Account:
    """Save an account with its matching key, and optionally replace its domains."""
    with transaction.atomic():
        account.name_key = normalize_company_name(account.name)
        account.save()
        if domains is not None:
            clean = sorted({domain_of(d) for d in domains} - {""})
            taken = AccountDomain.objects.filter(domain__in=clean).exclude(account=account)
            if taken.exists():
                raise LeadDataError(
                    {
                        "domains": [
                            f"{d.domain} belongs to {d.account}."
                            for d in taken.select_related("account")
                        ]
                    }
                )
            account.domains.exclude(domain__in=clean).delete()
            existing = set(account.domains.values_list("domain", flat=True))
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in clean if d not in existing]
            )
        return account
