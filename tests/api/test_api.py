"""The REST API: tokens, record security, errors, bulk create, throttling, pagination."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.api.models import PersonalAccessToken
from core_crm.api.services import token_create
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact
from core_crm.users.models import User
from guanxi.tokens import token_hash

from ..conftest import ALPHA, BETA


class Api:
    """A client for one workspace host, authenticated with one token."""

    def __init__(self, host: str, token: str | None) -> None:
        self.client = Client(HTTP_HOST=host)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path, **params):
        return self.client.get(path, params, **self.headers)

    def post(self, path, data):
        return self.client.post(
            path, json.dumps(data), content_type="application/json", **self.headers
        )

    def patch(self, path, data):
        return self.client.patch(
            path, json.dumps(data), content_type="application/json", **self.headers
        )

    def delete(self, path):
        return self.client.delete(path, **self.headers)


def make_user(tenant, email: str, role_key: str | None, admin: bool = False):
    with tenant_context(tenant):
        role = Role.objects.get(key=role_key) if role_key else None
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password="x" * 12, full_name=email, role=role, is_workspace_admin=admin
            )
        else:
            user.role, user.is_workspace_admin = role, admin
            user.save()
        _row, token = token_create(user=user, name="tests")
        return user, token


@pytest.fixture
def alpha_admin(alpha):
    user, token = make_user(alpha, ALPHA.admin_email, None, admin=True)
    return user, Api("alpha.localhost", token)


@pytest.fixture
def alpha_rep(alpha):
    user, token = make_user(alpha, ALPHA.rep_email, "sales_rep")
    return user, Api("alpha.localhost", token)


@pytest.fixture
def beta_admin(beta):
    user, token = make_user(beta, BETA.admin_email, None, admin=True)
    return user, Api("beta.localhost", token)


# --- Tokens --------------------------------------------------------------------------------


def test_requests_without_a_valid_token_are_refused(alpha, alpha_rep):
    assert Api("alpha.localhost", None).get("/api/v1/accounts/").status_code == 401
    bad = Api("alpha.localhost", "gx_not-a-real-token").get("/api/v1/accounts/")
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Invalid or revoked token."}
    assert alpha_rep[1].get("/api/v1/accounts/").status_code == 200


def test_tokens_are_stored_hashed_and_work_only_until_revoked(alpha, alpha_rep):
    user, api = alpha_rep
    token = api.headers["HTTP_AUTHORIZATION"].split()[1]
    with tenant_context(alpha):
        row = PersonalAccessToken.objects.get(user=user)
        assert row.token_hash == token_hash(token)
        assert token not in {row.token_hash, row.prefix, row.name}
        row.revoked_at = row.created_at
        row.save()
    assert api.get("/api/v1/accounts/").status_code == 401


def test_a_token_of_one_workspace_is_worthless_on_another(alpha, beta, alpha_rep):
    token = alpha_rep[1].headers["HTTP_AUTHORIZATION"].split()[1]
    assert Api("beta.localhost", token).get("/api/v1/accounts/").status_code == 401


# --- Create, read, update, delete ----------------------------------------------------------


def test_create_ignores_owner_and_audit_fields_and_records_the_api_channel(alpha, alpha_rep):
    user, api = alpha_rep
    response = api.post(
        "/api/v1/accounts/",
        {
            "name": "Hangzhou Tea House",
            "industry": "retail",
            "city": "杭州",
            "tags": [],
            "owner": 1,
            "id": 999,
            "created_at": "2000-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == user.pk
    assert body["id"] != 999
    assert not body["created_at"].startswith("2000")
    assert body["industry"] == "retail"
    with tenant_context(alpha):
        entry = AuditEntry.objects.get(object_id=body["id"], kind="create")
        assert entry.channel == "api"
        assert entry.actor_id == user.pk


def test_errors_name_each_bad_field(alpha, alpha_rep):
    response = alpha_rep[1].post(
        "/api/v1/accounts/",
        {
            "name": "",
            "industry": "no-such-industry",
            "email": "not-an-email",
            "value_class": "Z",
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"name", "industry", "email", "value_class"}


def test_contact_cannot_point_at_an_account_the_caller_cannot_see(alpha, alpha_admin, alpha_rep):
    admins = alpha_admin[1].post("/api/v1/accounts/", {"name": "Admin only"}).json()
    response = alpha_rep[1].post("/api/v1/contacts/", {"last_name": "Wu", "account": admins["id"]})
    assert response.status_code == 400
    assert "does not exist" in response.json()["account"][0]


def test_out_of_scope_and_other_tenant_ids_answer_exactly_like_missing_ones(
    alpha, beta, alpha_admin, alpha_rep, beta_admin
):
    admins = alpha_admin[1].post("/api/v1/accounts/", {"name": "Admin's"}).json()["id"]
    beta_only = beta_admin[1].post("/api/v1/accounts/", {"name": "Beta's"}).json()["id"]
    with tenant_context(alpha):
        assert (
            not Account.objects.filter(pk=beta_only)
            .exclude(name="Beta's")
            .filter(name="Beta's")
            .exists()
        )
    rep = alpha_rep[1]
    missing = rep.get("/api/v1/accounts/987654321/")
    assert missing.status_code == 404
    for pk in (admins, 987654321):
        for response in (
            rep.get(f"/api/v1/accounts/{pk}/"),
            rep.patch(f"/api/v1/accounts/{pk}/", {"name": "x"}),
            rep.delete(f"/api/v1/accounts/{pk}/"),
        ):
            assert response.status_code == 404
            assert response.content == missing.content
    with tenant_context(alpha):
        assert Account.objects.get(pk=admins).name == "Admin's"


def test_beta_records_are_not_reachable_from_alpha_even_with_the_same_id(
    alpha, beta, alpha_admin, beta_admin
):
    with tenant_context(alpha):
        Account.objects.create(pk=515151, owner=alpha_admin[0], name="Alpha 515151")
    with tenant_context(beta):
        Account.objects.create(pk=515151, owner=beta_admin[0], name="Beta 515151")
    assert alpha_admin[1].get("/api/v1/accounts/515151/").json()["name"] == "Alpha 515151"
    assert beta_admin[1].get("/api/v1/accounts/515151/").json()["name"] == "Beta 515151"
    alpha_admin[1].patch("/api/v1/accounts/515151/", {"name": "Alpha renamed"})
    assert beta_admin[1].get("/api/v1/accounts/515151/").json()["name"] == "Beta 515151"


def test_readable_but_not_editable_records_answer_403_with_a_reason(alpha, alpha_admin):
    account = alpha_admin[1].post("/api/v1/accounts/", {"name": "Look, don't touch"}).json()
    _user, token = make_user(alpha, "viewer@alpha.test", "read_only")
    viewer = Api("alpha.localhost", token)
    assert viewer.get(f"/api/v1/accounts/{account['id']}/").status_code == 200
    refused = viewer.patch(f"/api/v1/accounts/{account['id']}/", {"name": "Touched"})
    assert refused.status_code == 403
    assert "does not allow editing" in refused.json()["detail"]
    assert viewer.post("/api/v1/accounts/", {"name": "New"}).status_code == 403


def test_update_and_delete_through_the_services(alpha, alpha_rep):
    api = alpha_rep[1]
    created = api.post(
        "/api/v1/contacts/", {"first_name": "Na", "last_name": "Li", "do_not_email": True}
    ).json()
    changed = api.patch(f"/api/v1/contacts/{created['id']}/", {"title": "Buyer"})
    assert changed.status_code == 200
    assert changed.json()["title"] == "Buyer"
    assert changed.json()["do_not_email"] is True
    # A sales rep may not delete (the default role says none).
    assert api.delete(f"/api/v1/contacts/{created['id']}/").status_code == 403
    with tenant_context(alpha):
        kinds = list(
            AuditEntry.objects.filter(object_id=created["id"]).values_list("kind", flat=True)
        )
    assert sorted(kinds) == ["create", "update"]


# --- Lists --------------------------------------------------------------------------------


def test_list_shows_only_the_callers_scope_with_filters_search_and_cursor_pages(
    alpha, alpha_admin, alpha_rep
):
    admin_api, rep_api = alpha_admin[1], alpha_rep[1]
    for i in range(5):
        rep_api.post(
            "/api/v1/leads/",
            {
                "last_name": f"Rep lead {i}",
                "status": "new",
                "source": "trade-fair" if i % 2 else "website",
            },
        )
    admin_api.post("/api/v1/leads/", {"last_name": "Admin lead"})

    names = [lead["last_name"] for lead in rep_api.get("/api/v1/leads/").json()["results"]]
    assert sorted(names) == [f"Rep lead {i}" for i in range(5)]
    assert len(admin_api.get("/api/v1/leads/").json()["results"]) == 6

    fair = rep_api.get("/api/v1/leads/", source="trade-fair").json()["results"]
    assert {lead["last_name"] for lead in fair} == {"Rep lead 1", "Rep lead 3"}
    assert [
        x["last_name"] for x in rep_api.get("/api/v1/leads/", search="lead 4").json()["results"]
    ] == ["Rep lead 4"]

    first = rep_api.get("/api/v1/leads/", page_size=2).json()
    assert len(first["results"]) == 2 and first["next"]
    second = rep_api.client.get(first["next"], **rep_api.headers).json()
    assert not {x["id"] for x in first["results"]} & {x["id"] for x in second["results"]}


def test_list_query_count_does_not_grow_with_rows(alpha, alpha_admin):
    user, api = alpha_admin

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/v1/contacts/").status_code == 200
        return len(ctx.captured_queries)

    with tenant_context(alpha):
        account = Account.objects.create(owner=user, name="Parent")
        Contact.objects.create(owner=user, last_name="One", account=account)
    count_queries()  # the first request of a token also records when it was last used
    few = count_queries()
    with tenant_context(alpha):
        for i in range(30):
            Contact.objects.create(owner=user, last_name=f"Many {i}", account=account)
    assert count_queries() == few


# --- Bulk create and throttling --------------------------------------------------------------


def test_bulk_create_is_all_or_nothing_with_errors_per_row(alpha, alpha_rep):
    api = alpha_rep[1]
    bad = api.post(
        "/api/v1/accounts/bulk/",
        [
            {"name": "Good one"},
            {"name": ""},
            {"name": "Also good", "email": "broken"},
        ],
    )
    assert bad.status_code == 400
    rows = bad.json()["rows"]
    assert set(rows) == {"1", "2"}
    assert "name" in rows["1"] and "email" in rows["2"]
    with tenant_context(alpha):
        assert not Account.objects.filter(name="Good one").exists()

    good = api.post("/api/v1/accounts/bulk/", [{"name": "Bulk A"}, {"name": "Bulk B"}])
    assert good.status_code == 201
    assert [a["name"] for a in good.json()] == ["Bulk A", "Bulk B"]


def test_each_token_gets_its_own_request_budget(alpha, alpha_rep, alpha_admin, settings):
    from django.core.cache import cache

    cache.clear()
    settings.GUANXI_API_RATE = "3/min"
    api = alpha_rep[1]
    codes = [api.get("/api/v1/leads/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api.get("/api/v1/leads/")
    assert int(refused["Retry-After"]) > 0
    assert alpha_admin[1].get("/api/v1/leads/").status_code == 200  # another token
    cache.clear()


# --- Documentation ------------------------------------------------------------------------


def test_openapi_schema_and_docs(alpha, alpha_rep):
    schema = alpha_rep[1].get("/api/schema/", format="json")
    assert schema.status_code == 200
    document = schema.json()
    for path in ("/api/v1/accounts/", "/api/v1/contacts/{id}/", "/api/v1/leads/bulk/"):
        assert path in document["paths"]
    account = document["components"]["schemas"]["Account"]
    assert "owner" in account["required"] or account["properties"]["owner"]["readOnly"]
    docs = alpha_rep[1].get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


# --- Lead conversion ---------------------------------------------------------------------


def test_convert_a_lead_through_the_api(alpha, alpha_rep):
    api = alpha_rep[1]
    lead = api.post(
        "/api/v1/leads/", {"first_name": "Hui", "last_name": "Ma", "company": "Ma Foods"}
    ).json()
    converted = api.post(f"/api/v1/leads/{lead['id']}/convert/", {})
    assert converted.status_code == 201
    body = converted.json()
    assert api.get(f"/api/v1/accounts/{body['account']}/").json()["name"] == "Ma Foods"
    assert api.get(f"/api/v1/contacts/{body['contact']}/").json()["account"] == body["account"]
    again = api.post(f"/api/v1/leads/{lead['id']}/convert/", {})
    assert again.status_code == 400
    assert again.json() == {"detail": ["This lead was already converted."]}


def test_convert_asks_for_required_custom_values_the_lead_lacks(alpha, alpha_rep):
    from ..customfields.helpers import make_field

    make_field(alpha, "account", "tier", "choice", required=True, choices=TIER_CHOICES)
    api = alpha_rep[1]
    lead = api.post("/api/v1/leads/", {"last_name": "Ma", "company": "Ma Foods"}).json()
    missing = api.post(f"/api/v1/leads/{lead['id']}/convert/", {})
    assert missing.status_code == 400
    assert missing.json() == {"account.custom_fields.tier": ["This field is required."]}
    bad = api.post(f"/api/v1/leads/{lead['id']}/convert/", {"account_custom_fields": {"tier": "Z"}})
    assert bad.status_code == 400 and list(bad.json()) == ["account.custom_fields.tier"]
    assert api.get("/api/v1/accounts/?search=Ma Foods").json()["results"] == []
    done = api.post(
        f"/api/v1/leads/{lead['id']}/convert/", {"account_custom_fields": {"tier": "a"}}
    )
    assert done.status_code == 201
    account = api.get(f"/api/v1/accounts/{done.json()['account']}/").json()
    assert account["custom_fields"] == {"tier": "a"}


TIER_CHOICES = [
    {"code": "a", "label": "A", "label_zh": "甲"},
    {"code": "b", "label": "B", "label_zh": "乙"},
]


def test_approval_flow_through_the_api(alpha, alpha_admin, alpha_rep):
    from core_crm.workspace.models import workspace_settings

    with tenant_context(alpha):
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
    rep, admin = alpha_rep[1], alpha_admin[1]
    lead = rep.post("/api/v1/leads/", {"last_name": "Approve me", "company": "Q Co"}).json()
    refused = rep.post(f"/api/v1/leads/{lead['id']}/convert/", {})
    assert refused.status_code == 403
    assert "approval" in refused.json()["detail"]
    request = rep.post(
        f"/api/v1/leads/{lead['id']}/conversion-request/", {"comment": "Signed LOI"}
    ).json()
    assert request["decision"] == "pending"
    assert (
        rep.post(
            f"/api/v1/conversion-requests/{request['id']}/decide/", {"approve": True}
        ).status_code
        == 403
    )
    decided = admin.post(
        f"/api/v1/conversion-requests/{request['id']}/decide/", {"approve": True, "comment": "OK"}
    )
    assert decided.status_code == 200
    assert decided.json()["converted"] is True
    assert rep.get(f"/api/v1/leads/{lead['id']}/").json()["status"] == "converted"


def test_api_and_pages_share_the_retired_value_rule(alpha, alpha_admin):
    from core_crm.customers.models import PicklistValue

    api = alpha_admin[1]
    lead = api.post("/api/v1/leads/", {"last_name": "Keeps", "source": "cold-call"}).json()
    with tenant_context(alpha):
        PicklistValue.objects.filter(picklist="source", code="cold-call").update(is_active=False)
    # Sending the record back unchanged (as a full update does) keeps the retired value.
    kept = api.patch(f"/api/v1/leads/{lead['id']}/", {"source": "cold-call", "score": 5})
    assert kept.status_code == 200 and kept.json()["source"] == "cold-call"
    refused = api.post("/api/v1/leads/", {"last_name": "New", "source": "cold-call"})
    assert refused.status_code == 400
    assert "is retired" in refused.json()["source"][0]
