"""Account, contact and lead pages: record security, forms, history, query counts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.customers import services
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.users.models import User

from ..conftest import ALPHA, BETA, sign_in


def without_csrf(body: bytes) -> bytes:
    """CSRF tokens are masked afresh on every render and the language form echoes the
    requested path; everything else must match."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
    return re.sub(rb'name="next" type="hidden" value="[^"]+"', b"", body)


def test_rep_sees_only_own_accounts_in_the_list(alpha, rep, rep_client):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        Account.objects.create(owner=rep, name="Rep's Shop")
        Account.objects.create(owner=admin, name="Admin's Factory")
    page = rep_client.get("/customers/").content.decode()
    assert "Rep&#x27;s Shop" in page or "Rep's Shop" in page
    assert "Admin" not in page.split('data-testid="record-table"')[1].split("</table>")[0]


@pytest.mark.parametrize(
    "slug,model,field",
    [
        ("customers", Account, "name"),
        ("contacts", Contact, "last_name"),
        ("leads", Lead, "last_name"),
    ],
)
def test_out_of_scope_missing_and_other_tenant_ids_all_answer_the_same_404(
    alpha, beta, rep_client, slug, model, field
):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        theirs = model.objects.create(owner=admin, **{field: "Not yours"})
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        beta_only = model.objects.create(pk=theirs.pk + 100000, owner=beta_admin, **{field: "Beta"})
    missing = rep_client.get(f"/{slug}/999999999/")
    assert missing.status_code == 404
    for pk in (theirs.pk, beta_only.pk):
        for suffix in ("", "edit/"):
            response = rep_client.get(f"/{slug}/{pk}/{suffix}")
            assert response.status_code == 404
            assert without_csrf(response.content) == without_csrf(missing.content)
        posted = rep_client.post(f"/{slug}/{pk}/edit/", {field: "Hijacked"})
        assert posted.status_code == 404
    with tenant_context(alpha):
        assert getattr(model.objects.get(pk=theirs.pk), field) == "Not yours"


