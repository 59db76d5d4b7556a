"""The fairness ledger's arithmetic, and the catch-up rules the distribution methods share
with it. Pure Python over snapshots: no ORM.

The engine (methods.py) and the ledger (routing.ledger, the page and the API) call the same
functions here, so they cannot disagree:

- ``member_weight`` / ``performance_weight``: a member's weight in a pool at an instant
  (the pool's override, else the rep's weight; ramp-up applies; performance pools multiply
  by the conversion rate). The weighted methods choose with it; the ledger's expected share
  is computed with it.
- ``fair_targets``: how many of ``n`` leads each member should get, proportional to the
  weights. The weighted methods' target (and the shortfall ``_forgive`` looks at); the
  ledger's expected count and value over each stretch of time.
- ``owes_catch_up``: whether a member passed over for these reasons is owed the lead
  (unavailable: yes; the lead did not fit it: no). The round robin's credit; the ledger's
  credits for time off (absences the engine would owe for).
- ``rotation_catch_up`` / ``weighted_catch_up``: how much of what a member missed the pool
  gives back after (``catch_up_limit``). The round robin's and the weighted methods' credit
  rules; the ledger's "catch-up" column.
- ``schedule_reasons``: the engine's own ``rep_eligibility`` on a snapshot stripped of what
  is not stored over time (presence, caps): why a member could not take a lead at an
  instant by its schedule (working hours, time off, holidays, in its own time zone).

What the ledger does that the engine does not: it looks back over a period. The engine
decides one lead at a time from counts (``PoolState``); the ledger sums the expected
shares over every lead of the period, each at its own instant, over the members whose
schedule let them take it then.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from reps.availability import (
    LeadNeeds,
    Presence,
    Reason,
    RepSnapshot,
    effective_weight,
    rep_eligibility,
)
from routing.engine.inputs import Method, Pool, PoolSettings, PoolState

UNKNOWN_REP = "unknown_rep"
# The rep declined this lead or held it before (World.excluded).
EXCLUDED_REP = "previous_owner"
# Reasons that say the lead does not fit the member, rather than the member being away.
FIT_REASONS = frozenset({Reason.MISSING_SKILL, Reason.LANGUAGE, Reason.TIER})
# A member skipped for these is not owed a catch-up turn.
NO_CATCH_UP = FIT_REASONS | {UNKNOWN_REP, EXCLUDED_REP}
# The absences the ledger credits: the member would have worked but was away.
ABSENCES = frozenset({Reason.TIME_OFF, Reason.HOLIDAY})
# The methods whose catch-up follows turns (credits) or shares (raised counts).
ROTATION_METHODS = frozenset({Method.ROUND_ROBIN, Method.SCORE_TIERS})
WEIGHTED_METHODS = frozenset({Method.WEIGHTED_ROUND_ROBIN, Method.PERFORMANCE_WEIGHTED})
# Refund reasons a ledger lead may carry.
JUNK = "junk"
DUPLICATE = "duplicate"


# --- Shared with the distribution methods ---------------------------------------------


def member_weight(settings: PoolSettings, rep: RepSnapshot, at: datetime) -> float:
    """The member's weight in the pool at ``at``: the pool's override, else the rep's own,
    reduced while the rep ramps up."""
    override = settings.weights.get(rep.id)
    if override is None:
        return effective_weight(rep, at)
    return effective_weight(replace(rep, weight=override), at)


def performance_weight(
    settings: PoolSettings, rep: RepSnapshot, rate: float, at: datetime
) -> float:
    """A performance-weighted pool's weight: the conversion rate (at least the pool's
    floor) times the member's weight."""
    return max(settings.performance_floor, rate) * member_weight(settings, rep, at)


def fair_targets(weights: Mapping[int, float], n: float) -> dict[int, float]:
    """Each member's fair part of ``n`` (leads, or a value), proportional to its weight."""
    total = sum(weights.values())
    if not total:
        return {rid: 0.0 for rid in weights}
    scale = n / total
    return {rid: w * scale for rid, w in weights.items()}


def owes_catch_up(reasons: Iterable[str]) -> bool:
    """Is a member that could not take a lead for ``reasons`` owed it? Unavailable (away,
    outside hours, time off, holiday, a cap): yes. The lead did not fit it (skill,
    language, tier), it is not known, or it held the lead before: no, it was not its lead."""
    reasons = tuple(reasons)
    return bool(reasons) and NO_CATCH_UP.isdisjoint(reasons)


