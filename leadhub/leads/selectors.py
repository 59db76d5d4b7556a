"""Reads that apply permissions: who may see which leads."""

from django.db.models import QuerySet

from leadhub.leads.models import Lead

REVOPS_GROUP = "RevOps"


def user_sees_everything(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return user.groups.filter(name=REVOPS_GROUP).exists()


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