def test_create_form_shows_field_errors_and_saves_nothing(alpha, rep_client):
    with tenant_context(alpha):
        before = Account.objects.count()
    response = rep_client.post(
        "/customers/new/", {"name": "", "kind": "prospect", "website": "not a url", "email": "bad"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("name", "website", "email"):
        assert f'id="{field}-error"' in page
    with tenant_context(alpha):
        assert Account.objects.count() == before


def test_create_edit_and_see_the_change_in_the_history(alpha, rep, rep_client):
    with tenant_context(alpha):
        industry = PicklistValue.objects.get(picklist="industry", code="logistics")
    created = rep_client.post(
        "/customers/new/",
        {"name": "Yangtze Freight", "kind": "prospect", "industry": industry.pk, "city": "Wuhan"},
    )
    assert created.status_code == 302
    detail_url = created["Location"]
    pk = int(detail_url.strip("/").split("/")[-1])
    edit = rep_client.post(
        f"/customers/{pk}/edit/",
        {
            "name": "Yangtze Freight Co.",
            "kind": "customer",
            "industry": industry.pk,
            "city": "Wuhan",
        },
    )
    assert edit.status_code == 302
    page = rep_client.get(detail_url).content.decode()
    assert "Yangtze Freight Co." in page
    history = page.split('data-testid="history"')[1]
    assert "Changed" in history and "Created" in history
    assert "Yangtze Freight</s> → Yangtze Freight Co." in history


def test_read_only_role_sees_no_edit_button_and_cannot_post(alpha, admin_client):
    with tenant_context(alpha):
        viewer = User.objects.create_user(
            email="viewer@pages.test",
            password="x" * 12,
            full_name="Viewer",
            role=Role.objects.get(key="read_only"),
        )
        admin = User.objects.get(email=ALPHA.admin_email)
        account = Account.objects.create(owner=admin, name="Visible only")
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, viewer.email)
    page = client.get(f"/customers/{account.pk}/").content.decode()
    assert "Visible only" in page and f"/customers/{account.pk}/edit/" not in page
    refused = client.post(f"/customers/{account.pk}/edit/", {"name": "Changed", "kind": "prospect"})
    assert refused.status_code == 403
    assert "does not allow editing" in refused.content.decode()
    assert client.get("/customers/").content.decode().count("New Account") == 0
    with tenant_context(alpha):
        assert Account.objects.get(pk=account.pk).name == "Visible only"


def test_lists_search_filter_sort_and_empty_states(alpha, rep, rep_client):
    empty = rep_client.get("/leads/").content.decode()
    assert 'data-testid="empty-state"' in empty and "No Leads yet." in empty
    with tenant_context(alpha):
        for name, status in (("Zhang", "new"), ("Li", "working"), ("Wang", "new")):
            services.record_create(
                Lead, actor=rep, channel="web", data={"last_name": name, "status": status}
            )
    filtered = rep_client.get("/leads/", {"status": "new", "sort": "last_name"}).content.decode()
    table = filtered.split('data-testid="record-table"')[1].split("</table>")[0]
    assert table.index("Wang") < table.index("Zhang") and "Li" not in table
    nothing = rep_client.get("/leads/", {"q": "nobody-like-this"}).content.decode()
    assert "Nothing matches these filters." in nothing


def test_list_page_query_count_does_not_grow_with_rows(alpha, rep, rep_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get("/contacts/").status_code == 200
        return len(ctx.captured_queries)

    with tenant_context(alpha):
        account = Account.objects.create(owner=rep, name="Holder")
        Contact.objects.create(owner=rep, last_name="First", account=account)
    queries()
    few = queries()
    with tenant_context(alpha):
        for i in range(20):
            Contact.objects.create(owner=rep, last_name=f"C{i}", account=account)
    assert queries() == few


def test_navigation_shows_only_readable_objects(alpha, admin_client):
    with tenant_context(alpha):
        agent = User.objects.create_user(
            email="agent@pages.test",
            password="x" * 12,
            full_name="Agent",
            role=Role.objects.get(key="service_agent"),
        )
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, agent.email)
    nav = client.get("/").content.decode().split('aria-label="Main"')[1].split("</nav>")[0]
    assert 'href="/customers/"' in nav and 'href="/contacts/"' in nav
    assert 'href="/leads/"' not in nav
    assert client.get("/leads/").content.decode().count("No Leads yet.") == 1


# --- Likely duplicates on the create and edit forms --------------------------------------------


def test_create_form_shows_likely_duplicates_and_saves_only_when_confirmed(alpha, rep, rep_client):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        mine = Account.objects.create(owner=rep, name="Mine", email="sales@valves.cn")
        Account.objects.create(owner=admin, name="Shanghai Valves Co", city="Shanghai")
        before = Account.objects.count()
    data = {
        "name": "Shanghai Valves Co.",
        "kind": "prospect",
        "city": "shanghai",
        "email": "Sales@Valves.cn",
    }
    response = rep_client.post("/customers/new/", data)
    assert response.status_code == 200
    page = response.content.decode()
    panel = page.split('data-testid="duplicates"')[1].split("</div>")[0]
    assert f'href="/customers/{mine.pk}/"' in panel and "same email" in panel
    assert "1 similar record you cannot open." in panel  # the admin's, by name and city
    assert "Shanghai Valves Co<" not in panel  # nothing of it is shown
    assert 'name="confirm_duplicates"' in page
    assert 'value="Shanghai Valves Co."' in page  # the form keeps what was typed
    with tenant_context(alpha):
        assert Account.objects.count() == before
    saved = rep_client.post("/customers/new/", {**data, "confirm_duplicates": "1"})
    assert saved.status_code == 302
    with tenant_context(alpha):
        assert Account.objects.count() == before + 1


def test_no_panel_without_duplicates_and_invalid_forms_still_show_errors(alpha, rep_client):
    fresh = rep_client.post(
        "/leads/new/", {"last_name": "Unique-name-xyz", "status": "new", "score": 0}
    )
    assert fresh.status_code == 302
    invalid = rep_client.post("/leads/new/", {"last_name": "", "email": "bad", "status": "new"})
    assert invalid.status_code == 400
    assert 'data-testid="duplicates"' not in invalid.content.decode()


def test_edit_form_checks_duplicates_only_when_identity_fields_change(alpha, rep, rep_client):
    with tenant_context(alpha):
        services.record_create(
            Contact, actor=rep, channel="web", data={"last_name": "Zhou", "mobile": "13800138000"}
        )
        other = services.record_create(
            Contact, actor=rep, channel="web", data={"last_name": "Qian", "mobile": "13900139000"}
        )
    # Unrelated change, and a record never matches itself: saved straight away.
    plain = rep_client.post(
        f"/contacts/{other.pk}/edit/",
        {"last_name": "Qian", "mobile": "13900139000", "title": "Buyer"},
    )
    assert plain.status_code == 302
    # Its mobile becomes the other contact's (formatted differently): warned first.
    changed = rep_client.post(
        f"/contacts/{other.pk}/edit/",
        {"last_name": "Qian", "mobile": "+86 138 0013 8000", "title": "Buyer"},
    )
    assert changed.status_code == 200
    assert "same phone" in changed.content.decode()
    with tenant_context(alpha):
        assert Contact.objects.get(pk=other.pk).mobile == "13900139000"
    confirmed = rep_client.post(
        f"/contacts/{other.pk}/edit/",
        {
            "last_name": "Qian",
            "mobile": "+86 138 0013 8000",
            "title": "Buyer",
            "confirm_duplicates": "1",
        },
    )
    assert confirmed.status_code == 302
    with tenant_context(alpha):
        assert Contact.objects.get(pk=other.pk).mobile == "+86 138 0013 8000"
