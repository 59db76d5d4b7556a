"""Stamp ``Lead.routed_rule`` on the leads routed before routing stamped it: the rule of
each lead's first automatic decision (one set-based UPDATE; the reverse has nothing to
undo, the column goes with leads' migration)."""

from django.db import migrations

BACKFILL = """
UPDATE leads_lead SET routed_rule = first.rule_name
FROM (
    SELECT d.lead_id, d.rule_name FROM routing_decision d
    WHERE d.id IN (SELECT MIN(f.id) FROM routing_decision f WHERE f.kind = 'auto' GROUP BY f.lead_id)
) AS first
WHERE leads_lead.id = first.lead_id AND leads_lead.routed_rule IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0008_lead_routed_rule"),
        ("routing", "0005_dashboard_indexes"),
    ]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True)]
