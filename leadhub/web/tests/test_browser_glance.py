"""Pages read at a glance, in a real browser (the launch and fixtures of test_browser.py):
the dashboard's headline numbers, and a rule's condition edited as rows in the admin."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from leadhub.web.tests import glance
from leadhub.web.tests.test_browser import PASSWORD, browser, page, sign_in
from reps.tests.factories import UserFactory
from routing.models import Rule
from routing.services import ruleset_draft

__all__ = ["browser", "page"]  # the fixtures, used by name

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def headline_value(page: Page, key: str):
    return page.locator(f'[data-headline="{key}"]')


def test_the_dashboard_opens_with_the_numbers_a_manager_asks_first(page: Page):
    floor = glance.build()
    sign_in(page, floor.manager.user.username)

    page.goto(reverse("web:dashboard"))

    expect(headline_value(page, "touch").locator(".stat")).to_have_text("5 min")
    expect(headline_value(page, "touch")).to_contain_text("last 7 days: 2 h 10 min")
    expect(headline_value(page, "sla").locator(".stat")).to_have_text("75.0 %")
    expect(headline_value(page, "breaches").locator(".stat")).to_have_text("1")
    expect(headline_value(page, "triage").locator(".stat")).to_have_text("2")
    expect(headline_value(page, "triage")).to_contain_text("oldest waiting 3 h")
    expect(page.locator("#headline-period")).to_contain_text(" to ")
    # Above the filters and the sections, and the manager's own pages are in the menu.
    headline_top = page.locator("#headline").bounding_box()["y"]
    assert headline_top < page.get_by_role("form", name="Filters").bounding_box()["y"]
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="My queue")).to_be_visible()
    expect(menu.get_by_role("link", name="Notifications")).to_be_visible()


def admin_sign_in(page: Page) -> None:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto(reverse("admin:login"))
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="LeadHub set-up")).to_be_visible()


def test_a_rules_condition_is_edited_as_rows_and_saved_as_its_json(page: Page):
    draft = ruleset_draft()
    rule = Rule.objects.create(
        ruleset=draft,
        position=1,
        name="Germany",
        action=Rule.Action.TRIAGE,
        condition={"field": "country", "op": "eq", "value": "DE"},
    )
    admin_sign_in(page)
    page.goto(reverse("admin:routing_ruleset_change", args=[draft.pk]))
    editor = page.locator("[data-condition-rows]").first

    # The stored condition drawn as a row; the JSON box folded away, one click off.
    expect(editor.get_by_label("Field")).to_have_value("country")
    expect(editor.get_by_label("Operator")).to_have_value("eq")
    expect(editor.get_by_label("Value")).to_have_value("DE")
    expect(editor.locator("textarea")).to_be_hidden()
    editor.get_by_label("Value").fill("DE, AT")
    editor.get_by_label("Operator").select_option("in")
    editor.get_by_role("button", name="Add a condition").click()
    editor.get_by_label("Field").nth(1).fill("employees")
    editor.get_by_label("Operator").nth(1).select_option("gte")
    editor.get_by_label("Value").nth(1).fill("500")
    editor.get_by_label("Match").select_option("any")
    # The rule editor fits a 1280 px window: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rule.refresh_from_db()
    assert rule.condition == {
        "any": [
            {"field": "country", "op": "in", "value": ["DE", "AT"]},
            {"field": "employees", "op": "gte", "value": 500},
        ]
    }
    # The raw JSON is still there to read or paste into.
    editor = page.locator("[data-condition-rows]").first
    editor.locator("summary", has_text="Raw JSON").click()
    expect(editor.locator("textarea")).to_be_visible()


def test_a_bad_row_comes_back_with_the_engines_error_on_the_condition(page: Page):
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, position=1, name="Any", action=Rule.Action.TRIAGE)
    admin_sign_in(page)
    page.goto(reverse("admin:routing_ruleset_change", args=[draft.pk]))
    editor = page.locator("[data-condition-rows]").first
    expect(editor).to_contain_text("every lead matches")

    editor.get_by_role("button", name="Add a condition").click()
    editor.get_by_label("Field").fill("shoe_size")
    editor.get_by_label("Value").fill("44")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".errorlist").first).to_contain_text("shoe_size")
    assert Rule.objects.get().condition == {}


def test_a_rule_added_on_the_page_gets_the_rows_too(page: Page):
    draft = ruleset_draft()
    admin_sign_in(page)
    page.goto(reverse("admin:routing_ruleset_change", args=[draft.pk]))

    page.get_by_role("button", name="Add another Rule").click()
    new = page.locator(".inline-related:not(.empty-form)").last
    new.get_by_label("Position").fill("1")
    new.get_by_label("Name").fill("Partners")
    new.get_by_role("button", name="Add a condition").click()
    new.get_by_label("Field").fill("source")
    new.get_by_label("Value").fill("partner")
    new.locator("select[name$='-action']").select_option("triage")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rule = Rule.objects.get()
    assert rule.condition == {"all": [{"field": "source", "op": "eq", "value": "partner"}]}
