"""POST /api/v1/<objects>/duplicates/: likely duplicates of a record before it is saved."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.api.services import token_create
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User

from ..conftest import ALPHA, BETA
from ..customfields.helpers import admin_of, user_with_role


class Api:
    def __init__(self, tenant, user: User) -> None:  # type: ignore[no-untyped-def]
        with tenant_context(tenant):
            _row, token = token_create(user=user, name="tests")
        self.client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(self, path, data):
        return self.client.post(
            path, json.dumps(data), content_type="application/json", **self.headers
        )


@pytest.fixture
def rep(alpha):
    return user_with_role(alpha, ALPHA.rep_email, "sales_rep")


def test_matches_come_with_reasons_and_readable_records_only(alpha, rep):
    admin = admin_of(alpha)
    with tenant_context(alpha):
        mine = Account.objects.create(owner=rep, name="Mine", phone="021-5555 0000")
        Account.objects.create(owner=admin, name="Hidden Twin", email="info@twin.cn")
        before = Account.objects.count()
    api = Api(alpha, rep)
    response = api.post(
        "/api/v1/accounts/duplicates/",
        {"name": "New one", "phone": "+86 21 5555 0000", "email": "INFO@twin.cn"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["hidden"] == 1
    assert [(m["id"], m["reasons"]) for m in body["matches"]] == [(mine.pk, ["phone"])]
    assert body["matches"][0]["record"]["name"] == "Mine"
    with tenant_context(alpha):
        assert Account.objects.count() == before  # nothing saved
    # A plain create is not blocked.
    created = api.post("/api/v1/accounts/", {"name": "New one", "phone": "+86 21 5555 0000"})
    assert created.status_code == 201


def test_no_matches_and_bad_bodies(alpha, rep):
    api = Api(alpha, rep)
    empty = api.post("/api/v1/leads/duplicates/", {"last_name": "Nobody-like-this"})
    assert empty.json() == {"matches": [], "hidden": 0}
    bad = api.post("/api/v1/leads/duplicates/", {"email": "not an email"})
    assert bad.status_code == 400 and "email" in bad.json()


def test_contacts_match_by_similar_name_at_the_same_account(alpha, rep):
    with tenant_context(alpha):
        account = Account.objects.create(owner=rep, name="Holder")
        zhang = Contact.objects.create(
            owner=rep, first_name="San", last_name="Zhang", account=account
        )
    api = Api(alpha, rep)
    body = api.post(
        "/api/v1/contacts/duplicates/",
        {"first_name": "San", "last_name": "Zhang", "account": account.pk},
    ).json()
    assert [(m["id"], m["reasons"]) for m in body["matches"]] == [(zhang.pk, ["name"])]


def test_checking_a_change_excludes_the_record_itself(alpha, rep):
    with tenant_context(alpha):
        lead = Lead.objects.create(owner=rep, last_name="Sun", email="sun@x.cn")
    api = Api(alpha, rep)
    own = api.post(f"/api/v1/leads/duplicates/?exclude={lead.pk}", {"email": "sun@x.cn"})
    assert own.json() == {"matches": [], "hidden": 0}


def test_refusals_and_other_owners_and_workspaces(alpha, beta, rep):
    admin = admin_of(alpha)
    with tenant_context(alpha):
        theirs = Lead.objects.create(owner=admin, last_name="Admin's lead")
    with tenant_context(beta):
        beta_lead = Lead.objects.create(
            pk=theirs.pk + 1000, owner=User.objects.get(email=BETA.admin_email), last_name="B"
        )
    api = Api(alpha, rep)
    for pk in (theirs.pk, beta_lead.pk, 999999, "abc"):
        response = api.post(f"/api/v1/leads/duplicates/?exclude={pk}", {"last_name": "X"})
        assert response.status_code == 404, pk
    viewer = user_with_role(alpha, "viewer@dupes.test", "read_only")
    refused = Api(alpha, viewer).post("/api/v1/accounts/duplicates/", {"name": "X"})
    assert refused.status_code == 403
    # Beta's records are never matched from alpha.
    with tenant_context(beta):
        Account.objects.create(
            owner=User.objects.get(email=BETA.admin_email), email="b@beta.cn", name="B"
        )
    assert Api(alpha, admin).post(
        "/api/v1/accounts/duplicates/", {"email": "b@beta.cn"}
    ).json() == {
        "matches": [],
        "hidden": 0,
    }
