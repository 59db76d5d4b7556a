"""Reads that apply permissions: who may see which leads, and who works one."""

from django.db.models import QuerySet

from leadhub.leads.models import Lead
from reps.selectors import REVOPS_GROUP, rep_of, user_sees_everything

__all__ = ["REVOPS_GROUP", "leads_visible_to", "user_may_work_lead", "user_sees_everything"]


def leads_visible_to(user) -> QuerySet[Lead]:
    """RevOps and staff see every lead; a manager the leads owned by their team; a rep
    their own leads; anyone else none."""
    leads = Lead.objects.select_related("owner__user", "account")
    if user_sees_everything(user):
        return leads
    rep = getattr(user, "rep", None)
    if rep is None or not rep.active:
        return leads.none()
    if rep.role == "manager":
        return leads.filter(owner__team_id=rep.team_id)
    return leads.filter(owner=rep)


def user_may_work_lead(user, lead: Lead) -> bool:
    """May ``user`` accept, decline, touch or release ``lead``: only its owner (an active
    rep) may; their manager and RevOps may not act for them."""
    me = rep_of(user)
    return me is not None and lead.owner_id == me.pk