def rotation_catch_up(missed: int, limit: int) -> int:
    """Round robin: the catch-up turns a member is owed after missing ``missed`` turns
    (each credit is a whole turn, at most ``catch_up_limit``; 0: none)."""
    return max(0, min(max(0, limit), missed))


def weighted_catch_up(behind: float, limit: int) -> float:
    """Weighted methods: how much of a shortfall of ``behind`` leads the pool gives back.
    Up to max(limit, 1) leads, all of it (a shortfall under one lead is the ordinary
    rounding of shares, and the quota method repays it by itself); beyond, ``limit``."""
    if behind <= 0:
        return 0.0
    if behind <= max(limit, 1):
        return behind
    return float(max(0, limit))


def refund(state: PoolState, rep_id: int, pool: Pool) -> PoolState:
    """Take a junk or duplicate lead back out of the pool's fairness counts (the ledger's
    "refunds" column is these leads).

    The rep's rotation count drops by one (never below 0), so weighted shares recover; in a
    round robin or score-tier pool, whose turns follow the pointer rather than the counts,
    the rep is also owed a catch-up turn, by the round robin's own credit rule
    (``rotation_catch_up``: within the pool's ``catch_up_limit``). Only call it for a lead
    that was counted: owner-routed and manager leads never enter the counts.
    """
    assigned = {**state.assigned, rep_id: max(0, state.assigned.get(rep_id, 0) - 1)}
    credits = dict(state.credits)
    if pool.method in ROTATION_METHODS:
        owed = rotation_catch_up(credits.get(rep_id, 0) + 1, pool.settings.catch_up_limit)
        credits[rep_id] = owed
        credits = {k: v for k, v in credits.items() if v > 0}
    return replace(state, assigned=assigned, credits=credits)


def schedule_reasons(
    rep: RepSnapshot, settings: PoolSettings, method: str, at: datetime
) -> tuple[str, ...]:
    """Why the member could not take a lead of this pool at ``at`` by its schedule alone
    (inactive, working hours when the pool checks them, time off, holidays): the engine's
    ``rep_eligibility`` with presence and caps set aside, as they are not kept over time."""
    rep, needs = _schedule_only(rep, settings, method)
    return tuple(rep_eligibility(rep, needs, at))


def _schedule_only(
    rep: RepSnapshot, settings: PoolSettings, method: str
) -> tuple[RepSnapshot, LeadNeeds]:
    # availability_first looks at working hours whatever the pool says (methods.py).
    check_hours = settings.check_hours or method == Method.AVAILABILITY_FIRST
    stripped = replace(
        rep, presence=Presence.AVAILABLE, max_open=None, max_per_day=None, max_per_week=None
    )
    return stripped, LeadNeeds(check_hours=check_hours, allow_away=True)


# --- The ledger ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLead:
    """A lead counted in the pool's rotation: when, to whom, its value, and why it was
    taken back out (``JUNK``, ``DUPLICATE``; "" when it stands)."""

    at: datetime
    rep_id: int
    value: float = 0.0
    refund: str = ""


@dataclass(frozen=True)
class MemberLedger:
    rep_id: int
    name: str
    member: bool  # False: received leads here but is no longer a member
    weight: float  # at the end of the period (ramp applied; 1.0 where the method ignores it)
    available_hours: float
    availability: float  # available hours ÷ the period's hours
    expected_count: float
    expected_value: float
    received_count: int
    received_value: float
    refunded_count: int
    refunded_value: float
    refunds: Mapping[str, int]  # reason → count
    credits_count: float  # leads it would have received while on time off or a holiday
    credits_value: float
    catch_up: float | None  # how much of credits_count the method gives back (None: no rule)

    @property
    def net_count(self) -> int:
        return self.received_count - self.refunded_count

    @property
    def net_value(self) -> float:
        return self.received_value - self.refunded_value

    @property
    def balance_count(self) -> float:
        return self.net_count - self.expected_count

    @property
    def balance_value(self) -> float:
        return self.net_value - self.expected_value


@dataclass(frozen=True)
class PoolLedger:
    pool_id: int
    pool: str
    method: str
    start: datetime
    end: datetime
    members: tuple[MemberLedger, ...]
    # Counted leads arriving when no member was scheduled: shared by weight over them all.
    unstaffed_count: int

    @property
    def received_count(self) -> int:
        return sum(m.received_count for m in self.members)

    @property
    def refunded_count(self) -> int:
        return sum(m.refunded_count for m in self.members)

    @property
    def received_value(self) -> float:
        return sum(m.received_value for m in self.members)

    @property
    def refunded_value(self) -> float:
        return sum(m.refunded_value for m in self.members)


