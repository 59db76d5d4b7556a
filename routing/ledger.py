"""The fairness ledger read from the database: per pool and period, each member's expected
share, what it received (count and value), credits for time off, refunds for junk and
duplicates, and the balance. The arithmetic is ``routing.engine.ledger`` (shared with the
distribution methods' catch-up); this module loads its inputs in a fixed number of queries
per pool and says who may read which pool. The API (``routing.api_ledger``) and the
manager's page (``leadhub.web.views_ledger``) both parse their input with ``LedgerForm`` and
read with ``pool_ledger_read``.

What history the ledger has: decisions (who received which lead, when, refunds), the leads'
status and merge events, time off and holidays (dated rows). What it has not: presence and
caps, and changes to working hours, weights, ramp and membership, which are read as they
are now.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from leadhub.leads.models import LeadEvent
from reps.availability import RepSnapshot, WorkInterval
from reps.models import Holiday, Rep, TimeOff
from reps.selectors import rep_of, user_sees_everything
from routing import engine
from routing.engine import ledger as arithmetic
from routing.models import Decision, Pool, PoolMember, PoolState
from routing.selectors import _performance, pool_settings_from

DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_VALUE = "score"
# Lead columns a ledger may weigh leads by; or custom.<key>, a number in the lead's custom
# fields (anything else there counts 0).
VALUE_COLUMNS = {"score": "lead__score", "annual_revenue": "lead__annual_revenue",
                 "employees": "lead__employees"}  # fmt: skip
CUSTOM_KEY = re.compile(r"custom\.([A-Za-z0-9_]{1,64})")


class LedgerForm(forms.Form):
    """The period (UTC days, the end included; default the last 30 days), the value leads
    are weighed by, and, where the URL does not name it, the pool (among ``pools``)."""

    pool = forms.ModelChoiceField(queryset=Pool.objects.none(), required=False)
    start = forms.DateField(required=False, help_text="First day (UTC).")
    end = forms.DateField(required=False, help_text="Last day (UTC), included.")
    value = forms.CharField(
        required=False,
        max_length=71,
        help_text="What a lead is worth: score, annual_revenue, employees or custom.<key>.",
    )

    def __init__(self, *args: Any, pools: QuerySet[Pool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if pools is not None:
            self.fields["pool"].queryset = pools

    def clean_value(self) -> str:
        value = self.cleaned_data.get("value") or DEFAULT_VALUE
        if value not in VALUE_COLUMNS and not CUSTOM_KEY.fullmatch(value):
            raise forms.ValidationError(
                "Weigh leads by score, annual_revenue, employees or custom.<key> "
                "(letters, digits and _)."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        today = timezone.now().astimezone(UTC).date()
        end: date = data.get("end") or today
        start: date = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if end >= date.max - timedelta(days=1):
            self.add_error("end", "The end is too far in the future.")
        elif start > end:
            self.add_error("end", "The end must not be before the start.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"A ledger covers at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's midnight to the midnight after the
        last."""
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        return (
            datetime.combine(start, time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC),
        )


def ledger_pools_for(user) -> QuerySet[Pool]:
    """The pools whose ledger ``user`` may read: RevOps every pool, a manager their team's.
    Claim queues have no shares (members take leads) and no ledger. Anyone else:
    ``PermissionDenied``."""
    pools = Pool.objects.exclude(method=Pool.Method.CLAIM_QUEUE).select_related("team")
    if user_sees_everything(user):
        return pools.order_by("name", "pk")
    me = rep_of(user)
    if me is None or me.role != Rep.Role.MANAGER:
        raise PermissionDenied("Only managers and RevOps read the fairness ledger.")
    return pools.filter(team_id=me.team_id).order_by("name", "pk")


