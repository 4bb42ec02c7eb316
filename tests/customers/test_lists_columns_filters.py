"""List pages: filters on custom fields, sorting, the column chooser, buttons by role, and a
query count that does not grow with rows."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.customers import services
from core_crm.customers.models import Account, Lead, PicklistValue, Tag
from core_crm.customfields.services import field_set_active
from core_crm.savedviews.models import ListColumns

from ..conftest import ALPHA, BETA
from ..customfields.helpers import (
    admin_of,
    client_for,
    headers,
    make_all_types,
    row_names,
    table,
    user_with_role,
)


@pytest.fixture
def rep(alpha):
    return user_with_role(alpha, ALPHA.rep_email, "sales_rep")


@pytest.fixture
def rep_client(alpha, rep):
    return client_for(alpha, ALPHA.rep_email)


@pytest.fixture
def accounts(alpha, rep):
    fields = make_all_types(alpha, "account")
    rows = [
        (
            "Changjiang Steel",
            {
                "nickname": "Big River",
                "staff": 900,
                "credit": "12.50",
                "renewal": "2025-12-31",
                "vip": True,
                "region": "north",
                "channels": ["web", "fair"],
            },
        ),
        (
            "Dongfang Foods",
            {
                "nickname": "eastern",
                "staff": 40,
                "credit": "9.99",
                "renewal": "2026-02-01",
                "vip": False,
                "region": "south",
                "channels": ["phone"],
            },
        ),
        ("Empty Co", {}),
    ]
    with tenant_context(alpha):
        for name, values in rows:
            services.record_create(
                Account, actor=rep, channel="web", data={"name": name, "custom_fields": values}
            )
    return fields


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"cf_region": "north"}, ["Changjiang Steel"]),
        ({"cf_vip": "false"}, ["Dongfang Foods"]),
        ({"cf_nickname": "RIVER"}, ["Changjiang Steel"]),
        ({"cf_staff__gte": "100"}, ["Changjiang Steel"]),
        ({"cf_staff__gte": "10", "cf_staff__lte": "100"}, ["Dongfang Foods"]),
        ({"cf_credit__lte": "10"}, ["Dongfang Foods"]),
        ({"cf_renewal__gte": "2026-01-01"}, ["Dongfang Foods"]),
        ({"cf_channels": "fair"}, ["Changjiang Steel"]),
        ({"cf_region": "north", "q": "Dongfang"}, []),
    ],
)
def test_lists_filter_by_custom_fields(alpha, accounts, rep_client, params, expected):
    page = rep_client.get("/customers/", params).content.decode()
    if expected:
        assert row_names(page) == expected
    else:
        assert "Nothing matches these filters." in page


def test_custom_filters_get_the_right_inputs_and_bad_ones_are_reported(alpha, accounts, rep_client):
    page = rep_client.get("/customers/").content.decode()
    filters = page.split('data-testid="custom-filters"')[1].split("</details>")[0]
    assert '<select id="f-cf_region" name="cf_region">' in filters
    assert '<option value="north"' in filters
    assert '<select id="f-cf_vip" name="cf_vip">' in filters
    assert 'type="text" name="cf_nickname"' in filters
    assert 'type="number" step="1" name="cf_staff__gte"' in filters
    assert re.search(r'type="date"\s+name="cf_renewal__lte"', filters)
    bad = rep_client.get("/customers/", {"cf_staff__gte": "lots", "cf_region": "north"})
    assert bad.status_code == 200
    body = bad.content.decode()
    assert 'data-testid="filter-errors"' in body and "cf_staff__gte" in body
    assert row_names(body) == ["Changjiang Steel"]  # the good filter still applies


def test_standard_picklist_and_owner_filters(alpha, rep, rep_client):
    admin = admin_of(alpha)
    with tenant_context(alpha):
        logistics = PicklistValue.objects.get(picklist="industry", code="logistics")
        services.record_create(
            Account, actor=rep, channel="web", data={"name": "Haulage", "industry": logistics}
        )
        services.record_create(Account, actor=rep, channel="web", data={"name": "Bakery"})
        services.record_create(Account, actor=admin, channel="web", data={"name": "Not mine"})
    page = rep_client.get("/customers/", {"industry": logistics.pk}).content.decode()
    assert row_names(page) == ["Haulage"]
    admin_client = client_for(alpha, ALPHA.admin_email)
    owned = admin_client.get("/customers/", {"owner": rep.pk}).content.decode()
    assert row_names(owned) == ["Bakery", "Haulage"]
    assert admin_client.get("/customers/", {"owner": "x"}).status_code == 200  # ignored


def test_sort_by_custom_and_related_columns(alpha, accounts, rep_client):
    ascending = rep_client.get("/customers/", {"sort": "cf_staff"}).content.decode()
    assert row_names(ascending) == ["Dongfang Foods", "Changjiang Steel", "Empty Co"]
    descending = rep_client.get("/customers/", {"sort": "-cf_credit"}).content.decode()
    assert row_names(descending) == ["Changjiang Steel", "Dongfang Foods", "Empty Co"]
    by_date = rep_client.get("/customers/", {"sort": "-cf_renewal"}).content.decode()
    assert row_names(by_date)[:2] == ["Dongfang Foods", "Changjiang Steel"]
    by_owner = rep_client.get("/customers/", {"sort": "owner"})
    assert by_owner.status_code == 200
    ignored = rep_client.get("/customers/", {"sort": "notes; drop table"})
    assert ignored.status_code == 200


def test_column_chooser_is_remembered_per_user_and_object(alpha, accounts, rep, rep_client):
    default = rep_client.get("/customers/").content.decode()
    assert headers(default) == ["kind", "industry", "city", "value_class", "owner"]
    chooser = default.split('data-testid="column-chooser"')[1].split("</details>")[0]
    assert 'value="cf_region"' in chooser and 'value="tags"' in chooser
    response = rep_client.post(
        "/customers/columns/",
        {"cols": ["cf_region", "email", "cf_staff", "tags", "bogus"], "query": "q=a&page=2"},
    )
    assert response.status_code == 302 and response["Location"] == "/customers/?q=a"
    with tenant_context(alpha):
        saved = ListColumns.objects.get(user=rep, object_type="account").columns
        assert saved == ["cf_region", "email", "cf_staff", "tags"]
    # The preference survives a new session.
    again = client_for(alpha, ALPHA.rep_email).get("/customers/").content.decode()
    assert headers(again) == ["cf_region", "email", "cf_staff", "tags"]
    assert "North" in table(again) and "900" in table(again)
    # Other people and other objects keep their defaults.
    admin_page = client_for(alpha, ALPHA.admin_email).get("/customers/").content.decode()
    assert headers(admin_page) == ["kind", "industry", "city", "value_class", "owner"]
    with tenant_context(alpha):
        assert not ListColumns.objects.filter(object_type="lead").exists()
    # An archived field's column disappears; a reset goes back to the default.
    with tenant_context(alpha):
        field_set_active(actor=admin_of(alpha), field=accounts["region"], active=False)
    assert "cf_region" not in headers(rep_client.get("/customers/").content.decode())
    rep_client.post("/customers/columns/", {"reset": "1"})
    reset = rep_client.get("/customers/").content.decode()
    assert headers(reset) == ["kind", "industry", "city", "value_class", "owner"]


def test_columns_in_the_query_string_win_over_the_remembered_ones(alpha, accounts, rep_client):
    rep_client.post("/customers/columns/", {"cols": ["email"]})
    page = rep_client.get("/customers/", {"cols": "cf_vip,city"}).content.decode()
    assert headers(page) == ["cf_vip", "city"]
    # The filter form keeps them.
    assert 'name="cols" value="cf_vip,city"' in page


def test_column_preferences_stay_in_their_workspace(alpha, beta, accounts, rep, rep_client):
    rep_client.post("/customers/columns/", {"cols": ["email"]})
    user_with_role(beta, BETA.rep_email, "sales_rep")
    with tenant_context(beta):
        assert not ListColumns.objects.exists()
    page = client_for(beta, BETA.rep_email).get("/customers/").content.decode()
    assert 'data-testid="record-table"' not in page  # no records, default state
    assert "email" not in re.findall(r'name="cols" value="([^"]+)" checked', page)


def test_buttons_follow_the_role(alpha, accounts, rep_client):
    rep_page = rep_client.get("/customers/").content.decode()
    # A sales rep may create (so import) but not export or delete.
    assert 'href="/imports/new/?object=account"' in rep_page
    assert 'data-testid="export-button"' not in rep_page
    assert 'value="delete"' not in rep_page and 'value="assign"' in rep_page
    user_with_role(alpha, "viewer@lists.test", "read_only")
    viewer = client_for(alpha, "viewer@lists.test").get("/customers/").content.decode()
    assert "/imports/new/" not in viewer and 'data-testid="bulk-actions"' not in viewer
    assert 'name="ids"' not in viewer
    user_with_role(alpha, "marketer@lists.test", "marketing")
    marketer = client_for(alpha, "marketer@lists.test").get("/leads/").content.decode()
    assert 'href="/imports/new/?object=lead"' in marketer
    assert 'data-testid="export-button"' in marketer


def test_list_page_query_count_with_custom_columns_does_not_grow_with_rows(
    alpha, accounts, rep, rep_client
):
    cols = "cf_region,cf_staff,cf_channels,industry,owner,tags,parent"
    params = {"cols": cols, "cf_staff__gte": "0", "sort": "-cf_staff"}

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get("/customers/", params).status_code == 200
        return len(ctx.captured_queries)

    queries()
    few = queries()
    with tenant_context(alpha):
        tag = Tag.objects.create(name="fair-2025")
        industry = PicklistValue.objects.get(picklist="industry", code="logistics")
        parent = Account.objects.create(owner=rep, name="Group")
        for i in range(24):
            account = Account.objects.create(
                owner=rep,
                name=f"Branch {i}",
                industry=industry,
                parent=parent,
                custom_fields={"region": "north", "staff": i, "channels": ["web"]},
            )
            account.tags.add(tag)
    page = rep_client.get("/customers/", params).content.decode()
    assert len(row_names(page)) == 25
    assert queries() == few


def test_lead_list_shows_person_names_and_company_column(alpha, rep, rep_client):
    with tenant_context(alpha):
        services.record_create(
            Lead,
            actor=rep,
            channel="web",
            data={"first_name": "娜", "last_name": "李", "company": "长城贸易"},
        )
    page = rep_client.get("/leads/").content.decode()
    assert row_names(page) == ["李娜"]
    assert "长城贸易" in table(page)


def test_list_bulk_and_field_pages_speak_chinese(alpha, accounts):
    client = client_for(alpha, ALPHA.admin_email)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get("/customers/", {"cols": "cf_region"}).content.decode()
    for text in ("导出 CSV", "视图", "保存视图", "更多筛选", "分配负责人", "添加标签", "北方"):
        assert text in page, text
    with tenant_context(alpha):
        ids = list(Account.objects.values_list("pk", flat=True)[:2])
    bulk = client.post("/customers/bulk/", {"action": "delete", "ids": ids}).content.decode()
    assert "将删除 2 条记录。" in bulk
    fields = client.get("/settings/fields/").content.decode()
    assert "新建字段" in fields and "整数" in fields and "多选" in fields
    form = client.get("/customers/new/").content.decode()
    assert "更多字段" in form
