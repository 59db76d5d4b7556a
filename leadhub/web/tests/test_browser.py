"""The pages in a real browser: Playwright drives Debian's chromium against the live server.

What the test client cannot show: the queue redrawn by its poll without a reload, the SLA
countdowns ticking and stopping in queue.js, an action taken from the keyboard, the
dashboard's charts drawn on their canvases, and a CSV export arriving as a download.

Every wait is on a condition with a bound (``WAIT_MS``), never a sleep: generous for a
loaded two-core machine, short enough that a broken page fails in seconds rather than
hanging the suite. Without chromium the tests skip, which CI counts as a failure.
"""

import csv
import re
import shutil
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from leadhub.leads.models import LeadEvent
from leadhub.leads.tests.factories import LeadFactory
from leadhub.web.chromium import CHROMIUM, CHROMIUM_ARGS
from leadhub.web.selectors import queue_version
from leadhub.web.tests import dataset
from leadhub.web.tests.conftest import Floor
from reps.selectors import REVOPS_GROUP

PASSWORD = "pw-for-tests-only"  # reps.tests.factories.UserFactory's
# Any one wait: the queue polls every 4 s, so a new lead shows within about 4 s.
WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)

# Transactional: the live server's requests must see what the test wrote.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API keeps an asyncio loop running on this thread, and Django refuses
    # ORM calls from a thread with a running loop; the test's own queries are plain
    # synchronous code all the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto(reverse("web:login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# --- The rep's queue ------------------------------------------------------------------


@pytest.fixture
def floor() -> Floor:
    """The page tests' sales floor (ann gets the pool's leads), in real time: the live
    server and the browser's countdowns run on the wall clock."""
    # Made again after an earlier transactional test's flush emptied what migrations
    # filled. (serialized_rollback cannot put it back here: with Playwright's loop running,
    # Django hands this thread a second set of connections, not the one it serialized.)
    Group.objects.get_or_create(name=REVOPS_GROUP)
    return Floor()


def test_a_new_lead_appears_is_accepted_and_touched_without_a_reload(page: Page, floor):
    sign_in(page, "ann")
    expect(page).to_have_url(re.compile(r"/queue/$"))  # where a rep lands
    page.evaluate("window.leadhubLoadedOnce = 'still here'")
    expect(page.locator("#my-leads")).to_contain_text("No open leads")

    lead = floor.lead(first_name="Paula", last_name="Pinto", company="Pinto Ltd")
    assert lead.owner_id == floor.ann.pk and lead.status == "assigned"
    row = page.locator(f"#lead-{lead.pk}")
    expect(row).to_be_visible(timeout=WAIT_MS)  # brought by the poll
    expect(row).to_contain_text("Paula Pinto")

    # The first-touch countdown ticks down once a second.
    touch = row.locator("li", has_text="First touch").locator("time.countdown")
    expect(touch).to_have_attribute(
        "data-due", lead.sla_clocks.get(kind="touch").due_at.isoformat()
    )
    before = touch.text_content()
    page.wait_for_function(
        "([el, text]) => el.textContent !== text", arg=[touch.element_handle(), before]
    )

    # Accept from the keyboard.
    row.get_by_role("button", name="Accept").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Accepted")
    expect(row).to_contain_text("Status: Accepted")
    # The accept changed the queue's version: let the next poll redraw the list before
    # opening a disclosure (the poll waits while one is open, but one already on its way
    # would redraw the list under it).
    page.wait_for_function(
        "v => document.getElementById('queue-version').value === v",
        arg=queue_version(floor.ann.user, floor.ann),
        timeout=WAIT_MS,
    )

    # Exact: until the forms arrive, the disclosure holds a link to the lead page whose
    # words also say "log a touch".
    row.get_by_text("More actions", exact=True).click()
    row.get_by_text("Log a touch", exact=True).click()
    row.get_by_label("Kind of touch").select_option("email")
    row.get_by_label("Note (optional)").fill("Sent the pricing sheet")
    row.get_by_role("button", name="Log touch").click()
    expect(page.locator("#flash")).to_contain_text("Email logged.")
    expect(row).to_contain_text("Status: Contacted")

    # The touch clock is met: nothing left to count down in the row.
    expect(row.locator("time.countdown[data-due]")).to_have_count(0)
    expect(row).to_contain_text("No SLA clock running.")
    assert page.evaluate("window.leadhubLoadedOnce") == "still here"

    lead.refresh_from_db()
    assert (lead.status, lead.first_touch_at is not None) == ("contacted", True)
    assert set(lead.sla_clocks.values_list("kind", "status")) == {
        ("accept", "met"),
        ("touch", "met"),
    }
    touch_event = LeadEvent.objects.get(lead=lead, kind="touched")
    assert touch_event.data["kind"] == "email"

    # The lead page, in a second tab, says so in words.
    other = page.context.new_page()
    other.goto(reverse("web:lead", args=[lead.pk]))
    met = other.locator("#lead-body li", has_text="First touch").locator("time.countdown")
    expect(met).to_have_text("met")
    expect(met).not_to_have_attribute("data-due", re.compile(""))  # queue.js leaves it be
    expect(other.locator(".timeline")).to_contain_text("Sent the pricing sheet")
    assert page.evaluate("window.leadhubLoadedOnce") == "still here"


