"""Selling in Chromium: the pipeline board (drag and drop), a discounted quote through its
manager's approval to version 1, and a meeting planned on the calendar that shows on the
account's timeline. One workspace of their own (committed, so the app server sees it; dropped
afterwards)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db]

SHOTS = os.environ.get("GUANXI_SHOTS")  # a folder: save screenshots of the pages there


@dataclass
class Workspace:
    host: str
    rep_email: str
    manager_email: str
    opp_pks: dict[str, int]  # by name
    meeting_account_pk: int


@pytest.fixture(scope="module")
def workspace(django_db_setup, django_db_blocker) -> Iterator[Workspace]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django_tenants.utils import tenant_context

    from core_crm.access.models import Role, Team
    from core_crm.customers.models import Account
    from core_crm.quotes import services as quotes
    from core_crm.users.services import user_create
    from core_crm.workspace.models import workspace_settings
    from tenants.models import Tenant
    from tenants.provisioning import provision_tenant

    from ..sales.factories import make_opportunity

    slug = f"sales{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        tenant = provision_tenant(slug=slug, name="Lotus Pumps", status=Tenant.Status.ACTIVE)
        with tenant_context(tenant):
            admin = user_create(
                email="boss@lotus.test",
                full_name="Boss Wang",
                password=PASSWORD,
                is_workspace_admin=True,
                send_verification=False,
            )
            people = {}
            for email, name, role in (
                ("rep@lotus.test", "Rep Zhao", "sales_rep"),
                ("manager@lotus.test", "Manager Qian", "sales_manager"),
            ):
                person = user_create(
                    email=email, full_name=name, password=PASSWORD, send_verification=False
                )
                person.role = Role.objects.get(key=role)
                person.save()
                people[role] = person
            rep, manager = people["sales_rep"], people["sales_manager"]
            Team.objects.create(name="East").members.add(rep, manager)

            settings = workspace_settings()
            settings.quote_discount_limit = 10
            settings.save()
            pump = quotes.product_save(
                actor=admin,
                data={"code": "P-100", "name": "Centrifugal pump", "unit": "pcs"},
                channel="web",
            )
            book = quotes.price_book_save(
                actor=admin,
                data={"name": "Standard", "currency": "CNY", "is_standard": True},
                channel="web",
            )
            quotes.price_set(
                actor=admin, book=book, product=pump, unit_price="12000", channel="web"
            )

            opps = {}
            for name, amount, stage, pipeline in (
                ("Alpha valves", 10000, "qualification", "new-business"),
                ("Beta pumps", 5000, "qualification", "new-business"),
                ("Gamma seals", 20000, "needs-analysis", "new-business"),
                ("Delta motors", 8000, "negotiation", "new-business"),
                # Not on the board's pipeline, so quoting it leaves the board's figures alone.
                ("Harbour pump order", 24000, "upcoming", "renewals"),
            ):
                opp = make_opportunity(
                    rep,
                    name=name,
                    amount=amount,
                    currency="CNY",
                    stage_key=stage,
                    pipeline_key=pipeline,
                )
                opps[name] = opp.pk
            hotel = Account.objects.create(name="Lotus Garden Hotel", city="Hangzhou", owner=rep)
        connection.set_schema_to_public()
        try:
            yield Workspace(f"{slug}.localhost", rep.email, manager.email, opps, hotel.pk)
        finally:
            connection.set_schema_to_public()
            Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


def sign_in(page: Page, live_app, workspace: Workspace, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_app.url(workspace.host, "/accounts/login/"))
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("dashboard-heading")).to_be_visible()


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def drag(page: Page, card: Locator, target: Locator) -> None:
    """Pick the card up and carry it over the target column with real mouse moves."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    end = target.bounding_box()
    assert start and end
    x, y = start["x"] + start["width"] / 2, start["y"] + 12
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=5)
    # Chromium sends drag events only as the mouse moves: hover over the column, as a person
    # would, until the board shows the card there (SortableJS moves it on dragover).
    landed = target.locator(f'[data-testid="{card.get_attribute("data-testid")}"]')
    for wiggle in range(30):
        page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 30 + wiggle % 2 * 6, steps=4)
        if landed.count():
            break
    page.mouse.up()


def expect_figures(column: Locator, count: str, total: str, weighted: str) -> None:
    expect(column.locator("[data-figure=count]")).to_have_text(count)
    expect(column.locator("[data-figure=total]")).to_have_text(total)
    expect(column.locator("[data-figure=weighted]")).to_have_text(weighted)


