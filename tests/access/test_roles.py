"""Settings → Roles: the permission matrix per role, edited by workspace admins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access import services
from core_crm.access.defaults import DEFAULT_ROLES
from core_crm.access.models import OBJECT_TYPES, Invitation, Role
from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in

ACTIONS = ("create", "read", "edit", "delete", "export")


def matrix_post(role: Role, name: str | None = None, **cells: str) -> dict[str, Any]:
    """The role form as the page posts it, with `cells` ("account__read": "all") changed."""
    data = {"name": role.name if name is None else name}
    for obj in OBJECT_TYPES:
        for action in ACTIONS:
            data[f"{obj}__{action}"] = role.scope(obj, action)
    data.update(cells)
    return data


def role(alpha, key: str) -> Role:
    with tenant_context(alpha):
        return Role.objects.get(key=key)


def test_roles_list_every_role_with_the_people_holding_it(alpha, rep, admin_client):
    with tenant_context(alpha):
        manager_role = Role.objects.get(key="sales_manager")
        User.objects.create_user(
            email="gone@alpha.test",
            password="x" * 12,
            full_name="Gone",
            role=manager_role,
            is_active=False,
        )
    page = admin_client.get("/settings/roles/").content.decode()
    for spec in DEFAULT_ROLES:
        assert f'data-role="{spec["key"]}"' in page
    rep_row = page.split('data-role="sales_rep"')[1].split("</tr>")[0]
    assert 'data-testid="holders">1' in rep_row
    manager_row = page.split('data-role="sales_manager"')[1].split("</tr>")[0]
    assert 'data-testid="holders">0' in manager_row and "(+1 deactivated)" in manager_row
    assert "Accounts: Own" in rep_row


def test_widening_a_roles_read_scope_shows_a_rep_others_records_on_the_next_request(
    alpha, admin, rep, admin_client, rep_client
):
    with tenant_context(alpha):
        Account.objects.create(owner=rep, name="Rep Shop")
        Account.objects.create(owner=admin, name="Admin Factory")
    sales_rep = role(alpha, "sales_rep")
    assert "Admin Factory" not in rep_client.get("/customers/").content.decode()

    form = admin_client.get(f"/settings/roles/{sales_rep.pk}/").content.decode()
    assert 'data-testid="permission-matrix"' in form
    assert '<select name="account__read"' in form

    response = admin_client.post(
        f"/settings/roles/{sales_rep.pk}/", matrix_post(sales_rep, account__read="all")
    )
    assert response.status_code == 302
    listing = rep_client.get("/customers/").content.decode()
    assert "Admin Factory" in listing and "Rep Shop" in listing
    with tenant_context(alpha):
        entry = AuditEntry.objects.filter(
            content_type__model="role", object_id=sales_rep.pk
        ).latest("pk")
        sales_rep.refresh_from_db()
    assert entry.kind == "update" and entry.actor.email == ALPHA.admin_email
    assert entry.changes == {"account.read": ["own", "all"]}
    assert sales_rep.permissions["account"]["read"] == "all"
    assert sales_rep.permissions["contact"]["read"] == "own"
    history = admin_client.get(f"/settings/roles/{sales_rep.pk}/").content.decode()
    assert "account.read" in history.split('data-testid="history"')[1]

    # Narrowing takes effect just as fast, for the API too.
    admin_client.post(
        f"/settings/roles/{sales_rep.pk}/",
        matrix_post(sales_rep, account__read="own"),
    )
    api = rep_client.get("/api/v1/accounts/").json()
    assert [row["name"] for row in api["results"]] == ["Rep Shop"]


def test_a_new_role_copies_another_and_can_be_renamed_and_deleted(alpha, admin_client):
    marketing = role(alpha, "marketing")
    form = admin_client.get(f"/settings/roles/new/?from={marketing.pk}").content.decode()
    assert f'<option value="{marketing.pk}" selected' in form

    response = admin_client.post(
        "/settings/roles/new/", {"name": "Events team", "copy_from": marketing.pk}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        events = Role.objects.get(name="Events team")
    assert response["Location"] == f"/settings/roles/{events.pk}/"
    assert events.key == "events_team" and not events.is_system
    assert events.permissions == marketing.permissions

    renamed = admin_client.post(
        f"/settings/roles/{events.pk}/", matrix_post(events, name="Event marketing")
    )
    assert renamed.status_code == 302
    with tenant_context(alpha):
        events.refresh_from_db()
        assert events.name == "Event marketing"

    again = admin_client.post(
        "/settings/roles/new/", {"name": "event MARKETING", "copy_from": marketing.pk}
    )
    assert again.status_code == 400 and 'id="name-error"' in again.content.decode()

    confirm = admin_client.get(f"/settings/roles/{events.pk}/delete/")
    assert confirm.status_code == 200 and "Delete role" in confirm.content.decode()
    assert admin_client.post(f"/settings/roles/{events.pk}/delete/").status_code == 302
    with tenant_context(alpha):
        assert not Role.objects.filter(pk=events.pk).exists()
        assert AuditEntry.objects.filter(
            content_type__model="role", object_id=events.pk, kind="delete"
        ).exists()


def test_a_role_someone_holds_or_a_pending_invitation_offers_is_not_deleted(
    alpha, admin, rep, admin_client
):
    sales_rep = role(alpha, "sales_rep")
    page = admin_client.get(f"/settings/roles/{sales_rep.pk}/delete/").content.decode()
    assert "1 person holds this role" in page and "Delete role" not in page
    refused = admin_client.post(f"/settings/roles/{sales_rep.pk}/delete/")
    assert refused.status_code == 400

    with tenant_context(alpha):
        spare = services.role_create(actor=admin, name="Spare", copy_from=sales_rep)
        services.invitation_create(actor=admin, email="new@alpha.test", role=spare)
        blockers = services.role_delete_blockers(spare)
        assert blockers == ["1 pending invitation offers this role; revoke it first."]
        with pytest.raises(services.AccessError, match="revoke it first"):
            services.role_delete(actor=admin, role=spare)
        # A used-up invitation does not hold a role back; it goes with the role.
        Invitation.objects.filter(role=spare).update(revoked_at="2026-01-01T00:00:00Z")
        services.role_delete(actor=admin, role=spare)
        assert not Role.objects.filter(pk=spare.pk).exists()
        assert not Invitation.objects.filter(email="new@alpha.test").exists()
        assert Role.objects.filter(pk=sales_rep.pk).exists()


def test_the_administrator_role_keeps_full_rights(alpha, admin, admin_client):
    admin_role = role(alpha, "admin")
    page = admin_client.get(f"/settings/roles/{admin_role.pk}/").content.decode()
    assert 'data-testid="locked-role"' in page and "never lock itself out" in page
    assert re.search(r'<select name="account__read"[^>]* disabled', page)

    # The page ignores posted scopes for it (the fields are disabled), but renames it.
    response = admin_client.post(
        f"/settings/roles/{admin_role.pk}/",
        matrix_post(admin_role, name="Administrators", account__read="none"),
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        admin_role.refresh_from_db()
        assert admin_role.name == "Administrators"
        assert admin_role.permissions == services.full_permissions()

        reduced = services.full_permissions()
        reduced["lead"]["delete"] = "own"
        with pytest.raises(ValidationError) as info:
            services.role_update(
                actor=admin, role=admin_role, name="Administrators", permissions=reduced
            )
        assert "locked out" in info.value.message_dict["permissions"][0]
        admin_role.refresh_from_db()
        assert admin_role.permissions == services.full_permissions()
        assert services.role_delete_blockers(admin_role)[0] == (
            "The Administrator role cannot be deleted."
        )
        with pytest.raises(services.AccessError):
            services.role_delete(actor=admin, role=admin_role)
    assert admin_client.post(f"/settings/roles/{admin_role.pk}/delete/").status_code == 400


def test_a_matrix_that_makes_no_sense_is_refused_cell_by_cell(alpha, admin_client):
    read_only = role(alpha, "read_only")
    response = admin_client.post(
        f"/settings/roles/{read_only.pk}/",
        matrix_post(read_only, name="", account__read="own", account__edit="all"),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="name-error"' in page
    assert 'id="account__edit-error"' in page and "further than read" in page
    not_offered = admin_client.post(
        f"/settings/roles/{read_only.pk}/", matrix_post(read_only, lead__create="own")
    )
    assert not_offered.status_code == 400
    assert 'id="lead__create-error"' in not_offered.content.decode()
    with tenant_context(alpha):
        read_only.refresh_from_db()
        assert read_only.name == "Read-only"
        assert read_only.permissions["account"]["read"] == "all"

    with tenant_context(alpha), pytest.raises(ValidationError) as info:
        services.clean_permissions(
            read_only,
            {"account": {"read": "none", "create": "all"}, "invoice": {}},
        )
    assert set(info.value.message_dict) == {"account.create", "permissions"}


def test_only_workspace_admins_change_roles(alpha, rep):
    with tenant_context(alpha):
        sales_rep = Role.objects.get(key="sales_rep")
        with pytest.raises(PermissionDenied):
            services.role_update(
                actor=rep, role=sales_rep, name="Mine", permissions=services.full_permissions()
            )
        with pytest.raises(PermissionDenied):
            services.role_create(actor=rep, name="Mine", copy_from=sales_rep)
        with pytest.raises(PermissionDenied):
            services.role_delete(actor=rep, role=sales_rep)


def role_urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", "/settings/roles/"),
        ("get", "/settings/roles/new/"),
        ("post", "/settings/roles/new/"),
        ("get", f"/settings/roles/{pk}/"),
        ("post", f"/settings/roles/{pk}/"),
        ("get", f"/settings/roles/{pk}/delete/"),
        ("post", f"/settings/roles/{pk}/delete/"),
    ]


def test_a_sales_rep_gets_404_from_every_role_page_and_changes_nothing(alpha, rep, rep_client):
    sales_rep = role(alpha, "sales_rep")
    with tenant_context(alpha):
        before = {r.pk: (r.name, r.permissions) for r in Role.objects.all()}
    for method, url in role_urls(sales_rep.pk):
        data = matrix_post(sales_rep, account__read="all") if method == "post" else {}
        if url.endswith("/new/"):
            data = {"name": "Sneaky", "copy_from": sales_rep.pk}
        assert getattr(rep_client, method)(url, data).status_code == 404, (method, url)
    with tenant_context(alpha):
        assert {r.pk: (r.name, r.permissions) for r in Role.objects.all()} == before


def test_another_workspaces_admin_gets_404_for_this_workspaces_roles(
    alpha, beta, admin, beta_admin_client
):
    with tenant_context(alpha):
        only_alpha = services.role_create(
            actor=admin, name="Alpha only", copy_from=Role.objects.get(key="sales_rep")
        )
    with tenant_context(beta):
        assert not Role.objects.filter(pk=only_alpha.pk).exists()
    for method, url in role_urls(only_alpha.pk)[3:]:
        data = matrix_post(only_alpha, account__read="all") if method == "post" else {}
        assert getattr(beta_admin_client, method)(url, data).status_code == 404, (method, url)
    with tenant_context(alpha):
        only_alpha.refresh_from_db()
        assert only_alpha.permissions["account"]["read"] == "own"


def test_roles_page_takes_a_fixed_number_of_queries(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/settings/roles/").status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    with tenant_context(alpha):
        base = Role.objects.get(key="sales_rep")
        for i in range(10):
            extra = services.role_create(actor=admin, name=f"Role {i}", copy_from=base)
            User.objects.create_user(
                email=f"holder{i}@alpha.test", password="x" * 12, full_name=f"H{i}", role=extra
            )
    assert queries() == few
    with django_assert_max_num_queries(10):  # half are SET search_path; 1 is the bell
        admin_client.get("/settings/roles/")


def test_settings_menu_and_navigation(alpha, rep, admin_client, rep_client):
    home = admin_client.get("/").content.decode()
    assert 'data-testid="settings-link"' in home
    assert admin_client.get("/settings/")["Location"] == "/settings/users/"
    roles_page = admin_client.get("/settings/roles/").content.decode()
    nav = roles_page.split('data-testid="settings-nav"')[1].split("</nav>")[0]
    for href in (
        "/settings/users/",
        "/settings/roles/",
        "/settings/picklists/",
        "/settings/fields/",
        "/settings/api-tokens/",
    ):
        assert f'href="{href}"' in nav
    assert 'href="/settings/roles/" aria-current="page"' in nav
    assert 'href="/settings/users/"' in admin_client.get("/settings/picklists/").content.decode()

    assert 'data-testid="settings-link"' not in rep_client.get("/").content.decode()
    assert rep_client.get("/settings/")["Location"] == "/settings/api-tokens/"


def test_role_pages_speak_chinese(alpha, admin_client):
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = admin_client.get("/settings/roles/").content.decode()
    assert "新建角色" in page and "设置" in page
    sales_rep = role(alpha, "sales_rep")
    form = admin_client.get(f"/settings/roles/{sales_rep.pk}/").content.decode()
    assert "权限" in form and "本人" in form


def test_a_fresh_client_without_session_is_sent_to_sign_in(alpha):
    client = Client(HTTP_HOST="alpha.localhost")
    for url in ("/settings/roles/", "/settings/picklists/", "/settings/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    sign_in(client, alpha, ALPHA.admin_email)
    assert client.get("/settings/roles/").status_code == 200
