"""``manage.py replay --ruleset draft|VERSION --days 30``: what a rule set would have done
with the last days' leads. Writes only the report (``routing.replay``) and prints it."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.replay import ReplayError, replay_ruleset, replay_run
from routing.replay.services import MAX_DAYS


class Command(BaseCommand):
    help = "Replay the last days' leads with a rule set (the draft or a version); writes a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ruleset", required=True, help="'draft' or a version number")
        parser.add_argument("--days", type=int, default=30, help=f"1 to {MAX_DAYS} (30)")
        parser.add_argument(
            "--list", type=int, default=20, help="changed leads to print (20; 0: none)"
        )

    def handle(self, *args, **options) -> None:
        try:
            ruleset = replay_ruleset(options["ruleset"])
            report = replay_run(ruleset=ruleset, days=options["days"])
        except ReplayError as exc:
            raise CommandError(f"--{exc.field}: {exc}") from None
        s = report.summary
        out = self.stdout.write
        out(
            f"Replay #{report.pk} of {report.ruleset_label} over {report.days} days "
            f"({report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M} UTC), "
            f"{report.seconds:.1f} s"
        )
        out(f"Leads: {s['leads']}; changed: {s['changed']} (owner {s['changed_owner']}, "
            f"pool {s['changed_pool']}, outcome {s['changed_outcome']})")  # fmt: skip
        for reason, n in s["reasons"].items():
            out(f"  {n:>7}  {reason}: {s['reason_words'][reason]}")
        out(f"Triage: {s['triage']['before']} -> {s['triage']['after']}; "
            f"nurture: {s['nurture']['before']} -> {s['nurture']['after']}")  # fmt: skip
        u = s["uncovered"]
        out(f"Uncovered: {u['no_rule']} no rule matched, {u['no_territory']} no territory")
        for pool in s["fairness"]:
            b, a = pool["before"], pool["after"]
            out(f"  {pool['pool']}: max deviation {b['max_deviation']} -> {a['max_deviation']} "
                f"points, Gini {b['gini']} -> {a['gini']}")  # fmt: skip
        load = s["sla_load"]
        out(f"SLA load, peak leads per rep per business hour: "
            f"{load['max_before']} -> {load['max_after']}")  # fmt: skip
        out(f"Presence: {s['presence']}.")
        setup = s["setup_changes"]
        if setup["count"]:
            out(f"Set-up changes since the window began (audit log): {setup['count']}; "
                "leads decided before one may differ for it.")  # fmt: skip
            for c in setup["listed"]:
                fields = f": {', '.join(c['fields'])}" if c["fields"] else ""
                out(f"  {c['at'][:16]}  {c['what']} {c['action']}{fields}")
        for change in report.changes[: max(0, options["list"])]:
            before, after = change["before"] or {}, change["after"]
            out(f"  lead #{change['lead_id']}: {before.get('outcome', '-')} "
                f"rep {before.get('rep_id')} pool {before.get('pool_id')} -> "
                f"{after['outcome']} rep {after['rep_id']} pool {after['pool_id']} "
                f"({change.get('reason', '')})")  # fmt: skip
