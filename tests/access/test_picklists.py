"""Settings → Picklists: workspace admins add, edit, reorder, retire and delete values."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.customers import picklists
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.users.models import User

from ..conftest import ALPHA


def value(alpha, picklist: str, code: str) -> PicklistValue:
    with tenant_context(alpha):
        return PicklistValue.objects.get(picklist=picklist, code=code)


def codes_in_order(alpha, picklist: str) -> list[str]:
    with tenant_context(alpha):
        return list(
            PicklistValue.objects.filter(picklist=picklist)
            .order_by("position", "label")
            .values_list("code", flat=True)
        )


def test_admin_adds_a_value_in_both_languages_and_the_account_form_offers_it(alpha, admin_client):
    response = admin_client.post(
        "/settings/picklists/industry/", {"label": " Agriculture ", "label_zh": "农业"}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        added = PicklistValue.objects.get(picklist="industry", label="Agriculture")
        last = PicklistValue.objects.filter(picklist="industry").order_by("-position").first()
        entry = AuditEntry.objects.filter(object_id=added.pk, kind="create").latest("pk")
    assert (added.code, added.label_zh, added.is_active) == ("agriculture", "农业", True)
    assert last == added  # added at the end of the list
    assert entry.content_type.model == "picklistvalue"
    assert entry.changes["label"] == [None, "Agriculture"]
    assert entry.actor.email == ALPHA.admin_email
    assert "Agriculture" in admin_client.get("/customers/new/").content.decode()
    listing = admin_client.get("/settings/picklists/industry/").content.decode()
    assert 'data-value="agriculture"' in listing and "农业" in listing


def test_missing_and_duplicate_labels_are_refused_naming_the_field(alpha, admin_client):
    with tenant_context(alpha):
        before = PicklistValue.objects.count()

    empty = admin_client.post("/settings/picklists/industry/", {"label": "", "label_zh": " "})
    page = empty.content.decode()
    assert empty.status_code == 400
    assert 'id="label-error"' in page and 'id="label_zh-error"' in page

    # "Retail" / "零售" exist: the same label in other letter case is refused, per field.
    english = admin_client.post(
        "/settings/picklists/industry/", {"label": "RETAIL", "label_zh": "新零售"}
    )
    page = english.content.decode()
    assert english.status_code == 400
    assert 'id="label-error"' in page and "already in this list" in page
    assert 'id="label_zh-error"' not in page

    chinese = admin_client.post(
        "/settings/picklists/industry/", {"label": "Retail 2", "label_zh": "零售"}
    )
    page = chinese.content.decode()
    assert chinese.status_code == 400
    assert 'id="label_zh-error"' in page and 'id="label-error"' not in page

    # Nor may a label repeat another value's label in the other language (imports read both).
    crossed = admin_client.post(
        "/settings/picklists/industry/", {"label": "零售", "label_zh": "Retail trade"}
    )
    assert crossed.status_code == 400 and 'id="label-error"' in crossed.content.decode()

    # Another list may have the same label.
    other_list = admin_client.post(
        "/settings/picklists/source/", {"label": "Retail", "label_zh": "零售"}
    )
    assert other_list.status_code == 302
    with tenant_context(alpha):
        assert PicklistValue.objects.count() == before + 1


def test_a_retired_twin_is_named_so_the_admin_reactivates_it(alpha, admin, admin_client):
    with tenant_context(alpha):
        retail = PicklistValue.objects.get(picklist="industry", code="retail")
        picklists.picklist_value_retire(actor=admin, value=retail)
    response = admin_client.post(
        "/settings/picklists/industry/", {"label": "retail", "label_zh": "零售业"}
    )
    assert response.status_code == 400
    assert "retired: reactivate it instead" in response.content.decode()


def test_editing_labels_keeps_the_code_and_is_audited(alpha, admin_client):
    retail = value(alpha, "industry", "retail")
    form = admin_client.get(f"/settings/picklists/industry/{retail.pk}/edit/")
    assert form.status_code == 200 and 'value="Retail"' in form.content.decode()

    clash = admin_client.post(
        f"/settings/picklists/industry/{retail.pk}/edit/",
        {"label": "Finance", "label_zh": "零售"},
    )
    assert clash.status_code == 400 and 'id="label-error"' in clash.content.decode()

    saved = admin_client.post(
        f"/settings/picklists/industry/{retail.pk}/edit/",
        {"label": "Retail and e-commerce", "label_zh": "零售与电商"},
    )
    assert saved.status_code == 302
    with tenant_context(alpha):
        retail.refresh_from_db()
        entry = AuditEntry.objects.filter(object_id=retail.pk, kind="update").latest("pk")
    assert (retail.code, retail.label, retail.label_zh) == (
        "retail",
        "Retail and e-commerce",
        "零售与电商",
    )
    assert entry.changes == {
        "label": ["Retail", "Retail and e-commerce"],
        "label_zh": ["零售", "零售与电商"],
    }


def test_values_move_up_and_down_and_the_ends_stay_put(alpha, admin_client):
    start = codes_in_order(alpha, "intention")
    assert start == ["high", "medium", "low", "none"]
    low = value(alpha, "intention", "low")
    high = value(alpha, "intention", "high")

    assert admin_client.post(f"/settings/picklists/intention/{low.pk}/up/").status_code == 302
    assert codes_in_order(alpha, "intention") == ["high", "low", "medium", "none"]
    admin_client.post(f"/settings/picklists/intention/{high.pk}/up/")  # already first
    admin_client.post(f"/settings/picklists/intention/{high.pk}/down/")
    assert codes_in_order(alpha, "intention") == ["low", "high", "medium", "none"]
    with tenant_context(alpha):
        positions = list(
            PicklistValue.objects.filter(picklist="intention")
            .order_by("position")
            .values_list("position", flat=True)
        )
        moves = AuditEntry.objects.filter(
            object_id=low.pk, kind="update", changes__has_key="position"
        )
        assert positions == [0, 1, 2, 3]
        assert moves.exists()

    bad = admin_client.post(f"/settings/picklists/intention/{low.pk}/sideways/")
    assert bad.status_code == 404


def test_reorder_must_name_every_value_once(alpha, admin):
    with tenant_context(alpha):
        ids = list(
            PicklistValue.objects.filter(picklist="intention")
            .order_by("position")
            .values_list("pk", flat=True)
        )
        with pytest.raises(ValidationError) as info:
            picklists.picklist_reorder(actor=admin, picklist="intention", order=ids[:-1])
        assert "order" in info.value.message_dict
        picklists.picklist_reorder(actor=admin, picklist="intention", order=ids[::-1])
    assert codes_in_order(alpha, "intention") == ["none", "low", "medium", "high"]


def test_a_value_in_use_cannot_be_deleted_and_offers_retiring(alpha, admin, admin_client):
    with tenant_context(alpha):
        retail = PicklistValue.objects.get(picklist="industry", code="retail")
        Account.objects.create(owner=admin, name="Shop A", industry=retail)
        Account.objects.create(owner=admin, name="Shop B", industry=retail)

    listing = admin_client.get("/settings/picklists/industry/").content.decode()
    row = listing.split('data-value="retail"')[1].split("</tr>")[0]
    assert '<td class="px-3 py-2 text-right" data-testid="used">2</td>' in row
    assert 'class="text-slate-400 hover:underline"' in row  # Delete, greyed out

    page = admin_client.get(f"/settings/picklists/industry/{retail.pk}/delete/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "cannot be deleted: 2 records use it" in text
    assert f"/settings/picklists/industry/{retail.pk}/retire/" in text

    refused = admin_client.post(f"/settings/picklists/industry/{retail.pk}/delete/")
    assert refused.status_code == 400 and "Retire it instead" in refused.content.decode()
    with tenant_context(alpha):
        assert PicklistValue.objects.filter(pk=retail.pk).exists()
        assert not AuditEntry.objects.filter(object_id=retail.pk, kind="delete").exists()
        with pytest.raises(picklists.PicklistError, match="2 records use it"):
            picklists.picklist_value_delete(actor=admin, value=retail)


def test_usage_counts_every_record_type_that_points_at_values(alpha, admin):
    with tenant_context(alpha):
        web = PicklistValue.objects.get(picklist="source", code="website")
        buyer = PicklistValue.objects.get(picklist="contact_role", code="decision-maker")
        Account.objects.create(owner=admin, name="A", source=web)
        Lead.objects.create(owner=admin, last_name="L", source=web)
        Contact.objects.create(owner=admin, last_name="C", role=buyer)
        usage = picklists.picklist_usage()
        assert usage[web.pk] == 2 and usage[buyer.pk] == 1
        assert picklists.picklist_usage("source")[web.pk] == 2
        assert picklists.picklist_usage("source")[buyer.pk] == 0
        assert picklists.value_usage(web) == 2


def test_an_unused_value_is_deleted_and_the_audit_keeps_it(alpha, admin_client):
    admin_client.post("/settings/picklists/source/", {"label": "Fax campaign", "label_zh": "传真"})
    fax = value(alpha, "source", "fax-campaign")
    confirm = admin_client.get(f"/settings/picklists/source/{fax.pk}/delete/")
    assert confirm.status_code == 200 and "No record uses this value" in confirm.content.decode()
    assert admin_client.post(f"/settings/picklists/source/{fax.pk}/delete/").status_code == 302
    with tenant_context(alpha):
        assert not PicklistValue.objects.filter(pk=fax.pk).exists()
        entry = AuditEntry.objects.get(object_id=fax.pk, kind="delete")
    assert entry.changes["label"] == "Fax campaign" and entry.changes["code"] == "fax-campaign"


def test_a_retired_value_is_no_longer_offered_but_stays_on_its_records(alpha, admin, admin_client):
    with tenant_context(alpha):
        retail = PicklistValue.objects.get(picklist="industry", code="retail")
        shop = Account.objects.create(owner=admin, name="Corner Shop", industry=retail)
    option = f'<option value="{retail.pk}"'

    assert option in admin_client.get("/customers/new/").content.decode()
    response = admin_client.post(f"/settings/picklists/industry/{retail.pk}/retire/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/settings/picklists/industry/#value-{retail.pk}")
    with tenant_context(alpha):
        retail.refresh_from_db()
        shop.refresh_from_db()
    assert not retail.is_active and shop.industry_id == retail.pk

    assert option not in admin_client.get("/customers/new/").content.decode()
    assert "Retail" in admin_client.get(f"/customers/{shop.pk}/").content.decode()
    edit = admin_client.get(f"/customers/{shop.pk}/edit/").content.decode()
    assert f'<option value="{retail.pk}" selected' in edit
    # Saving the record with the value it already has is fine; newly choosing it is not.
    kept = admin_client.post(
        f"/customers/{shop.pk}/edit/",
        {"name": "Corner Shop Ltd", "kind": "customer", "industry": retail.pk},
    )
    assert kept.status_code == 302
    chosen = admin_client.post(
        "/customers/new/", {"name": "New Shop", "kind": "customer", "industry": retail.pk}
    )
    assert chosen.status_code == 400
    with tenant_context(alpha):
        assert not Account.objects.filter(name="New Shop").exists()

    index = admin_client.get("/settings/picklists/").content.decode()
    assert "Retired" in index.split('data-value="retail"')[1].split("</tr>")[0]

    assert (
        admin_client.post(f"/settings/picklists/industry/{retail.pk}/reactivate/").status_code
        == 302
    )
    assert option in admin_client.get("/customers/new/").content.decode()


def test_only_workspace_admins_change_picklists(alpha, rep):
    with tenant_context(alpha):
        retail = PicklistValue.objects.get(picklist="industry", code="retail")
        with pytest.raises(PermissionDenied):
            picklists.picklist_value_create(actor=rep, picklist="industry", label="X", label_zh="X")
        for service in (
            picklists.picklist_value_retire,
            picklists.picklist_value_reactivate,
            picklists.picklist_value_delete,
        ):
            with pytest.raises(PermissionDenied):
                service(actor=rep, value=retail)
        with pytest.raises(ValidationError) as info:
            admin = User.objects.get(email=ALPHA.admin_email)
            picklists.picklist_value_create(
                actor=admin, picklist="colours", label="Red", label_zh="红"
            )
        assert "picklist" in info.value.message_dict


def picklist_urls(key: str, pk: int) -> list[tuple[str, str]]:
    base = f"/settings/picklists/{key}/"
    return [
        ("get", "/settings/picklists/"),
        ("get", base),
        ("post", base),
        ("get", f"{base}{pk}/edit/"),
        ("post", f"{base}{pk}/edit/"),
        ("get", f"{base}{pk}/delete/"),
        ("post", f"{base}{pk}/delete/"),
        ("post", f"{base}{pk}/up/"),
        ("post", f"{base}{pk}/retire/"),
        ("post", f"{base}{pk}/reactivate/"),
    ]


def test_a_sales_rep_gets_404_from_every_picklist_page_and_changes_nothing(alpha, rep_client):
    retail = value(alpha, "industry", "retail")
    for method, url in picklist_urls("industry", retail.pk):
        data = {"label": "Hacked", "label_zh": "黑"} if method == "post" else {}
        response = getattr(rep_client, method)(url, data)
        assert response.status_code == 404, (method, url)
    with tenant_context(alpha):
        retail.refresh_from_db()
        assert retail.is_active and retail.label == "Retail"
        assert not PicklistValue.objects.filter(label="Hacked").exists()


def test_another_workspaces_admin_gets_404_for_this_workspaces_values(
    alpha, beta, admin, admin_client, beta_admin_client
):
    with tenant_context(alpha):
        only_alpha = picklists.picklist_value_create(
            actor=admin, picklist="industry", label="Aquaculture", label_zh="水产养殖"
        )
    with tenant_context(beta):
        assert not PicklistValue.objects.filter(pk=only_alpha.pk).exists()
    for method, url in picklist_urls("industry", only_alpha.pk)[3:]:
        response = getattr(beta_admin_client, method)(url, {"label": "B", "label_zh": "乙"})
        assert response.status_code == 404, (method, url)
    # A value id under another list's address, or an unknown list, is not found either.
    assert admin_client.get(f"/settings/picklists/source/{only_alpha.pk}/edit/").status_code == 404
    assert (
        admin_client.post(f"/settings/picklists/source/{only_alpha.pk}/retire/").status_code == 404
    )
    assert admin_client.get("/settings/picklists/colours/").status_code == 404
    with tenant_context(alpha):
        only_alpha.refresh_from_db()
        assert only_alpha.is_active and only_alpha.label == "Aquaculture"


def test_picklist_pages_take_a_fixed_number_of_queries(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = {url: queries(url) for url in ("/settings/picklists/", "/settings/picklists/industry/")}
    with tenant_context(alpha):
        web = PicklistValue.objects.get(picklist="source", code="website")
        for i in range(15):
            v = picklists.picklist_value_create(
                actor=admin, picklist="industry", label=f"Sector {i}", label_zh=f"行业{i}"
            )
            Account.objects.create(owner=admin, name=f"A{i}", industry=v)
            Lead.objects.create(owner=admin, last_name=f"L{i}", source=web)
    for url, count in small.items():
        assert queries(url) == count, url
        with django_assert_max_num_queries(12):  # half are SET search_path; 1 is the bell
            admin_client.get(url)


def test_picklist_pages_speak_chinese(alpha, admin_client):
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    index = admin_client.get("/settings/picklists/").content.decode()
    assert "选项列表" in index and "行业" in index and "制造业" in index
    page = admin_client.get("/settings/picklists/industry/").content.decode()
    assert "添加选项值" in page and "停用" in page
    empty = admin_client.post("/settings/picklists/industry/", {"label": "", "label_zh": ""})
    assert "请输入英文名称。" in empty.content.decode()
