"""Who a signed-in person is to the pages: a rep, a manager, or RevOps.

The groups ``Rep``, ``Manager`` and ``RevOps`` exist from the first migration. RevOps is
given by hand (or is a superuser / staff) and sees and configures everything; Rep and
Manager follow the person's rep row (its ``role``), kept in step whenever the rep is
saved, so that the admin's group list tells the truth. What each may see is decided by the
selectors of the apps below (``reps.selectors``), never by the group name alone."""

from django.contrib.auth.models import Group

from reps.models import Rep
from reps.selectors import REVOPS_GROUP, rep_of, user_sees_everything

REP_GROUP = "Rep"
MANAGER_GROUP = "Manager"
GROUPS = (REP_GROUP, MANAGER_GROUP, REVOPS_GROUP)

REVOPS, MANAGER, REP = "revops", "manager", "rep"


def role_of(user) -> str | None:
    """``revops``, ``manager``, ``rep``, or None (signed in but neither: no pages)."""
    if not user.is_authenticated:
        return None
    if user_sees_everything(user):
        return REVOPS
    rep = rep_of(user)
    if rep is None:
        return None
    return MANAGER if rep.role == Rep.Role.MANAGER else REP


def sync_rep_groups(sender, instance: Rep, **kwargs) -> None:
    """A rep is in the Rep group, a manager in the Manager group (not both)."""
    wanted = MANAGER_GROUP if instance.role == Rep.Role.MANAGER else REP_GROUP
    other = REP_GROUP if wanted == MANAGER_GROUP else MANAGER_GROUP
    groups = {g.name: g for g in Group.objects.filter(name__in=[wanted, other])}
    if wanted not in groups:
        groups[wanted], _ = Group.objects.get_or_create(name=wanted)
    user = instance.user
    if other in groups:
        user.groups.remove(groups[other])
    user.groups.add(groups[wanted])
