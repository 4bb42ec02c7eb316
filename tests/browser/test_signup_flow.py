"""A company signs up in the browser and lands on its own dashboard; another cannot get in."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def sign_up(page: Page, live_app, *, company: str, slug: str, name: str, email: str) -> None:
    page.goto(live_app.url("localhost", "/"))
    page.get_by_role("link", name="Start your 14-day free trial").click()
    expect(page.get_by_role("heading", name="Create your company's workspace")).to_be_visible()
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Subdomain").fill(slug)
    page.get_by_label("Your full name").fill(name)
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create workspace").click()


def test_two_companies_sign_up_and_each_sees_only_its_own_workspace(browser: Browser, live_app):
    suffix = uuid.uuid4().hex[:6]
    first_slug, second_slug = f"harbor-{suffix}", f"summit-{suffix}"

    first = browser.new_context().new_page()
    sign_up(
        first,
        live_app,
        company="Harbor Logistics",
        slug=first_slug,
        name="Chen Jing",
        email="chen@harbor.example",
    )
    expect(first).to_have_url(live_app.url(f"{first_slug}.localhost", "/"))
    expect(first.get_by_test_id("dashboard-heading")).to_have_text("Welcome, Chen")
    expect(first.get_by_test_id("workspace-name")).to_have_text("Harbor Logistics")
    expect(first.get_by_test_id("trial-banner")).to_contain_text("Your free trial ends in 1")

    second = browser.new_context().new_page()
    sign_up(
        second,
        live_app,
        company="Summit Machines",
        slug=second_slug,
        name="Wang Fang",
        email="wang@summit.example",
    )
    expect(second).to_have_url(live_app.url(f"{second_slug}.localhost", "/"))
    expect(second.get_by_test_id("workspace-name")).to_have_text("Summit Machines")

    # The second company's browser cannot open the first company's dashboard.
    second.goto(live_app.url(f"{first_slug}.localhost", "/"))
    expect(second).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(second.get_by_role("heading", name="Sign in to Harbor Logistics")).to_be_visible()
    expect(second.get_by_text("Welcome, Chen")).to_have_count(0)

    # Nor can the first company's admin sign in there with the second one's credentials.
    second.get_by_placeholder("Email address").fill("wang@summit.example")
    second.get_by_placeholder("Password").fill("a-long-and-unusual-passphrase")
    second.get_by_role("button", name="Sign In").click()
    expect(second.get_by_text("not correct")).to_be_visible()

    # Meanwhile the first company is still signed in to its own workspace.
    first.reload()
    expect(first.get_by_test_id("dashboard-heading")).to_have_text("Welcome, Chen")


def test_signup_form_shows_errors_next_to_fields_and_keeps_values(page: Page, live_app):
    page.goto(live_app.url("localhost", "/signup/"))
    page.get_by_label("Company name").fill("Taken Co")
    page.get_by_label("Subdomain").fill("ALPHA")
    page.get_by_label("Your full name").fill("Zhao Lei")
    page.get_by_label("Work email").fill("not-an-email")
    page.get_by_label("Password").fill("123")
    page.get_by_role("button", name="Create workspace").click()

    expect(page.locator("#subdomain-error")).to_have_text("This subdomain is already taken.")
    expect(page.locator("#email-error")).to_have_text("Enter a valid email address.")
    expect(page.locator("#password-error")).to_contain_text("This password is too short.")
    expect(page.get_by_label("Company name")).to_have_value("Taken Co")
    expect(page.get_by_label("Your full name")).to_have_value("Zhao Lei")


def test_unknown_workspace_shows_a_friendly_page(page: Page, live_app):
    page.goto(live_app.url("no-such-company.localhost", "/"))
    expect(page.get_by_role("heading")).to_have_text(
        "There is no workspace at no-such-company.localhost."
    )
    expect(page.get_by_role("link", name="Find my workspace")).to_be_visible()


def test_phone_width_signup_page_fits_the_screen(browser: Browser, live_app):
    page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    page.goto(live_app.url("localhost", "/signup/"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    expect(page.get_by_role("button", name="Create workspace")).to_be_visible()
