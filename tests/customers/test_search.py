"""Global search: partial words, Chinese, phone digits, grouped, within the user's scope."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.api.services import token_create
from core_crm.customers.models import Account, Contact, Lead
from core_crm.customers.search import global_search
from core_crm.users.models import User

from ..conftest import ALPHA, BETA, sign_in


@pytest.fixture
def data(alpha, beta):
    with tenant_context(alpha):
        rep = User.objects.get(email=ALPHA.rep_email)
        rep.role = Role.objects.get(key="sales_rep")
        rep.save()
        admin = User.objects.get(email=ALPHA.admin_email)
        valves = Account.objects.create(
            owner=rep, name="Ningbo Valves Co.", city="Ningbo", phone="+86 574 8888 1234"
        )
        foods = Account.objects.create(owner=rep, name="北京食品有限公司", city="北京")
        secret = Account.objects.create(owner=admin, name="Ningbo Secret Valves")
        contact = Contact.objects.create(
            owner=rep,
            first_name="Mei",
            last_name="Lin",
            email="mei.lin@valves.example",
            account=valves,
            mobile="+86 139 1234 5678",
        )
        lead = Lead.objects.create(owner=rep, last_name="Valverde", company="Valve Traders")
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        Account.objects.create(owner=beta_admin, name="Ningbo Valves Beta Branch")
    return {
        "rep": rep,
        "admin": admin,
        "valves": valves,
        "foods": foods,
        "secret": secret,
        "contact": contact,
        "lead": lead,
    }


def names(groups, object_type):
    return [str(r) for g in groups if g.object_type == object_type for r in g.results]


def test_partial_words_group_by_type_and_stay_in_scope(alpha, data):
    with tenant_context(alpha):
        groups = global_search(data["rep"], "valv")
    assert names(groups, "account") == ["Ningbo Valves Co."]  # not the admin's, not beta's
    assert names(groups, "contact") == ["Mei Lin"]  # by email
    assert names(groups, "lead") == ["Valverde (Valve Traders)"]
    with tenant_context(alpha):
        admin_groups = global_search(data["admin"], "valv")
    assert set(names(admin_groups, "account")) == {"Ningbo Valves Co.", "Ningbo Secret Valves"}


def test_chinese_substrings_phone_digits_and_emails(alpha, data):
    with tenant_context(alpha):
        assert names(global_search(data["rep"], "食品"), "account") == ["北京食品有限公司"]
        assert names(global_search(data["rep"], "13912345678"), "contact") == ["Mei Lin"]
        assert names(global_search(data["rep"], "574 8888"), "account") == ["Ningbo Valves Co."]
        assert names(global_search(data["rep"], "MEI.LIN@"), "contact") == ["Mei Lin"]


def test_whole_word_matches_rank_first(alpha, data):
    with tenant_context(alpha):
        Account.objects.create(owner=data["rep"], name="Ningboxyz Trading")
        Account.objects.create(owner=data["rep"], name="Trading in Ningbo")
        ranked = names(global_search(data["rep"], "ningbo"), "account")
    assert ranked.index("Trading in Ningbo") < ranked.index("Ningboxyz Trading")


def test_short_terms_find_nothing(alpha, data):
    with tenant_context(alpha):
        assert global_search(data["rep"], "n") == []


def test_search_box_answers_as_you_type_and_the_page_lists_more(alpha, data):
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.rep_email)
    partial = client.get("/search/", {"q": "valv"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div class="divide-y')  # a fragment, not a page
    assert "Ningbo Valves Co." in partial and "Secret" not in partial
    assert f'href="/contacts/{data["contact"].pk}/"' in partial
    page = client.get("/search/", {"q": "zzzz-nothing"}).content.decode()
    assert "<html" in page and "Nothing found for" in page


def test_search_query_count_is_constant(alpha, data):
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.rep_email)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get("/search/", {"q": "valv"}, HTTP_HX_REQUEST="true")
        return len(ctx.captured_queries)

    count()
    before = count()
    with tenant_context(alpha):
        for i in range(10):
            Contact.objects.create(
                owner=data["rep"], last_name=f"Valvetest {i}", account=data["valves"]
            )
    assert count() == before


def test_search_api(alpha, data):
    with tenant_context(alpha):
        _row, token = token_create(user=data["rep"], name="t")
    client = Client(HTTP_HOST="alpha.localhost")
    body = client.get("/api/v1/search/", {"q": "valv"}, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [a["name"] for a in body["account"]] == ["Ningbo Valves Co."]
    assert [c["last_name"] for c in body["contact"]] == ["Lin"]
    bad = client.get(
        "/api/v1/search/", {"q": "valv", "limit": "x"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert bad.status_code == 400 and "limit" in bad.json()
