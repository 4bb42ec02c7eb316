"""API list filters on custom fields: cf_<key>, cf_<key>__gte, cf_<key>__lte."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.api.services import token_create
from core_crm.customers import services
from core_crm.customers.models import Account, Lead
from core_crm.users.models import User

from ..conftest import ALPHA, BETA
from ..customfields.helpers import admin_of, make_all_types


class Api:
    def __init__(self, host: str, token: str) -> None:
        self.client = Client(HTTP_HOST=host)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path, **params):
        return self.client.get(path, params, **self.headers)

    def post(self, path, data):
        return self.client.post(
            path, json.dumps(data), content_type="application/json", **self.headers
        )


def _api(tenant, email: str, host: str) -> Api:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        user = User.objects.get(email=email)
        _row, token = token_create(user=user, name="tests")
    return Api(host, token)


@pytest.fixture
def accounts(alpha):
    make_all_types(alpha, "account")
    admin = admin_of(alpha)
    rows = {
        "Alpha Steel": {
            "nickname": "Big Steel",
            "staff": 900,
            "credit": "12.50",
            "renewal": "2025-12-31",
            "vip": True,
            "region": "north",
            "channels": ["web", "fair"],
        },
        "Beta Foods": {
            "nickname": "foodies",
            "staff": 40,
            "credit": "9.99",
            "renewal": "2026-02-01",
            "vip": False,
            "region": "south",
            "channels": ["phone"],
        },
        "Gamma Empty": {},
    }
    with tenant_context(alpha):
        for name, values in rows.items():
            services.record_create(
                Account, actor=admin, channel="web", data={"name": name, "custom_fields": values}
            )
    return rows


def names(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return {row["name"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"cf_region": "north"}, {"Alpha Steel"}),
        ({"cf_region": "South"}, {"Beta Foods"}),  # a label works too
        ({"cf_nickname": "STEEL"}, {"Alpha Steel"}),  # text: contains, any case
        ({"cf_staff": "40"}, {"Beta Foods"}),
        ({"cf_staff__gte": "100"}, {"Alpha Steel"}),
        ({"cf_staff__lte": "900", "cf_staff__gte": "40"}, {"Alpha Steel", "Beta Foods"}),
        ({"cf_credit__gte": "10"}, {"Alpha Steel"}),  # numerically, though stored as text
        ({"cf_credit": "12.5"}, {"Alpha Steel"}),
        ({"cf_renewal__gte": "2026-01-01"}, {"Beta Foods"}),
        ({"cf_renewal__lte": "2025-12-31"}, {"Alpha Steel"}),
        ({"cf_renewal": "2026-02-01"}, {"Beta Foods"}),
        ({"cf_vip": "true"}, {"Alpha Steel"}),
        ({"cf_vip": "false"}, {"Beta Foods"}),
        ({"cf_channels": "fair"}, {"Alpha Steel"}),
        ({"cf_channels": "phone", "cf_region": "north"}, set()),
        ({"cf_region": ""}, {"Alpha Steel", "Beta Foods", "Gamma Empty"}),  # empty: no filter
    ],
)
def test_custom_field_filters(alpha, accounts, params, expected):
    api = _api(alpha, ALPHA.admin_email, "alpha.localhost")
    assert names(api.get("/api/v1/accounts/", **params)) == expected


@pytest.mark.parametrize(
    "params,param",
    [
        ({"cf_colour": "red"}, "cf_colour"),
        ({"cf_staff__gte": "many"}, "cf_staff__gte"),
        ({"cf_renewal__lte": "31/12/2025"}, "cf_renewal__lte"),
        ({"cf_region": "west"}, "cf_region"),
        ({"cf_nickname__gte": "a"}, "cf_nickname__gte"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(alpha, accounts, params, param):
    api = _api(alpha, ALPHA.admin_email, "alpha.localhost")
    response = api.get("/api/v1/accounts/", **params)
    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_filters_stay_within_record_security_and_the_tenant(alpha, beta, accounts):
    make_all_types(beta, "account")
    with tenant_context(beta):
        services.record_create(
            Account,
            actor=admin_of(beta),
            channel="web",
            data={"name": "Beta tenant north", "custom_fields": {"region": "north"}},
        )
    rep_api = _api(alpha, ALPHA.rep_email, "alpha.localhost")
    assert names(rep_api.get("/api/v1/accounts/", cf_region="north")) == set()
    beta_api = _api(beta, BETA.admin_email, "beta.localhost")
    assert names(beta_api.get("/api/v1/accounts/", cf_region="north")) == {"Beta tenant north"}


def test_other_objects_fields_are_unknown(alpha, accounts):
    api = _api(alpha, ALPHA.admin_email, "alpha.localhost")
    response = api.get("/api/v1/leads/", cf_region="north")
    assert response.status_code == 400 and list(response.json()) == ["cf_region"]


def test_api_list_query_count_with_custom_fields_does_not_grow_with_rows(
    alpha, accounts, django_assert_max_num_queries
):
    api = _api(alpha, ALPHA.admin_email, "alpha.localhost")
    admin = admin_of(alpha)
    params = {"cf_staff__gte": "0", "cf_region": "north"}
    api.get("/api/v1/leads/")
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/accounts/", **params).status_code == 200
    with tenant_context(alpha):
        for i in range(30):
            services.record_create(
                Account,
                actor=admin,
                channel="web",
                data={"name": f"North {i}", "custom_fields": {"staff": i, "region": "north"}},
            )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get("/api/v1/accounts/", **params)
    assert len(response.json()["results"]) == 31


def test_lead_filters_work_the_same(alpha):
    make_all_types(alpha, "lead")
    with tenant_context(alpha):
        services.record_create(
            Lead,
            actor=admin_of(alpha),
            channel="web",
            data={"last_name": "Zhou", "custom_fields": {"renewal": "2025-05-05"}},
        )
    api = _api(alpha, ALPHA.admin_email, "alpha.localhost")
    response = api.get("/api/v1/leads/", cf_renewal__gte="2025-01-01")
    assert [row["last_name"] for row in response.json()["results"]] == ["Zhou"]
