"""The demo company behind ``manage.py seed_demo``.

Three sales teams in their time zones, their reps' skills, languages, caps and working
hours (Mon-Fri in each rep's own time zone, some on split shifts), 2026 holiday calendars,
one rep on vacation now, one ramping up, and one at capacity (their max_open filled by hand
with as many open demo leads, before routing), accounts with domains and owners, a local
enrichment table, scoring rules, two web forms, an intake key, a month of leads, the
routing playbook (demo/routing.py), the SLA policies and their business calendar
(demo/sla.py), and then the month as the reps lived it (demo/story.py): each lead still new
routed at its time, accepted, declined, touched, qualified, converted or dropped, reassigned
by a manager or by the SLA sweep, through the real services. The leads go through
``lead_capture`` like real ones (normalised, deduplicated, matched, enriched, scored, with
events); only their timestamps are then moved back into the past month, the one thing the
real services cannot be asked to do.

Reproducible: everything is drawn from ``random.Random(SEED)`` in a fixed order, before the
database is looked at, so every fresh database gets the same company (lead times are
relative to the moment of seeding).

Idempotent: set-up rows are created when missing, by natural key (team name, username,
skill, calendar name and date, account name, domain, rule name, form slug, key name, SLA
policy and business calendar name; a rep's
schedule when they have no working hours; the vacation when that rep has no current or
coming time off), and never overwritten, so what
RevOps change in the admin survives ``make run``. Leads are created only when no demo lead
exists yet. Every demo lead carries ``custom.demo = true``: that is the marker, and it lets
anyone find (or delete) the fabricated leads. The pipeline thresholds are the demo's only
when the settings row does not exist yet. One transaction: an interrupted run leaves
nothing half-built.

An app of the composition root, not of leadhub/leads: it writes through the services of
every layer (reps, leads, routing, sla), and no app imports it. ``seed.seed_demo`` is the
entry point (``manage.py seed_demo``); this module imports nothing, so that Django can load
the app before the models.
"""