@dataclass(frozen=True)
class _Piece:
    start: datetime
    end: datetime
    reasons: tuple[str, ...]
    weight: float


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _boundaries(rep: RepSnapshot, start: datetime, end: datetime) -> set[datetime]:
    """Every instant in (start, end) where the member's schedule or weight may change."""
    zone = _zone(rep.timezone)
    out: set[datetime] = set()
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    by_day: dict[int, list[time]] = {}
    for interval in rep.working_hours:
        by_day.setdefault(interval.weekday, []).extend((interval.start, interval.end))
    day = first
    while day <= last:
        midnight = datetime.combine(day, time(), zone)
        following = datetime.combine(day + timedelta(days=1), time(), zone)
        out.add(midnight)  # holidays, the ramp and the weekday change at local midnight
        for clock in by_day.get(day.weekday(), ()):
            for fold in (0, 1):
                out.add(datetime.combine(day, clock, zone).replace(fold=fold))
        if midnight.utcoffset() != following.utcoffset():
            # A clock change: the wall clock jumps at an instant no local time names.
            step = midnight.astimezone(UTC)
            while step < following:
                out.add(step)
                step += timedelta(minutes=15)
        day += timedelta(days=1)
    for off_start, off_end in rep.time_off:
        out.update((off_start, off_end))
    return {b for b in out if start < b < end}


def availability_pieces(
    rep: RepSnapshot,
    settings: PoolSettings,
    method: str,
    start: datetime,
    end: datetime,
    weight: Callable[[datetime], float] | None = None,
) -> list[_Piece]:
    """The period cut where the member's schedule (or weight) changes; each piece with the
    reasons it could not take a lead then (empty: available) and its weight."""
    weight = weight or (lambda at: member_weight(settings, rep, at))
    stripped, needs = _schedule_only(rep, settings, method)
    cuts = sorted(_boundaries(rep, start, end) | {start, end}, key=_ts)
    pieces: list[_Piece] = []
    for a, b in pairwise(cuts):
        if a == b:
            continue
        reasons, w = tuple(rep_eligibility(stripped, needs, a)), weight(a)
        if pieces and pieces[-1].reasons == reasons and pieces[-1].weight == w:
            pieces[-1] = replace(pieces[-1], end=b)
        else:
            pieces.append(_Piece(a, b, reasons, w))
    return pieces


def _weigher(
    pool: Pool, rep: RepSnapshot, performance: Mapping[int, float], default: float
) -> Callable[[datetime], float]:
    if pool.method == Method.WEIGHTED_ROUND_ROBIN:
        return lambda at: member_weight(pool.settings, rep, at)
    if pool.method == Method.PERFORMANCE_WEIGHTED:
        rate = performance.get(rep.id, default)
        return lambda at: performance_weight(pool.settings, rep, rate, at)
    # The other methods share by turns, load or fit, not by weight: an equal share each.
    return lambda at: 1.0


def catch_up_of(method: str, missed: float, limit: int) -> float | None:
    """What the method's catch-up rule gives back of ``missed`` leads (None: it has none;
    load balancing catches up by itself, the other methods do not keep turns)."""
    if method in ROTATION_METHODS:
        return float(rotation_catch_up(int(missed), limit))
    if method in WEIGHTED_METHODS:
        return weighted_catch_up(missed, limit)
    return None


