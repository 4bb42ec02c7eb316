"""Merging records over the API and undoing it: the merge screen's rules, record security and
tenant isolation."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import tenant_context

from core_crm.access.models import RecordShare, Role
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, Lead, Tag


@pytest.fixture
def pair(alpha, admin_api, rep_api):
    """Two duplicate accounts; the loser has a contact, tags and a share."""
    admin, rep = admin_api[0], rep_api[0]
    with tenant_context(alpha):
        survivor = Account.objects.create(
            owner=admin, name="Shanghai Valves", city="Shanghai", email="sales@valves.cn"
        )
        loser = Account.objects.create(
            owner=admin,
            name="Shanghai Valves Co.",
            city="Shanghai",
            email="info@valves.cn",
            phone="+86 21 5555 0000",
        )
        contact = Contact.objects.create(owner=admin, last_name="Zhou", account=loser)
        both, only_loser = Tag.objects.create(name="fair"), Tag.objects.create(name="valves")
        survivor.tags.add(both)
        loser.tags.add(both, only_loser)
        RecordShare.objects.create(
            content_type=ContentType.objects.get_for_model(Account),
            object_id=loser.pk,
            user=rep,
        )
    return {"survivor": survivor, "loser": loser, "contact": contact}


def test_merge_moves_related_rows_and_undo_restores_them(alpha, admin_api, pair):
    _admin, api = admin_api
    survivor, loser, contact = pair["survivor"], pair["loser"], pair["contact"]
    response = api.post(
        f"/api/v1/accounts/{survivor.pk}/merge/",
        {"other": loser.pk, "values": {"email": "other"}},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["merged_away"] == loser.pk
    record = body["record"]
    assert record["id"] == survivor.pk
    assert record["email"] == "info@valves.cn"  # chosen: the other's
    assert record["name"] == "Shanghai Valves"  # left out: the survivor's own
    assert record["phone"] == "+86 21 5555 0000"  # left out and empty: the other's
    assert sorted(record["tags"]) == ["fair", "valves"]
    moved = {row["relation"]: row["count"] for row in body["moved"]}
    assert moved["customers.contact.account"] == 1
    assert moved["customers.account_tags.account"] == 1  # "valves"; "fair" was a twin
    assert moved["access.recordshare.object_id"] == 1
    assert body["removed"] == 1  # the loser's link to "fair"
    with tenant_context(alpha):
        assert not Account.objects.filter(pk=loser.pk).exists()
        assert Contact.objects.get(pk=contact.pk).account_id == survivor.pk
        entry = AuditEntry.objects.get(pk=body["merge_entry"])
        assert (entry.kind, entry.channel, entry.object_id) == ("merge", "api", survivor.pk)

    undone = api.post(f"/api/v1/merges/{body['merge_entry']}/undo/", {})
    assert undone.status_code == 200, undone.json()
    assert undone.json()["restored"]["id"] == loser.pk
    assert undone.json()["restored"]["email"] == "info@valves.cn"
    assert sorted(undone.json()["restored"]["tags"]) == ["fair", "valves"]
    assert undone.json()["record"]["email"] == "sales@valves.cn"
    assert undone.json()["record"]["tags"] == ["fair"]
    with tenant_context(alpha):
        assert Contact.objects.get(pk=contact.pk).account_id == loser.pk
        assert RecordShare.objects.filter(object_id=loser.pk).count() == 1
        undo = AuditEntry.objects.get(pk=undone.json()["undo_entry"])
        assert (undo.kind, undo.channel) == ("unmerge", "api")

    again = api.post(f"/api/v1/merges/{body['merge_entry']}/undo/", {})
    assert again.status_code == 409
    assert again.json() == {"detail": "This merge was already undone."}


def test_contacts_and_leads_merge_too(alpha, admin_api):
    admin, api = admin_api
    with tenant_context(alpha):
        a = Contact.objects.create(owner=admin, last_name="Li", email="li@example.cn")
        b = Contact.objects.create(owner=admin, last_name="Li", mobile="13800000000")
        c = Lead.objects.create(owner=admin, last_name="Wang", company="Wang Tea")
        d = Lead.objects.create(owner=admin, last_name="Wang", email="wang@tea.cn")
    contact = api.post(f"/api/v1/contacts/{a.pk}/merge/", {"other": b.pk})
    assert contact.status_code == 200, contact.json()
    assert contact.json()["record"]["mobile"] == "13800000000"
    lead = api.post(f"/api/v1/leads/{c.pk}/merge/", {"other": d.pk})
    assert lead.status_code == 200, lead.json()
    assert lead.json()["record"]["email"] == "wang@tea.cn"
    with tenant_context(alpha):
        assert not Contact.objects.filter(pk=b.pk).exists()
        assert not Lead.objects.filter(pk=d.pk).exists()


def test_bad_requests_name_the_field_and_change_nothing(alpha, admin_api, pair):
    _admin, api = admin_api
    survivor, loser = pair["survivor"], pair["loser"]
    path = f"/api/v1/accounts/{survivor.pk}/merge/"

    itself = api.post(path, {"other": survivor.pk})
    assert itself.status_code == 400
    assert list(itself.json()) == ["other"]
    assert api.post(path, {}).json() == {"other": ["This field is required."]}

    bad_pick = api.post(path, {"other": loser.pk, "values": {"email": "mine"}})
    assert bad_pick.status_code == 400
    assert list(bad_pick.json()["values"]) == ["email"]
    unknown = api.post(path, {"other": loser.pk, "values": {"favourite_colour": "other"}})
    assert unknown.status_code == 400
    assert unknown.json() == {
        "values": {"favourite_colour": ["This field cannot be chosen in a merge."]}
    }
    with tenant_context(alpha):
        assert Account.objects.filter(pk=loser.pk).exists()
        assert Account.objects.get(pk=survivor.pk).email == "sales@valves.cn"
        assert not AuditEntry.objects.filter(kind="merge", object_id=survivor.pk).exists()


def test_records_out_of_scope_answer_exactly_like_missing_ones(alpha, admin_api, rep_api, pair):
    """A rep (own records) cannot merge a colleague's record, either way round."""
    rep, api = rep_api
    survivor, loser = pair["survivor"], pair["loser"]  # the admin's
    with tenant_context(alpha):
        own = Account.objects.create(owner=rep, name="Rep's valves")
    missing = api.post("/api/v1/accounts/987654321/merge/", {"other": own.pk})
    assert missing.status_code == 404
    for response in (
        api.post(f"/api/v1/accounts/{survivor.pk}/merge/", {"other": own.pk}),
        api.post(f"/api/v1/accounts/{own.pk}/merge/", {"other": survivor.pk}),
        api.post(f"/api/v1/accounts/{own.pk}/merge/", {"other": 987654321}),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    # The loser is shared with the rep for reading: readable, but not theirs to delete.
    shared = api.post(f"/api/v1/accounts/{own.pk}/merge/", {"other": loser.pk})
    assert shared.status_code == 403
    assert "deleting" in shared.json()["detail"]
    with tenant_context(alpha):
        assert Account.objects.filter(pk__in=[survivor.pk, loser.pk, own.pk]).count() == 3


def test_a_role_without_delete_cannot_merge_even_its_own_records(alpha, rep_api):
    rep, api = rep_api
    with tenant_context(alpha):
        assert Role.objects.get(key="sales_rep").scope("account", "delete") == "none"
        a = Account.objects.create(owner=rep, name="Mine A")
        b = Account.objects.create(owner=rep, name="Mine A.")
    response = api.post(f"/api/v1/accounts/{a.pk}/merge/", {"other": b.pk})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Your role does not allow deleting")
    with tenant_context(alpha):
        assert Account.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_undo_needs_the_right_to_edit_the_kept_record(alpha, admin_api, rep_api, pair):
    _admin, api = admin_api
    entry = api.post(
        f"/api/v1/accounts/{pair['survivor'].pk}/merge/", {"other": pair["loser"].pk}
    ).json()["merge_entry"]
    rep = rep_api[1]
    missing = rep.post("/api/v1/merges/987654321/undo/", {})
    assert missing.status_code == 404
    refused = rep.post(f"/api/v1/merges/{entry}/undo/", {})
    assert refused.status_code == 404
    assert refused.content == missing.content
    with tenant_context(alpha):
        # The note written on the record merged away is of kind merge, but not undoable.
        other_entry = AuditEntry.objects.filter(kind="merge").exclude(pk=entry).get()
    not_a_merge = api.post(f"/api/v1/merges/{other_entry.pk}/undo/", {})
    assert not_a_merge.status_code == 404
    assert not_a_merge.content == missing.content
    with tenant_context(alpha):
        assert not Account.objects.filter(pk=pair["loser"].pk).exists()


def test_workspaces_do_not_reach_each_others_records_or_merges(
    alpha, beta, admin_api, beta_api, pair
):
    _admin, api = admin_api
    beta_admin, beta_client = beta_api
    with tenant_context(alpha):
        Account.objects.create(pk=626262, owner=admin_api[0], name="Alpha 626262")
        Account.objects.create(pk=626263, owner=admin_api[0], name="Alpha 626263")
    with tenant_context(beta):
        Account.objects.create(pk=626262, owner=beta_admin, name="Beta 626262")
        Account.objects.create(pk=626263, owner=beta_admin, name="Beta 626263")
        Account.objects.create(pk=636363, owner=beta_admin, name="Beta only")
    missing = api.post("/api/v1/accounts/626262/merge/", {"other": 987654321})
    assert missing.status_code == 404
    beta_only = api.post("/api/v1/accounts/626262/merge/", {"other": 636363})
    assert beta_only.status_code == 404
    assert beta_only.content == missing.content

    merged = beta_client.post("/api/v1/accounts/626262/merge/", {"other": 626263})
    assert merged.status_code == 200
    assert merged.json()["record"]["name"] == "Beta 626262"
    with tenant_context(alpha):
        assert Account.objects.filter(pk__in=[626262, 626263]).count() == 2
    # Beta's merge entry id means nothing in alpha (or is some other entry there).
    alpha_try = api.post(f"/api/v1/merges/{merged.json()['merge_entry']}/undo/", {})
    assert alpha_try.status_code == 404
    with tenant_context(beta):
        assert not Account.objects.filter(pk=626263).exists()
