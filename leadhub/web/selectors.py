"""Reads for the rep's pages: their open leads, their claim queues, one lead with what it
needs, and the version the queue page polls on. Each reads in a fixed number of queries
however many leads there are; permissions come from the selectors of the apps below
(``routing.selectors.user_may_see_lead`` and the rest of who may act on a lead, the API's
answers too; ``claim_queues_of`` for who is in a queue)."""

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from leadhub.leads.models import Lead, LeadEvent
from reps.models import Rep
from routing.models import Decision, Pool
from routing.selectors import claim_queues_of, user_may_see_lead
from sla.models import SlaClock
from sla.selectors import notifications_of

# The statuses a rep works, in the order the queue shows them: new work first.
WORK_STATUSES = ("assigned", "accepted", "contacted", "qualified")
_WORK_RANK = Case(
    *(When(status=status, then=Value(rank)) for rank, status in enumerate(WORK_STATUSES)),
    output_field=IntegerField(),
)
# Clocks still counting (or standing still) are the ones a rep needs to see in a list.
LIVE_CLOCKS = (SlaClock.Status.RUNNING, SlaClock.Status.PAUSED)


def _live_clocks() -> Prefetch:
    return Prefetch(
        "sla_clocks",
        queryset=SlaClock.objects.filter(status__in=LIVE_CLOCKS).order_by("due_at", "pk"),
        to_attr="live_clocks",
    )


def _queued_in(pools: QuerySet[Pool]) -> QuerySet[Lead]:
    """Leads waiting in one of ``pools`` (their effective decision put them there)."""
    waiting = Decision.objects.filter(lead=OuterRef("pk"), effective=True, pool__in=pools)
    return Lead.objects.filter(status="queued").filter(Exists(waiting))


def _claimed() -> Exists:
    return Exists(
        Decision.objects.filter(lead=OuterRef("pk"), effective=True, kind=Decision.Kind.CLAIM)
    )


def queue_leads(rep: Rep) -> QuerySet[Lead]:
    """The rep's open leads: assigned (newest first), then accepted, contacted, qualified;
    with the account, the live SLA clocks and whether it was claimed from a queue
    (``claimed``: it may be released). Two queries."""
    return (
        Lead.objects.filter(owner=rep, status__in=WORK_STATUSES)
        .select_related("account")
        .annotate(work_rank=_WORK_RANK, claimed=_claimed())
        .prefetch_related(_live_clocks())
        .order_by("work_rank", "-assigned_at", "-pk")
    )


def queued_leads(pools: QuerySet[Pool]) -> QuerySet[Lead]:
    """Leads waiting in ``pools``, the longest waiting first, each with ``queue_id`` (its
    pool) and its live clocks (the claim deadline). Two queries."""
    pool_of = Decision.objects.filter(lead=OuterRef("pk"), effective=True).values("pool_id")[:1]
    queued_at = Decision.objects.filter(lead=OuterRef("pk"), effective=True).values("created_at")[
        :1
    ]
    return (
        _queued_in(pools)
        .select_related("account")
        .annotate(queue_id=pool_of, queued_at=queued_at)
        .prefetch_related(_live_clocks())
        .order_by("queued_at", "pk")
    )


def claim_board(rep: Rep) -> list[tuple[Pool, list[Lead]]]:
    """Each claim queue of the rep with the leads waiting in it. Three queries."""
    pools = list(claim_queues_of(rep).order_by("name"))
    if not pools:
        return []
    waiting: dict[int, list[Lead]] = {pool.pk: [] for pool in pools}
    for lead in queued_leads(Pool.objects.filter(pk__in=list(waiting))):
        waiting[lead.queue_id].append(lead)
    return [(pool, waiting[pool.pk]) for pool in pools]


def lead_for_page(user, lead_id: int) -> Lead | None:
    """The lead with its clocks and events, if the user may see it (else None: a 404)."""
    if not user_may_see_lead(user, lead_id):
        return None
    return (
        Lead.objects.select_related("owner__user", "owner__team", "account__owner__user", "form")
        .annotate(claimed=_claimed())
        .prefetch_related(
            Prefetch(
                "sla_clocks",
                queryset=SlaClock.objects.select_related("policy", "rep__user").order_by(
                    "started_at", "pk"
                ),
                to_attr="all_clocks",
            ),
            Prefetch(
                "events",
                queryset=LeadEvent.objects.select_related("actor").order_by("at", "pk"),
                to_attr="timeline",
            ),
        )
        .get(pk=lead_id)
    )


def queue_row(rep: Rep, lead_id: int) -> Lead | None:
    """One row of the rep's queue (None when the lead has left it)."""
    return queue_leads(rep).filter(pk=lead_id).first()


def lead_decisions(lead: Lead) -> list[Decision]:
    """Every routing decision of the lead, newest first; the effective one is among them."""
    return list(Decision.objects.filter(lead=lead).select_related("rep__user", "pool", "actor"))


def queue_version(user, rep: Rep) -> str:
    """What the queue page shows, in a few numbers: the rep's open leads and the leads in
    their queues (how many, last change) and their unread notifications. Equal versions,
    nothing to redraw. Two queries."""
    mine = Q(owner=rep, status__in=WORK_STATUSES)
    waiting = Q(pk__in=_queued_in(claim_queues_of(rep)).values("pk"))
    leads = Lead.objects.filter(mine | waiting).aggregate(
        mine=Count("pk", filter=mine), waiting=Count("pk", filter=~mine), last=Max("updated_at")
    )
    last = leads["last"].timestamp() if leads["last"] else 0
    return f"{leads['mine']}.{leads['waiting']}.{last:.6f}.{unread_count(user)}"


def unread_count(user) -> int:
    return notifications_of(user, unread_only=True).count()
