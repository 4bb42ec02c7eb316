"""Custom values on every write path: the services (so imports too), the pages and the API."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.api.services import token_create
from core_crm.audit.selectors import history_of
from core_crm.customers import services
from core_crm.customers.models import Account, Contact, Lead
from core_crm.customfields.services import field_set_active

from .helpers import admin_of, make_all_types, make_field

# key -> [(given, stored)], [bad values]
GOOD: dict[str, list[tuple[object, object]]] = {
    "nickname": [("  Old Li  ", "Old Li"), ("老李", "老李")],
    "background": [("line one\nline two", "line one\nline two")],
    "staff": [(42, 42), ("1,200", 1200), ("7", 7), (3.0, 3), (decimal.Decimal("-5"), -5)],
    "credit": [("12.50", "12.50"), (3.25, "3.25"), (7, "7"), (decimal.Decimal("0.001"), "0.001")],
    "renewal": [("2025-03-31", "2025-03-31"), (dt.date(2026, 1, 2), "2026-01-02")],
    "vip": [(True, True), (False, False), ("yes", True), ("否", False)],
    "region": [("north", "north"), ("South", "south"), ("北方", "north")],
    "channels": [(["phone", "web"], ["web", "phone"]), ("fair, web", ["web", "fair"])],
    "portal": [("example.com/login", "https://example.com/login"), ("http://a.cn", "http://a.cn")],
    "billing_email": [("billing@example.com", "billing@example.com")],
}
BAD: dict[str, list[object]] = {
    "nickname": ["x" * 256, 12],
    "background": ["y" * 10_001],
    "staff": ["4.5", "abc", True, 10**16, [1]],
    "credit": ["abc", "NaN", "1" * 21, True],
    "renewal": ["31/03/2025", "2025-02-30", "2025-03-31T10:00:00"],
    "vip": ["maybe", 2],
    "region": ["west", ["north"]],
    "channels": [["web", "mail"], 5],
    "portal": ["not a url", "ftp://example.com/x"],
    "billing_email": ["nope", "a@b"],
}


@pytest.fixture
def fields(alpha):
    return make_all_types(alpha, "account")


@pytest.fixture
def admin(alpha):
    return admin_of(alpha)


@pytest.mark.parametrize("key", sorted(GOOD))
def test_good_values_are_stored_in_canonical_form(alpha, fields, admin, key):
    with tenant_context(alpha):
        for given, stored in GOOD[key]:
            account = services.record_create(
                Account,
                actor=admin,
                channel="web",
                data={"name": "A", "custom_fields": {key: given}},
            )
            account.refresh_from_db()
            assert account.custom_fields == {key: stored}, given


@pytest.mark.parametrize("key", sorted(BAD))
def test_bad_values_are_refused_naming_the_field_and_nothing_is_saved(alpha, fields, admin, key):
    with tenant_context(alpha):
        before = Account.objects.count()
        for value in BAD[key]:
            with pytest.raises(ValidationError) as exc:
                services.record_create(
                    Account,
                    actor=admin,
                    channel="import",
                    data={"name": "A", "custom_fields": {key: value}},
                )
            assert list(exc.value.message_dict) == [f"custom_fields.{key}"], value
        assert Account.objects.count() == before


def test_unknown_keys_required_fields_and_non_objects_are_refused(alpha, admin):
    make_field(alpha, "lead", "budget", "number", required=True)
    make_field(alpha, "account", "other_object", "text")  # not a lead field
    with tenant_context(alpha):
        with pytest.raises(ValidationError) as exc:
            services.record_create(
                Lead,
                actor=admin,
                channel="api",
                data={"last_name": "Wu", "custom_fields": {"other_object": "x"}},
            )
        assert exc.value.message_dict == {
            "custom_fields.other_object": ["There is no such field."],
            "custom_fields.budget": ["This field is required."],
        }
        with pytest.raises(ValidationError) as exc:
            services.record_create(
                Lead, actor=admin, channel="api", data={"last_name": "Wu", "custom_fields": [1]}
            )
        assert list(exc.value.message_dict) == ["custom_fields"]
        lead = services.record_create(
            Lead,
            actor=admin,
            channel="api",
            data={"last_name": "Wu", "custom_fields": {"budget": 9}},
        )
        # Clearing a required value is refused as well.
        with pytest.raises(ValidationError) as exc:
            services.record_update(
                lead, actor=admin, channel="api", data={"custom_fields": {"budget": None}}
            )
        assert list(exc.value.message_dict) == ["custom_fields.budget"]
        assert Lead.objects.filter(last_name="Wu").count() == 1


def test_updates_merge_given_keys_audit_each_and_null_clears(alpha, fields, admin):
    with tenant_context(alpha):
        account = services.record_create(
            Account,
            actor=admin,
            channel="web",
            data={"name": "A", "custom_fields": {"staff": 5, "region": "north"}},
        )
        created = history_of(account).get()
        assert created.changes["custom_fields.staff"] == [None, 5]
        services.record_update(
            account,
            actor=admin,
            channel="api",
            data={"custom_fields": {"staff": "6", "region": None, "vip": True}},
        )
        account.refresh_from_db()
        assert account.custom_fields == {"staff": 6, "vip": True}
        entry = history_of(account).first()
        assert entry.changes == {
            "custom_fields.staff": [5, 6],
            "custom_fields.region": ["north", None],
            "custom_fields.vip": [None, True],
        }


def test_archived_fields_keep_their_value_and_cannot_be_changed(alpha, fields, admin):
    with tenant_context(alpha):
        account = services.record_create(
            Account,
            actor=admin,
            channel="web",
            data={"name": "A", "custom_fields": {"nickname": "Old"}},
        )
        field_set_active(actor=admin, field=fields["nickname"], active=False)
        services.record_update(account, actor=admin, channel="web", data={"name": "B"})
        account.refresh_from_db()
        assert account.custom_fields == {"nickname": "Old"}
        # Sending it back unchanged is fine (a GET-then-PUT client); changing it is not.
        services.record_update(
            account, actor=admin, channel="api", data={"custom_fields": {"nickname": "Old"}}
        )
        with pytest.raises(ValidationError) as exc:
            services.record_update(
                account, actor=admin, channel="api", data={"custom_fields": {"nickname": "New"}}
            )
        assert list(exc.value.message_dict) == ["custom_fields.nickname"]


# --- Pages ---------------------------------------------------------------------------------


def test_the_form_has_one_field_per_active_custom_field_with_the_right_widget(
    alpha, fields, admin, rep_client
):
    with tenant_context(alpha):
        field_set_active(actor=admin, field=fields["background"], active=False)
    page = rep_client.get("/customers/new/").content.decode()
    custom = page.split('data-testid="custom-fields"')[1]
    assert 'name="cf_nickname"' in custom and 'type="text"' in custom
    assert 'name="cf_background"' not in custom  # archived
    assert 'type="number" name="cf_staff"' in custom
    assert 'name="cf_credit"' in custom and 'step="any"' in custom
    assert 'type="date" name="cf_renewal"' in custom
    assert '<select name="cf_vip"' in custom and '<select name="cf_region"' in custom
    assert 'type="checkbox" name="cf_channels" value="fair"' in custom
    assert 'type="url" name="cf_portal"' in custom
    assert 'type="email" name="cf_billing_email"' in custom
    assert (
        not rep_client.get("/contacts/new/").content.decode().count('data-testid="custom-fields"')
    )


def test_form_errors_name_the_custom_field_and_nothing_is_saved(alpha, fields, rep_client):
    response = rep_client.post(
        "/customers/new/",
        {
            "name": "Bad values",
            "kind": "prospect",
            "cf_staff": "4.5",
            "cf_renewal": "someday",
            "cf_region": "west",
            "cf_channels": ["mail"],
            "cf_portal": "not a url",
            "cf_billing_email": "nope",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    for key in ("staff", "renewal", "region", "channels", "portal", "billing_email"):
        assert f'id="cf_{key}-error"' in page, key
    with tenant_context(alpha):
        assert not Account.objects.filter(name="Bad values").exists()


def test_service_errors_land_on_the_form_field(alpha, rep_client):
    field = make_field(alpha, "account", "tier", "text")
    page_before = rep_client.get("/customers/new/").content.decode()
    assert 'name="cf_tier"' in page_before
    with tenant_context(alpha):
        field.required = True  # made required after the form was shown
        field.save()
    response = rep_client.post("/customers/new/", {"name": "Late rule", "kind": "prospect"})
    assert response.status_code == 400
    assert 'id="cf_tier-error"' in response.content.decode()


def test_saved_values_show_on_the_detail_page_in_the_readers_language(
    alpha, fields, rep, rep_client
):
    with tenant_context(alpha):
        fields["region"].label_zh = "区域"
        fields["region"].save()
    response = rep_client.post(
        "/customers/new/",
        {
            "name": "Pearl River Foods",
            "kind": "prospect",
            "cf_staff": "120",
            "cf_credit": "1500.50",
            "cf_renewal": "2026-06-30",
            "cf_vip": "true",
            "cf_region": "south",
            "cf_channels": ["fair", "web"],
            "cf_portal": "portal.example.cn",
            "cf_nickname": "珠江",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(alpha):
        account = Account.objects.get(name="Pearl River Foods")
        assert account.custom_fields == {
            "nickname": "珠江",
            "staff": 120,
            "credit": "1500.50",
            "renewal": "2026-06-30",
            "vip": True,
            "region": "south",
            "channels": ["web", "fair"],
            "portal": "https://portal.example.cn",
        }
    detail = rep_client.get(response["Location"]).content.decode()
    values = detail.split('data-testid="custom-values"')[1].split("</dl>")[0]
    assert "South" in values and "Web, Trade fair" in values and "Yes" in values
    assert 'href="https://portal.example.cn"' in values
    rep_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    detail = rep_client.get(response["Location"]).content.decode()
    values = detail.split('data-testid="custom-values"')[1].split("</dl>")[0]
    assert "区域" in values and "南方" in values and "网站、展会" in values
    # Editing keeps values the form shows and clears those emptied.
    form = rep_client.get(f"/customers/{account.pk}/edit/").content.decode()
    assert 'value="120"' in form and 'value="2026-06-30"' in form
    edited = rep_client.post(
        f"/customers/{account.pk}/edit/",
        {"name": "Pearl River Foods", "kind": "prospect", "cf_staff": "121", "cf_region": "south"},
    )
    assert edited.status_code == 302
    with tenant_context(alpha):
        account.refresh_from_db()
        assert account.custom_fields == {"staff": 121, "region": "south"}


# --- API -----------------------------------------------------------------------------------


class Api:
    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_HOST="alpha.localhost")
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path, **params):
        return self.client.get(path, params, **self.headers)

    def send(self, method: str, path: str, data):
        return getattr(self.client, method)(
            path, json.dumps(data), content_type="application/json", **self.headers
        )


@pytest.fixture
def api(alpha, admin):
    with tenant_context(alpha):
        _row, token = token_create(user=admin, name="tests")
    return Api(token)


def _json_value(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


@pytest.mark.parametrize("key", sorted(BAD))
def test_api_answers_400_naming_custom_fields_key_and_saves_nothing(alpha, fields, api, key):
    with tenant_context(alpha):
        before = Contact.objects.count() + Account.objects.count()
    for value in BAD[key]:
        response = api.send(
            "post", "/api/v1/accounts/", {"name": "Bad", "custom_fields": {key: _json_value(value)}}
        )
        assert response.status_code == 400, value
        assert list(response.json()) == [f"custom_fields.{key}"], response.json()
    with tenant_context(alpha):
        assert Contact.objects.count() + Account.objects.count() == before


def test_api_stores_reads_patches_and_clears_custom_values(alpha, fields, api):
    created = api.send(
        "post",
        "/api/v1/accounts/",
        {
            "name": "Huaxia Steel",
            "custom_fields": {"staff": "300", "credit": 99.5, "channels": ["phone", "web"]},
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["custom_fields"] == {"staff": 300, "credit": "99.5", "channels": ["web", "phone"]}
    url = f"/api/v1/accounts/{body['id']}/"
    patched = api.send("patch", url, {"custom_fields": {"staff": None, "vip": False}})
    assert patched.status_code == 200
    assert patched.json()["custom_fields"] == {
        "credit": "99.5",
        "vip": False,
        "channels": ["web", "phone"],
    }
    assert api.get(url).json()["custom_fields"] == patched.json()["custom_fields"]
    not_object = api.send("patch", url, {"custom_fields": ["staff"]})
    assert not_object.status_code == 400 and "custom_fields" in not_object.json()
    unknown = api.send("patch", url, {"custom_fields": {"colour": "red"}})
    assert unknown.json() == {"custom_fields.colour": ["There is no such field."]}


def test_api_bulk_create_names_the_row_and_the_custom_field(alpha, fields, api):
    response = api.send(
        "post",
        "/api/v1/accounts/bulk/",
        [
            {"name": "One", "custom_fields": {"staff": 1}},
            {"name": "Two", "custom_fields": {"staff": "many"}},
        ],
    )
    assert response.status_code == 400
    assert response.json() == {"rows": {"1": {"custom_fields.staff": ["Enter a whole number."]}}}
    with tenant_context(alpha):
        assert not Account.objects.filter(name__in=["One", "Two"]).exists()
