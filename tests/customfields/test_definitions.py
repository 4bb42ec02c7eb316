"""Settings → Custom fields: workspace admins define, edit, reorder and archive fields."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.audit.selectors import history_of
from core_crm.customers import services as record_services
from core_crm.customers.models import Account
from core_crm.customfields import services
from core_crm.customfields.models import CustomField
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in
from .helpers import CHOICES, admin_of, make_field


@pytest.fixture
def rep_client(alpha):
    with tenant_context(alpha):
        rep = User.objects.get(email=ALPHA.rep_email)
        rep.role = Role.objects.get(key="sales_rep")
        rep.save()
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.rep_email)
    return client


def test_admin_creates_a_choice_field_from_the_settings_page(alpha, admin_client):
    empty = admin_client.get("/settings/fields/?object=contact")
    assert empty.status_code == 200 and 'data-testid="empty-state"' in empty.content.decode()
    response = admin_client.post(
        "/settings/fields/new/?object=contact",
        {
            "label": "Region",
            "label_zh": "区域",
            "key": "region",
            "field_type": "choice",
            "required": "on",
            "choices": "north | North | 北方\nsouth | South\n\n",
            "help_text": "Where the contact works",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/fields/?object=contact"
    with tenant_context(alpha):
        field = CustomField.objects.get(object_type="contact", key="region")
        assert field.label_zh == "区域" and field.required and field.is_active
        assert field.choices == [
            {"code": "north", "label": "North", "label_zh": "北方"},
            {"code": "south", "label": "South", "label_zh": ""},
        ]
        entry = history_of(field).get()
        assert entry.kind == AuditEntry.Kind.CREATE and entry.changes["key"] == [None, "region"]
    page = admin_client.get("/settings/fields/?object=contact").content.decode()
    assert 'data-key="region"' in page
    # Other objects' lists do not show it.
    assert 'data-key="region"' not in admin_client.get("/settings/fields/").content.decode()


def test_bad_definitions_are_refused_naming_the_field(alpha, admin_client):
    make_field(alpha, "account", "region", "text")
    cases = [
        ({"key": "Region!", "field_type": "text"}, "key"),
        ({"key": "region", "field_type": "text"}, "key"),  # taken on accounts
        ({"key": "tier", "field_type": "choice", "choices": ""}, "choices"),
        ({"key": "tier", "field_type": "choice", "choices": "gold\ngold"}, "choices"),
        ({"key": "tier", "field_type": "choice", "choices": "Gold Tier | Gold"}, "choices"),
        ({"key": "tier", "field_type": "colour"}, "field_type"),
    ]
    for data, error_field in cases:
        response = admin_client.post("/settings/fields/new/?object=account", {"label": "X", **data})
        assert response.status_code == 400, data
        assert f'id="{error_field}-error"' in response.content.decode(), data
    with tenant_context(alpha):
        assert list(CustomField.objects.values_list("key", flat=True)) == ["region"]
    # The same key is fine on another object.
    ok = admin_client.post(
        "/settings/fields/new/?object=lead",
        {"label": "Region", "key": "region", "field_type": "text"},
    )
    assert ok.status_code == 302


def test_key_cannot_change_and_type_cannot_change_while_in_use(alpha, admin_client):
    field = make_field(alpha, "account", "tier", "text")
    admin = admin_of(alpha)
    with tenant_context(alpha):
        with pytest.raises(ValidationError) as exc:
            services.field_update(actor=admin, field=field, data={"key": "level"})
        assert "key" in exc.value.message_dict
    # Unused: the type may change.
    edited = admin_client.post(
        f"/settings/fields/{field.pk}/edit/",
        {"label": "Tier", "field_type": "number", "key": "ignored"},
    )
    assert edited.status_code == 302
    with tenant_context(alpha):
        field.refresh_from_db()
        assert field.field_type == "number" and field.key == "tier" and field.label == "Tier"
        record_services.record_create(
            Account, actor=admin, channel="web", data={"name": "A", "custom_fields": {"tier": 3}}
        )
    refused = admin_client.post(
        f"/settings/fields/{field.pk}/edit/", {"label": "Tier", "field_type": "text"}
    )
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="field_type-error"' in page and "1 records have a value" in page
    with tenant_context(alpha):
        field.refresh_from_db()
        assert field.field_type == "number"


def test_a_choice_in_use_cannot_be_removed_but_can_be_relabelled(alpha):
    field = make_field(alpha, "account", "region", "choice", choices=CHOICES)
    admin = admin_of(alpha)
    with tenant_context(alpha):
        record_services.record_create(
            Account,
            actor=admin,
            channel="web",
            data={"name": "A", "custom_fields": {"region": "south"}},
        )
        with pytest.raises(ValidationError) as exc:
            services.field_update(actor=admin, field=field, data={"choices": CHOICES[:1]})
        assert "“south” cannot be removed: 1 records use it" in exc.value.message_dict["choices"][0]
        relabelled = [CHOICES[0], {"code": "south", "label": "Southern", "label_zh": "南部"}]
        services.field_update(actor=admin, field=field, data={"choices": relabelled})
        field.refresh_from_db()
        assert field.choice_label("south", "zh-hans") == "南部"
        # Unused codes may go.
        services.field_update(actor=admin, field=field, data={"choices": relabelled[1:]})
        assert CustomField.objects.get(pk=field.pk).codes == ["south"]


def test_reorder_and_archive_then_restore(alpha, admin_client):
    first = make_field(alpha, "lead", "first", "text")
    second = make_field(alpha, "lead", "second", "text")
    third = make_field(alpha, "lead", "third", "text")
    assert (
        admin_client.post(f"/settings/fields/{third.pk}/move/", {"direction": "up"}).status_code
        == 302
    )
    assert (
        admin_client.post(f"/settings/fields/{first.pk}/move/", {"direction": "up"}).status_code
        == 302
    )
    with tenant_context(alpha):
        assert [f.key for f in CustomField.objects.filter(object_type="lead")] == [
            "first",
            "third",
            "second",
        ]
    admin_client.post(f"/settings/fields/{second.pk}/archive/")
    page = admin_client.get("/settings/fields/?object=lead").content.decode()
    assert 'data-key="second"' not in page and 'data-testid="archived-fields"' in page
    with tenant_context(alpha):
        assert not CustomField.objects.get(pk=second.pk).is_active
    admin_client.post(f"/settings/fields/{second.pk}/archive/", {"restore": "1"})
    with tenant_context(alpha):
        assert CustomField.objects.get(pk=second.pk).is_active


def test_only_workspace_admins_reach_the_settings(alpha, rep_client):
    field = make_field(alpha, "account", "tier", "text")
    for url in (
        "/settings/fields/",
        "/settings/fields/new/",
        f"/settings/fields/{field.pk}/edit/",
    ):
        assert rep_client.get(url).status_code == 404
    for url in (f"/settings/fields/{field.pk}/archive/", f"/settings/fields/{field.pk}/move/"):
        assert rep_client.post(url).status_code == 404
    with tenant_context(alpha):
        rep = User.objects.get(email=ALPHA.rep_email)
        with pytest.raises(PermissionDenied):
            services.field_create(
                actor=rep, object_type="account", key="x", data={"label": "X", "field_type": "text"}
            )
        assert CustomField.objects.get(pk=field.pk).is_active


def test_another_workspaces_field_answers_404_like_a_missing_one(alpha, beta, admin_client):
    ours = make_field(alpha, "account", "alpha_field", "text")
    theirs = make_field(beta, "account", "beta_only", "text")
    beta_pk = ours.pk + 500
    with tenant_context(beta):
        CustomField.objects.filter(pk=theirs.pk).update(id=beta_pk)
    assert admin_client.get(f"/settings/fields/{ours.pk}/edit/").status_code == 200
    missing = admin_client.get("/settings/fields/999999/edit/")
    assert missing.status_code == 404
    other = admin_client.get(f"/settings/fields/{beta_pk}/edit/")
    assert other.status_code == 404
    for action in ("archive", "move"):
        assert admin_client.post(f"/settings/fields/{beta_pk}/{action}/").status_code == 404
    changed = admin_client.post(f"/settings/fields/{beta_pk}/edit/", {"label": "Hijacked"})
    assert changed.status_code == 404
    with tenant_context(beta):
        field = CustomField.objects.get(pk=beta_pk)
        assert field.is_active and field.label == "Beta Only"
