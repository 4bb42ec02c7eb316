"""Platform operators work in the Django admin on the public site, and only there."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from core_crm.users.models import User
from tenants.models import Tenant

from ..conftest import ALPHA, PASSWORD


@pytest.fixture
def operator(db):
    connection.set_schema_to_public()
    return User.objects.create_superuser(
        email="ops@guanxi.example", password=PASSWORD, full_name="Platform Ops"
    )


def test_operator_signs_in_to_the_admin_and_sees_workspaces_not_the_template(operator):
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "ops@guanxi.example", "password": PASSWORD},
    )
    assert response.status_code == 302
    page = client.get("/admin/tenants/tenant/").content.decode()
    assert "Alpha Trading" in page
    assert "Beta Industrial" in page
    assert "tenant_template" not in page


def test_operator_can_suspend_a_workspace(operator, alpha):
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    url = f"/admin/tenants/tenant/{alpha.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "status": "suspended",
            "trial_ends_at_0": "",
            "trial_ends_at_1": "",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Tenant.objects.get(pk=alpha.pk).status == "suspended"
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 403


def test_workspace_admin_credentials_do_not_open_the_platform_admin(db):
    client = Client(HTTP_HOST="localhost")
    client.post("/admin/login/", {"username": ALPHA.admin_email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 302


def test_there_is_no_admin_on_workspace_hosts(alpha_client):
    assert alpha_client.get("/admin/").status_code == 404