def test_drag_cards_across_the_pipeline_board(browser: Browser, live_app, workspace: Workspace):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_app, workspace, workspace.rep_email)
    page.goto(live_app.url(workspace.host, "/opportunities/board/"))
    qualification = page.get_by_test_id("column-qualification")
    analysis = page.get_by_test_id("column-needs-analysis")
    negotiation = page.get_by_test_id("column-negotiation")
    lost = page.get_by_test_id("column-lost")
    beta = page.get_by_test_id(f"card-{workspace.opp_pks['Beta pumps']}")
    delta = page.get_by_test_id(f"card-{workspace.opp_pks['Delta motors']}")

    expect(qualification.locator(".board-list")).to_contain_text("Beta pumps")
    expect(qualification).to_contain_text("Alpha valves")
    expect(analysis).to_contain_text("Gamma seals")
    expect_figures(qualification, "2", "15,000.00", "1,500.00")
    expect_figures(analysis, "1", "20,000.00", "4,000.00")
    header = page.get_by_test_id("board-totals")
    expect(header).to_have_text("4 opportunities · total 43,000.00 CNY · weighted 11,500.00 CNY")
    shot(page, "board")

    drag(page, beta, analysis.locator(".board-list"))
    expect(analysis.locator(".board-list")).to_contain_text("Beta pumps")
    expect_figures(qualification, "1", "10,000.00", "1,000.00")
    expect_figures(analysis, "2", "25,000.00", "5,000.00")  # 20,000 x 20 % + 5,000 x 20 %
    expect(beta.locator("[data-probability]")).to_have_text("20 %")
    expect(header).to_contain_text("weighted 12,000.00 CNY")

    page.reload()
    expect(analysis.locator(".board-list")).to_contain_text("Beta pumps")
    expect(qualification.locator(".board-list")).not_to_contain_text("Beta pumps")
    expect_figures(qualification, "1", "10,000.00", "1,000.00")
    expect_figures(analysis, "2", "25,000.00", "5,000.00")

    # Lost asks why before it saves anything.
    lost.scroll_into_view_if_needed()
    expect(delta).to_be_visible()
    drag(page, delta, lost.locator(".board-list"))
    dialog = page.get_by_test_id("lost-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Why was it lost?")
    dialog.get_by_label("Lost reason").select_option(label="Lost to a competitor")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(dialog).to_be_hidden()
    expect(lost.locator(".board-list")).to_contain_text("Delta motors")
    expect_figures(lost, "1", "8,000.00", "0.00")
    expect_figures(negotiation, "0", "0.00", "0.00")
    expect(header).to_contain_text("total 43,000.00 CNY · weighted 6,000.00 CNY")
    expect(page.get_by_test_id("board-status")).to_be_hidden()

    page.reload()
    expect(lost.locator(".board-list")).to_contain_text("Delta motors")
    expect_figures(lost, "1", "8,000.00", "0.00")
    page.goto(live_app.url(workspace.host, f"/opportunities/{workspace.opp_pks['Delta motors']}/"))
    expect(page.get_by_text("Lost to a competitor").first).to_be_visible()


