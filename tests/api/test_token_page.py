"""Users create and revoke their API tokens in their settings."""

from __future__ import annotations

import re

from django_tenants.utils import tenant_context

from core_crm.api.models import PersonalAccessToken
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in


def test_new_token_is_shown_once_and_then_only_its_prefix(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    empty = alpha_client.get("/settings/api-tokens/").content.decode()
    assert "You have no API tokens yet" in empty
    # A settings page: the settings menu beside it, with only what a rep may open.
    nav = empty.split('data-testid="settings-nav"')[1].split("</nav>")[0]
    assert 'aria-current="page"' in nav and "API tokens" in nav and "Roles" not in nav

    page = alpha_client.post("/settings/api-tokens/", {"name": "ERP sync"}).content.decode()
    token = re.search(r"(gx_[\w-]{20,})", page).group(1)
    assert "It will not be shown again" in page

    later = alpha_client.get("/settings/api-tokens/").content.decode()
    assert token not in later
    assert token[:10] in later and "ERP sync" in later
    api = alpha_client.get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200


def test_a_nameless_token_is_refused_with_a_message(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    page = alpha_client.post("/settings/api-tokens/", {"name": " "}, follow=True)
    assert "Give the token a name" in page.content.decode()
    with tenant_context(alpha):
        assert not PersonalAccessToken.objects.exists()


def test_revoke_locks_the_token_out_and_only_its_owner_can_revoke(alpha, alpha_client):
    from django.test import Client

    sign_in(alpha_client, alpha, ALPHA.rep_email)
    page = alpha_client.post("/settings/api-tokens/", {"name": "Phone"}).content.decode()
    token = re.search(r"(gx_[\w-]{20,})", page).group(1)
    with tenant_context(alpha):
        row = PersonalAccessToken.objects.get()

    admin_client = Client(HTTP_HOST="alpha.localhost")
    sign_in(admin_client, alpha, ALPHA.admin_email)
    admin_client.post(f"/settings/api-tokens/{row.pk}/revoke/")
    with tenant_context(alpha):
        assert PersonalAccessToken.objects.get().revoked_at is None

    alpha_client.post(f"/settings/api-tokens/{row.pk}/revoke/")
    with tenant_context(alpha):
        assert PersonalAccessToken.objects.get().revoked_at is not None
    assert (
        alpha_client.get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    )
    assert "Revoked" in alpha_client.get("/settings/api-tokens/").content.decode()


def test_token_page_needs_a_session_on_its_own_host(alpha, beta, alpha_client, beta_client):
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    beta_client.cookies["sessionid"] = alpha_client.cookies["sessionid"].value
    assert beta_client.get("/settings/api-tokens/").status_code == 302
    with tenant_context(alpha):
        assert User.objects.filter(email=ALPHA.rep_email).exists()
