"""The CRM in Chromium: what a person does all day, in a workspace of its own (committed, so the
app server and the Celery worker processes see it; dropped afterwards)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db]


@dataclass
class Workspace:
    slug: str
    host: str
    admin_email: str
    rep_email: str
    theirs_pk: int
    mine_pk: int
    twin_pks: tuple[int, int]


@pytest.fixture(scope="module")
def workspace(django_db_setup, django_db_blocker) -> Iterator[Workspace]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django_tenants.utils import tenant_context

    from core_crm.access.models import Role
    from core_crm.customers.models import Account, Contact
    from core_crm.users.services import user_create
    from tenants.models import Tenant
    from tenants.provisioning import provision_tenant

    slug = f"crm{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        tenant = provision_tenant(slug=slug, name="Harbor Trading", status=Tenant.Status.ACTIVE)
        with tenant_context(tenant):
            admin = user_create(
                email="boss@harbor.test",
                full_name="Boss Chen",
                password=PASSWORD,
                is_workspace_admin=True,
                send_verification=False,
            )
            rep = user_create(
                email="rep@harbor.test",
                full_name="Rep Li",
                password=PASSWORD,
                send_verification=False,
            )
            rep.role = Role.objects.get(key="sales_rep")
            rep.save()
            theirs = Account.objects.create(name="Boss Only Holdings", owner=admin)
            mine = Account.objects.create(name="Rep Own Traders", owner=rep)
            first = Account.objects.create(
                name="Ningbo Pumps Co", city="Ningbo", email="info@pumps.cn", owner=admin
            )
            second = Account.objects.create(
                name="Ningbo Pumps Co.", city="Ningbo", website="https://pumps.cn", owner=admin
            )
            Contact.objects.create(first_name="Qiang", last_name="Sun", account=second, owner=admin)
        connection.set_schema_to_public()
        try:
            yield Workspace(
                slug,
                f"{slug}.localhost",
                admin.email,
                rep.email,
                theirs.pk,
                mine.pk,
                (first.pk, second.pk),
            )
        finally:
            connection.set_schema_to_public()
            Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


def sign_in(page: Page, live_app, workspace: Workspace, email: str) -> None:
    page.goto(live_app.url(workspace.host, "/accounts/login/"))
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("dashboard-heading")).to_be_visible()


def test_create_an_account_add_two_contacts_and_find_one_with_global_search(
    browser: Browser, live_app, workspace
):
    page = browser.new_context().new_page()
    sign_in(page, live_app, workspace, workspace.admin_email)
    page.goto(live_app.url(workspace.host, "/customers/new/"))
    page.locator("#id_name").fill("Shanghai Valve Works")
    page.locator("#id_city").fill("Shanghai")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Shanghai Valve Works")).to_be_visible()

    for first, last, email in (
        ("Mei", "Lin", "mei.lin@valve.example"),
        ("Hao", "Zhou", "hao@valve.example"),
    ):
        page.goto(live_app.url(workspace.host, "/contacts/new/"))
        page.locator("#id_first_name").fill(first)
        page.locator("#id_last_name").fill(last)
        page.locator("#id_email").fill(email)
        page.locator("#id_account").select_option(label="Shanghai Valve Works")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("heading", name=f"{first} {last}")).to_be_visible()

    search = page.get_by_test_id("global-search").get_by_role("searchbox")
    search.fill("mei.lin")
    results = page.locator("#global-search-results")
    expect(results.get_by_role("link", name=re.compile("Mei Lin"))).to_be_visible()
    expect(results.get_by_text("Hao Zhou")).to_have_count(0)
    results.get_by_role("link", name=re.compile("Mei Lin")).click()
    expect(page.get_by_role("heading", name="Mei Lin")).to_be_visible()
    expect(page.get_by_text("Shanghai Valve Works").first).to_be_visible()


def test_import_a_csv_and_watch_the_progress_bar_finish(
    browser: Browser, live_app, celery_worker, workspace, tmp_path
):
    rows = [["姓名", "公司", "邮箱", "手机"]]
    rows += [
        [f"王{i}", f"展会公司 {i}", f"card{i}@expo.example", f"139{i:08d}"] for i in range(1500)
    ]
    rows.append(["坏邮箱", "展会公司 1", "not-an-email", ""])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = tmp_path / "expo-cards.csv"
    path.write_text(out.getvalue(), encoding="utf-8")

    page = browser.new_context().new_page()
    sign_in(page, live_app, workspace, workspace.admin_email)
    page.goto(live_app.url(workspace.host, "/imports/new/?object=contact"))
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    # The Chinese header was recognised.
    expect(page.get_by_label("Field for column 邮箱")).to_have_value("email")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-table")).to_contain_text("王0")
    page.get_by_role("button", name="Import 1501 rows").click()

    progress = page.get_by_test_id("import-progress")
    expect(progress.get_by_role("progressbar")).to_be_visible()
    page.reload()  # the bar survives a reload: its state is on the server
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.get_by_test_id("import-progress")).to_have_attribute(
        "data-status", "done", timeout=90_000
    )
    expect(page.get_by_test_id("import-percent")).to_have_text("100%")
    expect(page.get_by_test_id("created-count")).to_have_text("1500")
    expect(page.get_by_test_id("failed-count")).to_have_text("1")
    expect(page.get_by_test_id("issue-table")).to_contain_text("1502")
    expect(page.get_by_test_id("issue-table")).to_contain_text("Enter a valid email address.")
    with page.expect_download() as download:
        page.get_by_test_id("download-rejected").click()
    assert "not-an-email" in download.value.path().read_text(encoding="utf-8-sig")

    page.goto(live_app.url(workspace.host, "/contacts/?q=card1499"))
    expect(page.get_by_test_id("record-table")).to_contain_text("王1499")


def test_a_rep_sees_only_their_own_records(browser: Browser, live_app, workspace):
    page = browser.new_context().new_page()
    sign_in(page, live_app, workspace, workspace.rep_email)
    page.goto(live_app.url(workspace.host, "/customers/"))
    table = page.get_by_test_id("record-table")
    expect(table).to_contain_text("Rep Own Traders")
    expect(table.get_by_text("Boss Only Holdings")).to_have_count(0)
    page.get_by_test_id("global-search").get_by_role("searchbox").fill("Traders")
    expect(page.locator("#global-search-results")).to_contain_text("Rep Own Traders")
    page.get_by_test_id("global-search").get_by_role("searchbox").fill("Holdings")
    expect(page.locator("#global-search-results")).not_to_contain_text("Boss Only")
    response = page.goto(live_app.url(workspace.host, f"/customers/{workspace.theirs_pk}/"))
    assert response is not None and response.status == 404
    expect(page.get_by_text("Boss Only Holdings")).to_have_count(0)


def test_merge_two_duplicates(browser: Browser, live_app, workspace):
    first, second = workspace.twin_pks
    page = browser.new_context().new_page()
    sign_in(page, live_app, workspace, workspace.admin_email)
    page.goto(live_app.url(workspace.host, "/duplicates/customers/"))
    group = page.get_by_test_id("duplicate-groups")
    expect(group).to_contain_text("Ningbo Pumps Co.")
    group.get_by_test_id("duplicate-merge-link").first.click()
    expect(page.get_by_test_id("merge-page")).to_be_visible()
    page.get_by_test_id(f"merge-survivor-{first}").check()
    page.get_by_test_id(f"merge-keep-website-{second}").check()
    page.get_by_test_id("merge-confirm").click()

    expect(page).to_have_url(live_app.url(workspace.host, f"/customers/{first}/"))
    expect(page.get_by_test_id("merge-undo-button")).to_be_visible()
    expect(page.get_by_text("https://pumps.cn").first).to_be_visible()
    page.get_by_test_id("tab-contacts").click()
    expect(page.get_by_test_id("account-contacts")).to_contain_text("Qiang Sun")  # moved along
    response = page.goto(live_app.url(workspace.host, f"/customers/{second}/"))
    assert response is not None and response.status == 404

    # The record's history offers the undo; undoing brings the other record back.
    page.goto(live_app.url(workspace.host, f"/customers/{first}/"))
    page.get_by_test_id("history-undo-merge").first.click()
    page.get_by_test_id("undo-merge-confirm").click()
    response = page.goto(live_app.url(workspace.host, f"/customers/{second}/"))
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("record-title")).to_contain_text("Ningbo Pumps")

    # From a record's page: "Merge with…" offers the likely duplicate.
    page.get_by_test_id("merge-with-link").click()
    candidate = page.get_by_test_id("merge-likely").locator(f'[data-record-id="{first}"]')
    candidate.get_by_test_id("merge-candidate-link").click()
    expect(page.get_by_test_id("merge-page")).to_be_visible()