def pool_ledger(
    pool: Pool,
    reps: Mapping[int, RepSnapshot],
    leads: Iterable[LedgerLead],
    start: datetime,
    end: datetime,
    *,
    performance: Mapping[int, float] | None = None,
) -> PoolLedger:
    """The pool's fairness ledger over [start, end).

    Each counted lead that stands (not refunded) is expected to go to the members whose
    schedule let them take it at its instant, in proportion to their weights at that
    instant (``fair_targets``): summed, that is each member's expected count, and with the
    leads' values its expected value. A member on time off or a holiday then is credited
    the part it would have had, had it been there (its weight added to the others').
    Leads arriving when no member was scheduled are shared by weight over all members.
    Received counts every counted lead; refunded those taken back out; the balance is
    received - refunded - expected.
    """
    if end <= start:
        raise ValueError("The period must end after it starts.")
    performance = performance or {}
    known = [performance[r] for r in pool.member_ids if r in performance]
    default_rate = sum(known) / len(known) if known else 1.0
    member_ids = tuple(r for r in dict.fromkeys(pool.member_ids) if r in reps)
    pieces = {
        rid: availability_pieces(
            reps[rid],
            pool.settings,
            pool.method,
            start,
            end,
            _weigher(pool, reps[rid], performance, default_rate),
        )
        for rid in member_ids
    }
    # The stretches where nobody's schedule changes, and the counted leads in each.
    cuts = sorted({p.start for ps in pieces.values() for p in ps} | {start}, key=_ts)
    stamps = [_ts(c) for c in cuts]
    n = [0] * len(cuts)
    v = [0.0] * len(cuts)
    received: dict[int, list[float]] = {}
    refunded: dict[int, list[float]] = {}
    refunds: dict[int, dict[str, int]] = {}
    for lead in leads:
        if not start <= lead.at < end:
            continue
        got = received.setdefault(lead.rep_id, [0, 0.0])
        got[0] += 1
        got[1] += lead.value
        if lead.refund:
            back = refunded.setdefault(lead.rep_id, [0, 0.0])
            back[0] += 1
            back[1] += lead.value
            why = refunds.setdefault(lead.rep_id, {})
            why[lead.refund] = why.get(lead.refund, 0) + 1
            continue
        i = bisect_right(stamps, _ts(lead.at)) - 1
        n[i] += 1
        v[i] += lead.value

    expected = {rid: [0.0, 0.0] for rid in member_ids}
    credits = {rid: [0.0, 0.0] for rid in member_ids}
    hours = {rid: 0.0 for rid in member_ids}
    for rid, ps in pieces.items():
        hours[rid] = sum((p.end - p.start).total_seconds() for p in ps if not p.reasons) / 3600
    cursor = dict.fromkeys(member_ids, 0)
    unstaffed = 0
    for i, cut in enumerate(cuts):
        if not n[i]:
            continue
        available: dict[int, float] = {}
        away: dict[int, float] = {}
        every: dict[int, float] = {}
        for rid, ps in pieces.items():
            j = cursor[rid]
            while ps[j].end <= cut:
                j += 1
            cursor[rid] = j
            piece = ps[j]
            if piece.weight <= 0:
                continue
            every[rid] = piece.weight
            if not piece.reasons:
                available[rid] = piece.weight
            elif ABSENCES.issuperset(piece.reasons) and owes_catch_up(piece.reasons):
                away[rid] = piece.weight
        if not available:
            unstaffed += n[i]
            available = every
        for rid, share in fair_targets(available, n[i]).items():
            expected[rid][0] += share
        for rid, share in fair_targets(available, v[i]).items():
            expected[rid][1] += share
        for rid, w in away.items():
            credits[rid][0] += fair_targets({**available, rid: w}, n[i])[rid]
            credits[rid][1] += fair_targets({**available, rid: w}, v[i])[rid]

    period_hours = (end - start).total_seconds() / 3600
    limit = pool.settings.catch_up_limit
    rows = []
    for rid in member_ids + tuple(sorted(set(received) - set(member_ids))):
        rep = reps.get(rid)
        is_member = rid in pieces
        weight = pieces[rid][-1].weight if is_member else 0.0
        got = received.get(rid, [0, 0.0])
        back = refunded.get(rid, [0, 0.0])
        rows.append(
            MemberLedger(
                rep_id=rid,
                name=rep.name if rep else f"#{rid}",
                member=is_member,
                weight=weight,
                available_hours=hours.get(rid, 0.0),
                availability=hours.get(rid, 0.0) / period_hours,
                expected_count=expected.get(rid, [0.0, 0.0])[0],
                expected_value=expected.get(rid, [0.0, 0.0])[1],
                received_count=int(got[0]),
                received_value=float(got[1]),
                refunded_count=int(back[0]),
                refunded_value=float(back[1]),
                refunds=dict(sorted(refunds.get(rid, {}).items())),
                credits_count=credits.get(rid, [0.0, 0.0])[0],
                credits_value=credits.get(rid, [0.0, 0.0])[1],
                catch_up=catch_up_of(pool.method, credits.get(rid, [0.0])[0], limit),
            )
        )
    return PoolLedger(
        pool_id=pool.id,
        pool=pool.name,
        method=pool.method,
        start=start,
        end=end,
        members=tuple(rows),
        unstaffed_count=unstaffed,
    )


def _ts(at: datetime) -> float:
    return at.timestamp()
