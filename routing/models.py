"""Where leads go: territories, pools, versioned rule sets, their decisions, pool state.

The routing engine (routing/engine.py) is pure; these models store its inputs and its
output. Published rule sets are immutable: they are edited as a draft and published as a
new numbered version (routing/services/rulesets.py).
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Territory(models.Model):
    """A region that matches leads by country, state and postal code; children narrow it.
    The most specific matching territory wins (see routing/engine.py)."""

    name = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    pool = models.ForeignKey(
        "Pool",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="territories",
        help_text="The pool that works this territory's leads (action: territory's pool).",
    )
    countries = models.JSONField(default=list, blank=True, help_text='ISO codes, e.g. ["DE", "AT"]')
    states = models.JSONField(default=list, blank=True, help_text='State codes, e.g. ["CA", "NY"]')
    postal_prefixes = models.JSONField(default=list, blank=True, help_text='e.g. ["94", "95"]')
    postal_ranges = models.JSONField(
        default=list, blank=True, help_text='Inclusive ranges, e.g. [["10000", "14999"]]'
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "territories"

    def __str__(self) -> str:
        return self.name


class Pool(models.Model):
    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round robin"
        WEIGHTED_ROUND_ROBIN = "weighted_round_robin", "Weighted round robin"
        LOAD_BALANCED = "load_balanced", "Load balanced"
        AVAILABILITY_FIRST = "availability_first", "Availability first"
        SKILLS_MATCH = "skills_match", "Skills / language match"
        PERFORMANCE_WEIGHTED = "performance_weighted", "Performance weighted"
        SCORE_TIERS = "score_tiers", "Score tiers"
        CLAIM_QUEUE = "claim_queue", "Claim queue (members claim leads)"

    name = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey(
        "reps.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pools",
        help_text="Whose manager takes the pool's fallback leads; with no members listed, "
        "the team's active reps are the members.",
    )
    method = models.CharField(max_length=24, choices=Method.choices, default=Method.ROUND_ROBIN)
    settings = models.JSONField(
        default=dict, blank=True, help_text="The method's settings (see docs/playbook.md)."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolMember(models.Model):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="members")
    rep = models.ForeignKey("reps.Rep", on_delete=models.CASCADE, related_name="pool_memberships")
    position = models.PositiveIntegerField(default=0, help_text="Order in the rotation.")
    weight = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the rep's weight in this pool."
    )

    class Meta:
        ordering = ["pool", "position", "id"]
        constraints = [models.UniqueConstraint("pool", "rep", name="pool_member_unique")]

    def __str__(self) -> str:
        return f"{self.rep} in {self.pool}"


class PoolState(models.Model):
    """The rotation state of a pool. Assignment locks this row (select_for_update, in pool
    id order), re-checks, and writes the engine's state update in the same transaction."""

    pool = models.OneToOneField(
        Pool, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    last_rep_id = models.IntegerField(null=True, blank=True)
    # rep id (as text: JSON keys) → count / credits / ISO datetime
    assigned = models.JSONField(default=dict, blank=True)
    credits = models.JSONField(default=dict, blank=True)
    last_assigned_at = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"State of {self.pool}"


class RoutingStamp(models.Model):
    """One row whose token changes, in the writing transaction, whenever anything routing
    caches changes (reps, schedules, pools, territories, the rule set in force). Each
    process keeps its routing inputs while the token is the one it loaded them under
    (``routing.world``), so a route reads one row instead of the whole set-up."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.token


class RuleSet(models.Model):
    """Rules are edited in the one draft and published as an immutable numbered version;
    the newest publication is the one in force (a rollback is a new publication of an
    older version)."""

    version = models.PositiveIntegerField(null=True, blank=True, unique=True)
    is_draft = models.BooleanField(default=False, editable=False)
    note = models.CharField(max_length=300, blank=True)
    based_on = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version the draft was copied from."
    )
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-is_draft", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_draft"], condition=models.Q(is_draft=True), name="ruleset_one_draft"
            ),
            models.CheckConstraint(
                condition=models.Q(is_draft=True, version__isnull=True)
                | models.Q(is_draft=False, version__isnull=False),
                name="ruleset_draft_has_no_version",
            ),
        ]

    def __str__(self) -> str:
        return "Draft" if self.is_draft else f"Version {self.version}"


class Rule(models.Model):
    class Action(models.TextChoices):
        POOL = "pool", "Pool"
        REP = "rep", "Named rep"
        ACCOUNT_OWNER = "account_owner", "Account owner"
        TERRITORY_POOL = "territory_pool", "Territory's pool"
        NURTURE = "nurture", "Nurture"
        TRIAGE = "triage", "Triage"

    class Fallback(models.TextChoices):
        POOL = "pool", "Another pool"
        MANAGER = "manager", "Team manager"
        TRIAGE = "triage", "Triage"

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    condition = models.JSONField(
        default=dict,
        blank=True,
        help_text='A tree: {"all": [...]}, {"any": [...]}, {"not": {...}} of '
        '{"field": "country", "op": "in", "value": "DE,AT"}; empty matches every lead.',
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    action_pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action_rep = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fallback = models.CharField(max_length=8, choices=Fallback.choices, default=Fallback.TRIAGE)
    fallback_pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["ruleset", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class Publication(models.Model):
    """Who put which version in force, and when. The newest row is the rule set in force."""

    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="publications")
    published_at = models.DateTimeField(default=now, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_rollback = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ruleset} published {self.published_at:%Y-%m-%d %H:%M}"


class Decision(models.Model):
    """One routing decision for a lead, with everything the engine considered. Exactly one
    decision per lead is effective: a re-route or a manual reassignment supersedes it."""

    class Kind(models.TextChoices):
        AUTO = "auto", "Automatic"
        MANUAL = "manual", "Manual reassignment"
        DECLINE = "decline", "Re-routed after a decline"
        SLA = "sla", "SLA step (reassignment, escalation, triage)"
        CLAIM = "claim", "Claimed from a queue"
        RELEASE = "release", "Released back to its queue"
        HANDOVER = "handover", "Handed over (the rep left or is away)"
        REROUTE = "reroute", "Routed again by hand"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.AUTO)
    effective = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    rule = models.ForeignKey(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=24, blank=True)
    pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rep = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    outcome = models.CharField(max_length=10)
    # Counted in the pool's rotation (False for owner-routed and manual decisions).
    rotation = models.BooleanField(default=False)
    # When a junk lead's turn was given back to the pool (at most once).
    refunded_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, help_text="The engine's full decision.")
    # The A/B experiment and arm ("a"/"b") the lead was placed in by this decision (None and
    # ""; outside experiments). Columns, not payload keys: an experiment's figures read its
    # decisions through the foreign key's index.
    experiment = models.ForeignKey(
        "Experiment", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    arm = models.CharField(max_length=1, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["pool", "created_at"]),
            models.Index(fields=["rep", "created_at"]),
            # The dashboard's fairness: rotation decisions not refunded, by period and pool.
            models.Index(
                fields=["created_at", "pool"],
                condition=models.Q(rotation=True, refunded_at=None),
                name="decision_rotation_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=models.Q(effective=True), name="decision_one_effective"
            )
        ]

    def __str__(self) -> str:
        return f"Decision for lead #{self.lead_id}: {self.outcome}"


class Handover(models.Model):
    """A rep's open leads handed on: when the rep was switched off, when long time off
    began, or on demand (admin, API). Each moved lead has its own decision (kind handover);
    this row says why they moved together, and marks a time off as handled."""

    class Trigger(models.TextChoices):
        DEACTIVATED = "deactivated", "The rep was switched off"
        TIME_OFF = "time_off", "Long time off began"
        ON_DEMAND = "on_demand", "On demand"

    rep = models.ForeignKey("reps.Rep", on_delete=models.CASCADE, related_name="handovers")
    successor = models.ForeignKey(
        "reps.Rep",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Every lead to this rep; empty: each lead through the rules.",
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    time_off = models.OneToOneField(
        "reps.TimeOff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)
    moved = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Handover of {self.rep}'s leads ({self.get_trigger_display().lower()})"


class ReplayReport(models.Model):
    """What a rule set would have done with the leads of a past window (routing.replay):
    the figures and the leads whose owner, pool or outcome would change. Asked for as
    ``running`` (the API and the admin queue the work in the housekeeping lane) and filled
    in once, by ``replay_fill``; a replay writes nothing else."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    ruleset = models.ForeignKey(
        RuleSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    # "Draft" or "Version 3", kept in case the rule set row goes (a draft deleted in the
    # admin; publishing keeps the draft and copies its rules into the new version).
    ruleset_label = models.CharField(max_length=40)
    days = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DONE)
    error = models.TextField(blank=True, help_text="Why a failed replay failed.")
    finished_at = models.DateTimeField(null=True, blank=True)
    leads = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    summary = models.JSONField(default=dict, help_text="The report's figures.")
    changes = models.JSONField(default=list, help_text="The leads that change, in capture order.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"Replay of {self.ruleset_label} over {self.days} days ({when})"


class Experiment(models.Model):
    """An A/B routing experiment: while it runs, the leads of its segment are split between
    two arms, each a published rule-set version or a pool, by a stable hash (routing/engine/
    experiments.py); each decision records the arm. Written through routing.experiments."""

    class Arm(models.TextChoices):
        A = "a", "A"
        B = "b", "B"

    name = models.CharField(max_length=100, unique=True)
    segment = models.JSONField(
        default=dict,
        blank=True,
        help_text="A condition tree, as a rule's; empty: every lead.",
    )
    arm_a_ruleset = models.ForeignKey(
        RuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    arm_a_pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    arm_b_ruleset = models.ForeignKey(
        RuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    arm_b_pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    split = models.PositiveSmallIntegerField(
        default=50, help_text="Percent of the segment's leads in arm A (1 to 99)."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(split__gte=1, split__lte=99), name="experiment_split_range"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="experiment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name