def test_a_rep_cannot_open_a_colleagues_lead_nor_see_it_in_their_queue(page: Page, floor):
    own = floor.lead(first_name="Annes", last_name="Own")
    colleagues = LeadFactory(
        first_name="Bobs", last_name="Secret", owner=floor.bob, status="assigned"
    )
    sign_in(page, "ann")

    page.goto(reverse("web:queue"))
    expect(page.locator(f"#lead-{own.pk}")).to_contain_text("Annes Own")
    expect(page.locator("#queue-live")).not_to_contain_text("Bobs Secret")
    expect(page.locator(f"#lead-{colleagues.pk}")).to_have_count(0)

    response = page.goto(reverse("web:lead", args=[colleagues.pk]))
    assert response.status == 404
    expect(page.locator("body")).to_contain_text("Not Found")
    expect(page.locator("body")).not_to_contain_text("Bobs")


# --- The manager's dashboard ----------------------------------------------------------

BLANK_CANVASES = """() => {
  const canvases = [...document.querySelectorAll("canvas")];
  const blank = canvases.filter((c) => {
    if (!c.width || !c.height || !Chart.getChart(c)) return true;
    const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return false;
    return true;
  });
  return { count: canvases.length, blank: blank.map((c) => c.id) };
}"""


# The chart specs every loaded section carries (the JSON dashboard.js draws from).
SECTION_CHARTS = """() => [...document.querySelectorAll(
    '.dashboard-section > script[type="application/json"]')]
    .flatMap((source) => JSON.parse(source.textContent).map((spec) => spec.id))"""


def tile(page: Page, title: str) -> Locator:
    """The big number of a key-number tile."""
    card = page.locator(".tiles .card", has=page.get_by_role("heading", name=title))
    return card.locator(".stat")


def test_the_dashboard_draws_every_chart_filters_and_exports(page: Page):
    world = dataset.build()
    sign_in(page, "mia")
    page.goto(f"{reverse('web:dashboard')}?start=2026-01-01&end=2026-01-31")
    # Each section comes by its own request: wait until none is loading any more.
    page.wait_for_function("!document.querySelector('[aria-busy=\"true\"]')", timeout=WAIT_MS)

    specs = page.evaluate(SECTION_CHARTS)
    assert {"chart-speed", "chart-sla", "chart-workload", f"chart-pool-{world.pool.pk}"} <= set(
        specs
    )
    page.wait_for_function(f"({BLANK_CANVASES})().blank.length === 0", timeout=WAIT_MS)
    drawn = page.evaluate(BLANK_CANVASES)
    assert drawn == {"count": len(specs), "blank": []}
    expect(tile(page, "Assigned in (p50 / p90)")).to_have_text("30.0 s")

    page.get_by_role("textbox", name="Source", exact=True).fill("partner")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]source=partner(&|$)"))
    page.wait_for_function("!document.querySelector('[aria-busy=\"true\"]')", timeout=WAIT_MS)
    expect(tile(page, "Assigned in (p50 / p90)")).to_have_text("45.0 s")

    link = page.get_by_role("link", name="Download CSV of Speed to lead by capture day (seconds)")
    with page.expect_download(timeout=WAIT_MS) as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "leadhub-speed.csv"
    with open(download.path(), newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header[:2] == ["Day", "Captured → assigned p50"]
    # The page's filters came along: the partner leads only, as in the tile.
    assert [(row[0], row[1]) for row in rows] == [("Whole period", "45.0"), ("2026-01-10", "45.0")]