def test_a_discount_above_the_limit_goes_through_the_managers_approval(
    browser: Browser, live_app, workspace: Workspace
):
    page = browser.new_context().new_page()
    sign_in(page, live_app, workspace, workspace.rep_email)
    opp = workspace.opp_pks["Harbour pump order"]
    page.goto(live_app.url(workspace.host, f"/opportunities/{opp}/"))
    page.get_by_test_id("new-quote-link").click()
    expect(page.get_by_role("heading", name="New quote")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Harbour pump order")
    page.get_by_role("button", name="Create quote").click()
    expect(page.get_by_test_id("record-title")).to_contain_text("Harbour pump order")
    expect(page.get_by_test_id("no-lines")).to_be_visible()

    add = page.get_by_test_id("add-line")
    add.get_by_label("Product").select_option(label="Centrifugal pump (P-100)")
    add.get_by_label("Quantity").fill("2")
    add.get_by_label("Discount (%)").fill("20")
    page.get_by_test_id("add-line-button").click()
    expect(page.get_by_test_id("line")).to_contain_text("Centrifugal pump")
    # 2 x 12,000 less 20 %, plus 13 % tax.
    expect(page.get_by_test_id("grand-total")).to_have_text("21,696.00 CNY")
    expect(page.get_by_test_id("needs-approval")).to_contain_text(
        "A discount of 20 % is above the limit of 10 %"
    )
    expect(page.get_by_test_id("send-link")).to_have_count(0)
    expect(page.get_by_test_id("send-blockers")).to_contain_text("submit the quote for approval")
    page.get_by_test_id("submit-for-approval").click()
    expect(page.get_by_test_id("review-banner")).to_contain_text("Waiting for a manager's approval")
    expect(page.get_by_test_id("send-link")).to_have_count(0)
    quote_url = page.url
    number = page.get_by_test_id("record-title").inner_text().split(" · ")[0]

    manager = browser.new_context().new_page()
    sign_in(manager, live_app, workspace, workspace.manager_email)
    manager.goto(live_app.url(workspace.host, "/quotes/approvals/"))
    item = manager.get_by_test_id("approval-item").filter(has_text=number)
    expect(item).to_contain_text("Harbour pump order")
    expect(item).to_contain_text("by Rep Zhao")
    expect(item).to_contain_text("largest discount 20 %")
    item.get_by_label("Comment").fill("OK for this volume")
    item.get_by_role("button", name="Approve").click()
    expect(manager.get_by_text("Quote approved; the owner has been told.")).to_be_visible()
    expect(manager.get_by_test_id("empty-state")).to_be_visible()

    page.goto(quote_url)
    expect(page.get_by_test_id("approved-banner")).to_contain_text("Approved by Manager Qian")
    expect(page.get_by_test_id("events")).to_contain_text("OK for this volume")
    page.get_by_test_id("send-link").click()
    expect(page.get_by_role("heading", name=f"Send {number} as version 1")).to_be_visible()
    page.get_by_test_id("confirm-send").click()
    expect(page.get_by_text(f"Quote {number} sent as version 1.")).to_be_visible()
    version = page.get_by_test_id("version")
    expect(version).to_have_count(1)
    expect(version).to_contain_text("v1")
    expect(version).to_contain_text("21,696.00 CNY")
    expect(page.get_by_test_id("grand-total")).to_have_text("21,696.00 CNY")


def test_a_meeting_planned_on_the_calendar_shows_on_the_account_timeline(
    browser: Browser, live_app, workspace: Workspace
):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_app, workspace, workspace.rep_email)
    page.goto(live_app.url(workspace.host, "/calendar/"))
    today = page.locator(".fc-timegrid-col.fc-day-today")
    ten = page.locator('.fc-timegrid-slot-lane[data-time="10:00:00"]')
    half_past = page.locator('.fc-timegrid-slot-lane[data-time="10:30:00"]')
    expect(today).to_be_visible()
    ten.scroll_into_view_if_needed()
    column, first, last = today.bounding_box(), ten.bounding_box(), half_past.bounding_box()
    assert column and first and last
    x = column["x"] + column["width"] / 2
    page.mouse.move(x, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, last["y"] + last["height"] / 2, steps=5)
    page.mouse.up()

    dialog = page.get_by_test_id("slot-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Kind")).to_have_value("meeting")
    expect(dialog.get_by_label("Start")).to_have_value(re.compile(r"T10:00$"))
    expect(dialog.get_by_label("End")).to_have_value(re.compile(r"T11:00$"))
    dialog.get_by_label("Subject").fill("Kick-off with the hotel")
    dialog.get_by_test_id("account-search").fill("Lotus Gar")
    dialog.get_by_test_id("account-results").get_by_role(
        "button", name="Lotus Garden Hotel · Hangzhou"
    ).click()
    expect(dialog.get_by_test_id("account-search")).to_have_value("Lotus Garden Hotel")
    dialog.get_by_test_id("slot-save").click()
    expect(dialog).to_be_hidden()
    event = page.get_by_test_id("calendar-event").filter(has_text="Kick-off with the hotel")
    expect(event).to_be_visible()
    expect(event).to_contain_text("10:00")

    page.goto(live_app.url(workspace.host, f"/customers/{workspace.meeting_account_pk}/"))
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_be_visible()
    item = timeline.locator('li[data-source="activities"]').filter(
        has_text="Kick-off with the hotel"
    )
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Meeting: Kick-off with the hotel")
    shot(page, "account")


def test_board_and_account_page_fit_a_phone(browser: Browser, live_app, workspace: Workspace):
    page = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    sign_in(page, live_app, workspace, workspace.rep_email)
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    page.goto(live_app.url(workspace.host, "/opportunities/board/"))
    expect(page.get_by_test_id("column-qualification")).to_contain_text("Alpha valves")
    shot(page, "board-phone")
    assert page.evaluate(fits), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    page.goto(live_app.url(workspace.host, f"/customers/{workspace.meeting_account_pk}/"))
    expect(page.get_by_test_id("timeline")).to_be_visible()
    shot(page, "account-phone")
    assert page.evaluate(fits), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    # The bell's panel and the search results open within the screen, not off its left edge.
    page.get_by_test_id("notification-bell").locator("summary").click()
    panel = page.locator("[data-bell-panel]")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.get_by_test_id("notification-bell").locator("summary").click()
    page.get_by_role("searchbox", name="Search").fill("Alpha")
    results = page.locator("#global-search-results")
    expect(results).to_contain_text("Alpha valves")
    box = results.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
