"""Two tenants whose rows share primary keys never see each other's data."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from core_crm.users.models import User

from .conftest import ALPHA, BETA, PASSWORD, sign_in


def test_rows_share_primary_keys_but_not_data(alpha, beta):
    with tenant_context(alpha):
        alpha_admin = User.objects.get(pk=1)
    with tenant_context(beta):
        beta_admin = User.objects.get(pk=1)
    assert alpha_admin.email == ALPHA.admin_email
    assert beta_admin.email == BETA.admin_email


def test_orm_reads_and_writes_stay_in_the_current_schema(alpha, beta):
    with tenant_context(alpha):
        User.objects.filter(pk=2).update(full_name="Changed in Alpha")
        assert User.objects.filter(email=BETA.admin_email).count() == 0
    with tenant_context(beta):
        assert User.objects.get(pk=2).full_name == f"{BETA.name} Rep"
    connection.set_schema_to_public()
    assert not User.objects.filter(email__in=[ALPHA.admin_email, BETA.admin_email]).exists()


def test_session_cookie_of_one_tenant_is_useless_on_another(alpha, alpha_client, beta_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    assert alpha_client.get("/").status_code == 200

    cookie = alpha_client.cookies["sessionid"].value
    beta_client.cookies["sessionid"] = cookie
    response = beta_client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_alpha_user_cannot_sign_in_on_beta(beta_client):
    response = beta_client.post(
        "/accounts/login/", {"login": ALPHA.admin_email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in beta_client.session
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )


def test_same_cache_key_holds_one_value_per_tenant(alpha, beta):
    with tenant_context(alpha):
        cache.set("greeting", "hello from alpha")
    with tenant_context(beta):
        assert cache.get("greeting") is None
        cache.set("greeting", "hello from beta")
    with tenant_context(alpha):
        assert cache.get("greeting") == "hello from alpha"
    with tenant_context(beta):
        assert cache.get("greeting") == "hello from beta"
        cache.delete("greeting")
    with tenant_context(alpha):
        assert cache.get("greeting") == "hello from alpha"
        cache.delete("greeting")


@pytest.mark.parametrize(
    "path", ["/", "/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]
)
def test_signed_in_pages_need_a_session_on_their_own_host(alpha, alpha_client, beta_client, path):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    assert alpha_client.get(path).status_code == 200
    beta_client.cookies["sessionid"] = alpha_client.cookies["sessionid"].value
    response = beta_client.get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
