"""The fairness ledger page: a manager reads their team's pools, RevOps every pool, a rep
nobody's; bad input shows the form again with a 400."""

from django.urls import reverse

LEDGER = reverse("web:dashboard-ledger")


def test_a_manager_reads_their_pools_ledger(floor, as_user):
    lead = floor.lead()
    assert lead.owner == floor.ann
    page = as_user(floor.manager).get(LEDGER, {"pool": floor.pool.pk})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Inside" in text and floor.ann.display_name in text
    assert "1 lead counted, 0 refunded" in text
    # The claim queue has no ledger: it is not offered.
    assert f'value="{floor.queue.pk}"' not in text


def test_revops_read_any_pool_and_bad_input_is_a_400(floor, as_user):
    client = as_user(floor.revops)
    assert client.get(LEDGER).status_code == 200
    for bad in (
        {"start": "2026-11-30", "end": "2026-11-01"},
        {"start": "tomorrow"},
        {"value": "custom.no spaces"},
        {"pool": "99999999999999999999"},
        {"end": "2026-11-01\x00"},
    ):
        page = client.get(LEDGER, bad)
        assert page.status_code == 400, bad
        assert 'role="alert"' in page.content.decode()


def test_another_teams_manager_and_reps_may_not_read_it(floor, as_user, client):
    assert client.get(LEDGER).status_code == 302  # to the login page
    other = as_user(floor.other_manager)
    assert "You have no pools to show" in other.get(LEDGER).content.decode()
    assert other.get(LEDGER, {"pool": floor.pool.pk}).status_code == 400
    assert as_user(floor.ann).get(LEDGER).status_code == 403