def _engine_pool(pool: Pool) -> engine.Pool:
    """The pool as the engine sees it, members in rotation order: its listed members, or,
    when it lists nobody, the active reps of its team (``routing.selectors.routing_world``)."""
    members = list(PoolMember.objects.filter(pool=pool).order_by("position", "pk"))
    member_ids = tuple(m.rep_id for m in members)
    if not member_ids and pool.team_id:
        member_ids = tuple(
            Rep.objects.filter(team_id=pool.team_id, active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    weights = {m.rep_id: float(m.weight) for m in members if m.weight is not None}
    try:
        settings = pool_settings_from(pool.settings, weights)
    except ValueError:  # a pool saved around check_pool_settings: read what can be read
        settings = engine.PoolSettings(weights=weights)
    return engine.Pool(pool.pk, pool.name, pool.method, member_ids, settings, pool.team_id)


def _schedules(rep_ids: set[int], start: datetime, end: datetime) -> dict[int, RepSnapshot]:
    """The reps' schedules over the period: working hours, time off and holidays (one day
    either side: a rep's local day can be a UTC day off), weight and ramp."""
    reps = list(
        Rep.objects.filter(pk__in=sorted(rep_ids))
        .select_related("user")
        .prefetch_related(
            "working_hours",
            Prefetch(
                "time_off",
                queryset=TimeOff.objects.filter(end__gt=start, start__lt=end).order_by("start"),
            ),
        )
    )
    calendars = {r.holiday_calendar_id for r in reps if r.holiday_calendar_id is not None}
    holidays: dict[int, set[date]] = {}
    if calendars:
        window = (start.date() - timedelta(days=1), end.date() + timedelta(days=1))
        for calendar_id, day in Holiday.objects.filter(
            calendar_id__in=calendars, date__range=window
        ).values_list("calendar_id", "date"):
            holidays.setdefault(calendar_id, set()).add(day)
    return {
        rep.pk: RepSnapshot(
            id=rep.pk,
            name=rep.display_name,
            team_id=rep.team_id,
            active=rep.active,
            timezone=rep.timezone,
            working_hours=tuple(
                WorkInterval(h.weekday, h.start, h.end)
                for h in sorted(rep.working_hours.all(), key=lambda h: (h.weekday, h.start))
            ),
            time_off=tuple((t.start, t.end) for t in rep.time_off.all()),
            holidays=frozenset(holidays.get(rep.holiday_calendar_id, ())),
            weight=rep.weight,
            ramp_until=rep.ramp_until,
            ramp_share=float(rep.ramp_share),
        )
        for rep in reps
    }


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return 0.0
    else:
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _counted_leads(
    pool: Pool, start: datetime, end: datetime, value_field: str
) -> list[arithmetic.LedgerLead]:
    """The pool's rotation decisions in the period (effective or since superseded: the turn
    was taken), with the lead's value and why it was taken back out: a lead merged into
    another is a duplicate; a junk lead (refunded or not yet) is junk."""
    custom = CUSTOM_KEY.fullmatch(value_field)
    column = "lead__custom" if custom else VALUE_COLUMNS[value_field]
    merged = LeadEvent.objects.filter(lead=OuterRef("lead_id"), kind=LeadEvent.Kind.MERGED)
    rows = (
        Decision.objects.filter(
            pool=pool,
            rotation=True,
            rep__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(merged=Exists(merged))
        .order_by()
        .values_list("created_at", "rep_id", "refunded_at", "lead__status", "merged", column)
    )
    out = []
    for at, rep_id, refunded_at, status, is_merged, raw in rows.iterator(chunk_size=2000):
        if custom:
            raw = raw.get(custom.group(1)) if isinstance(raw, dict) else None
        refund = ""
        if is_merged:
            refund = arithmetic.DUPLICATE
        elif refunded_at is not None or status == "junk":
            refund = arithmetic.JUNK
        out.append(arithmetic.LedgerLead(at, rep_id, _number(raw), refund))
    return out


def pool_ledger_read(
    *, pool: Pool, start: datetime, end: datetime, value_field: str = DEFAULT_VALUE
) -> "LedgerView":
    """The pool's ledger over [start, end), in six queries however many leads and members
    (one more for holidays, for a pool listing no members, for a performance-weighted
    pool)."""
    engine_pool = _engine_pool(pool)
    leads = _counted_leads(pool, start, end, value_field)
    reps = _schedules(set(engine_pool.member_ids) | {x.rep_id for x in leads}, start, end)
    performance = {}
    if pool.method == Pool.Method.PERFORMANCE_WEIGHTED:
        performance = _performance(list(engine_pool.member_ids), end)
    ledger = arithmetic.pool_ledger(engine_pool, reps, leads, start, end, performance=performance)
    state = PoolState.objects.filter(pool=pool).values_list("credits", flat=True).first() or {}
    credits_now = {int(k): v for k, v in state.items()}
    return LedgerView(ledger, value_field, pool.team_id, credits_now)


@dataclass(frozen=True)
class LedgerView:
    """A pool's ledger with what the engine holds now: the catch-up turns it owes each
    member (``PoolState.credits``, read by the round robin on the next lead)."""

    ledger: arithmetic.PoolLedger
    value_field: str
    team_id: int | None
    credits_now: dict[int, int]

    def as_data(self) -> dict[str, Any]:
        """The ledger as JSON-ready data (the API's body, the page's numbers)."""
        x = self.ledger

        def r(number: float | None) -> float | None:
            return None if number is None else round(number, 4)

        return {
            "pool_id": x.pool_id,
            "pool": x.pool,
            "method": x.method,
            "team_id": self.team_id,
            "start": x.start.isoformat(),
            "end": x.end.isoformat(),
            "value_field": self.value_field,
            "received_count": x.received_count,
            "received_value": r(x.received_value),
            "refunded_count": x.refunded_count,
            "refunded_value": r(x.refunded_value),
            "unstaffed_count": x.unstaffed_count,
            "members": [
                {
                    "rep_id": m.rep_id,
                    "rep": m.name,
                    "member": m.member,
                    "weight": r(m.weight),
                    "available_hours": r(m.available_hours),
                    "availability": r(m.availability),
                    "expected_count": r(m.expected_count),
                    "expected_value": r(m.expected_value),
                    "received_count": m.received_count,
                    "received_value": r(m.received_value),
                    "refunded_count": m.refunded_count,
                    "refunded_value": r(m.refunded_value),
                    "refunds": dict(m.refunds),
                    "credits_count": r(m.credits_count),
                    "credits_value": r(m.credits_value),
                    "catch_up": r(m.catch_up),
                    "credits_now": self.credits_now.get(m.rep_id, 0),
                    "balance_count": r(m.balance_count),
                    "balance_value": r(m.balance_value),
                }
                for m in x.members
            ],
        }
