"""Deactivating a user hands their records on and locks them out."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.access.policy import PermissionDenied
from core_crm.access.services import ReassignmentError, user_deactivate
from core_crm.api.models import PersonalAccessToken
from core_crm.api.services import token_create
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User
from tenants.models import WorkspaceMember

from ..conftest import ALPHA, PASSWORD, sign_in


@pytest.fixture
def leaver(alpha):
    with tenant_context(alpha):
        rep_role = Role.objects.get(key="sales_rep")
        team = Team.objects.create(name="West")
        leaver = User.objects.create_user(
            email="leaver@alpha.test", password=PASSWORD, full_name="Leaving Rep", role=rep_role
        )
        a = User.objects.create_user(
            email="a@alpha.test", password=PASSWORD, full_name="A", role=rep_role
        )
        b = User.objects.create_user(
            email="b@alpha.test", password=PASSWORD, full_name="B", role=rep_role
        )
        team.members.add(leaver, a, b)
        accounts = [Account.objects.create(owner=leaver, name=f"Acc {i}") for i in range(4)]
        contacts = [
            Contact.objects.create(owner=leaver, last_name=f"C{i}", account=acc)
            for i, acc in enumerate(accounts)
        ]
        loose = Contact.objects.create(owner=leaver, last_name="No account")
        leads = [Lead.objects.create(owner=leaver, last_name=f"L{i}") for i in range(3)]
        admin = User.objects.get(email=ALPHA.admin_email)
        yield {
            "leaver": leaver,
            "a": a,
            "b": b,
            "team": team,
            "accounts": accounts,
            "contacts": contacts,
            "loose": loose,
            "leads": leads,
            "admin": admin,
        }


def test_reassign_everything_to_one_user(alpha, leaver):
    with tenant_context(alpha):
        result = user_deactivate(actor=leaver["admin"], user=leaver["leaver"], to_user=leaver["a"])
        assert result.moved == {"account": 4, "contact": 5, "lead": 3}
        for model in (Account, Contact, Lead):
            assert not model.objects.filter(owner=leaver["leaver"]).exists()
        assert Account.objects.filter(owner=leaver["a"]).count() == 4
        entries = AuditEntry.objects.filter(kind="reassign")
        assert entries.count() == 12
        assert all(e.changes == {"owner": [leaver["leaver"].pk, leaver["a"].pk]} for e in entries)
        assert not User.objects.get(pk=leaver["leaver"].pk).is_active


def test_round_robin_across_a_team_with_children_following_their_account(alpha, leaver):
    with tenant_context(alpha):
        user_deactivate(
            actor=leaver["admin"],
            user=leaver["leaver"],
            to_team=leaver["team"],
            children_follow=True,
        )
        owners = [Account.objects.get(pk=a.pk).owner_id for a in leaver["accounts"]]
        assert owners == [leaver["a"].pk, leaver["b"].pk, leaver["a"].pk, leaver["b"].pk]
        for contact, account in zip(leaver["contacts"], leaver["accounts"], strict=True):
            assert (
                Contact.objects.get(pk=contact.pk).owner_id
                == Account.objects.get(pk=account.pk).owner_id
            )
        lead_owners = {Lead.objects.get(pk=lead.pk).owner_id for lead in leaver["leads"]}
        assert lead_owners == {leaver["a"].pk, leaver["b"].pk}


def test_without_children_following_contacts_are_dealt_out_too(alpha, leaver):
    with tenant_context(alpha):
        user_deactivate(
            actor=leaver["admin"],
            user=leaver["leaver"],
            to_team=leaver["team"],
            children_follow=False,
        )
        contact_owners = [Contact.objects.get(pk=c.pk).owner_id for c in leaver["contacts"]]
        assert contact_owners == [leaver["a"].pk, leaver["b"].pk, leaver["a"].pk, leaver["b"].pk]


def test_deactivated_user_is_locked_out_of_pages_api_and_finder(alpha, alpha_client, leaver):
    sign_in(alpha_client, alpha, "leaver@alpha.test")
    with tenant_context(alpha):
        _row, token = token_create(user=leaver["leaver"], name="script")
        WorkspaceMember.objects.get_or_create(tenant=alpha, email="leaver@alpha.test")
        assert alpha_client.get("/").status_code == 200
        user_deactivate(actor=leaver["admin"], user=leaver["leaver"], to_user=leaver["b"])
        assert PersonalAccessToken.objects.get().revoked_at is not None
    assert alpha_client.get("/").status_code == 302  # the session ended
    login = alpha_client.post(
        "/accounts/login/", {"login": "leaver@alpha.test", "password": PASSWORD}
    )
    assert "_auth_user_id" not in alpha_client.session
    assert login.status_code in (200, 302)
    assert (
        alpha_client.get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    )
    assert not WorkspaceMember.objects.filter(email="leaver@alpha.test").exists()


def test_only_admins_deactivate_and_bad_targets_are_refused(alpha, leaver):
    with tenant_context(alpha):
        with pytest.raises(PermissionDenied):
            user_deactivate(actor=leaver["a"], user=leaver["leaver"], to_user=leaver["b"])
        with pytest.raises(ReassignmentError, match="either a user or a team"):
            user_deactivate(actor=leaver["admin"], user=leaver["leaver"])
        with pytest.raises(ReassignmentError, match="another active user"):
            user_deactivate(actor=leaver["admin"], user=leaver["leaver"], to_user=leaver["leaver"])
        empty = Team.objects.create(name="Empty")
        with pytest.raises(ReassignmentError, match="no other active member"):
            user_deactivate(actor=leaver["admin"], user=leaver["leaver"], to_team=empty)
        assert User.objects.get(pk=leaver["leaver"].pk).is_active
        assert Account.objects.filter(owner=leaver["leaver"]).count() == 4
