"""Workspace admins invite colleagues, set their access and deactivate them, in the browser."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.access.models import Invitation, Role, Team
from core_crm.customers.models import Account
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in


def invite(client, email="new.rep@alpha.test", role_key="sales_rep", team=None):
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(schema_name="alpha")):
        role = Role.objects.get(key=role_key)
    data = {"email": email, "role": role.pk}
    if team is not None:
        data["team"] = team.pk
    return client.post("/settings/users/", data)


def test_invite_accept_and_land_signed_in_with_role_and_team(
    alpha, alpha_client, django_capture_on_commit_callbacks, eager_celery
):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    with tenant_context(alpha):
        team = Team.objects.create(name="South")
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(alpha_client, team=team)
    assert response.status_code == 302
    assert "new.rep@alpha.test" in alpha_client.get("/settings/users/").content.decode()

    message = mail.outbox[-1]
    assert message.to == ["new.rep@alpha.test"]
    assert "Alpha Trading" in message.subject
    path = re.search(r"http://alpha\.localhost(/invite/\S+/)", message.body).group(1)

    newcomer = Client(HTTP_HOST="alpha.localhost")
    weak = newcomer.post(path, {"full_name": "Xu Ming", "password": "123"})
    assert weak.status_code == 400 and 'id="password-error"' in weak.content.decode()
    joined = newcomer.post(path, {"full_name": "Xu Ming", "password": "a-long-passphrase-9"})
    assert joined.status_code == 302
    assert "Welcome, Xu" in newcomer.get("/").content.decode()
    with tenant_context(alpha):
        user = User.objects.get(email="new.rep@alpha.test")
        assert user.role.key == "sales_rep"
        assert list(user.teams.all()) == [team]
        assert user.emailaddress_set.get().verified
    # The link works once.
    assert Client(HTTP_HOST="alpha.localhost").get(path).status_code == 400


def test_expired_revoked_and_other_tenant_links_are_refused(
    alpha, alpha_client, beta_client, django_capture_on_commit_callbacks, eager_celery
):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    with django_capture_on_commit_callbacks(execute=True):
        invite(alpha_client, email="late@alpha.test")
    path = re.search(r"(/invite/\S+/)", mail.outbox[-1].body).group(1)
    assert beta_client.get(path).status_code == 400  # another workspace knows no such link
    with tenant_context(alpha):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client(HTTP_HOST="alpha.localhost").get(path)
    assert page.status_code == 400
    assert "expired, was revoked or was used" in page.content.decode()


def test_inviting_an_existing_colleague_is_refused_with_a_message(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    response = invite(alpha_client, email=ALPHA.rep_email)
    assert response.status_code == 400
    assert "already works in this workspace" in response.content.decode()


def test_only_workspace_admins_reach_the_users_pages(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    for path in ("/settings/users/", "/settings/users/1/access/", "/settings/users/1/deactivate/"):
        assert alpha_client.get(path).status_code == 404
    assert invite(alpha_client).status_code == 404


def test_change_role_and_deactivate_from_the_page(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    with tenant_context(alpha):
        rep = User.objects.get(email=ALPHA.rep_email)
        admin = User.objects.get(email=ALPHA.admin_email)
        manager_role = Role.objects.get(key="sales_manager")
        Account.objects.create(owner=rep, name="Rep's account")
    alpha_client.post(f"/settings/users/{rep.pk}/access/", {"role": manager_role.pk})
    with tenant_context(alpha):
        assert User.objects.get(pk=rep.pk).role == manager_role

    page = alpha_client.get(f"/settings/users/{rep.pk}/deactivate/").content.decode()
    assert "1 accounts" in page
    empty = alpha_client.post(f"/settings/users/{rep.pk}/deactivate/", {})
    assert empty.status_code == 400
    assert "Choose either a user or a team" in empty.content.decode()
    done = alpha_client.post(
        f"/settings/users/{rep.pk}/deactivate/", {"to_user": admin.pk, "children_follow": "on"}
    )
    assert done.status_code == 302
    with tenant_context(alpha):
        assert not User.objects.get(pk=rep.pk).is_active
        assert Account.objects.get(name="Rep's account").owner == admin
