"""Merging duplicates: field choices, every related row moved, audit entry, exact undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.access.models import RecordShare, Role, Team
from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.customers import merge
from core_crm.customers.merge import MergeError, record_merge, record_merge_undo, relations
from core_crm.customers.models import (
    Account,
    Consent,
    Contact,
    ConversionRequest,
    Employment,
    Lead,
    PicklistValue,
    Tag,
)
from core_crm.users.models import User

from ..conftest import ALPHA

# Every table a merge can touch today: the snapshot compared before a merge and after its undo.
WORLD: list[type[Model]] = [
    Account,
    Contact,
    Lead,
    Employment,
    Consent,
    ConversionRequest,
    Account.tags.through,
    Contact.tags.through,
    Lead.tags.through,
    RecordShare,
]


def world() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table above (change times aside: saving the survivor stamps it)."""
    out = {}
    for model in WORLD:
        names = [
            f.attname
            for f in model._meta.concrete_fields
            if not f.generated and f.name != "updated_at"
        ]
        out[model._meta.label] = list(model._base_manager.order_by("pk").values(*names))
    return out


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        rep = User.objects.get(email=ALPHA.rep_email)
        rep.role = Role.objects.get(key="sales_rep")
        rep.save()
        yield admin, rep


def share(record: Model, *, user: User | None = None, team: Team | None = None, edit=False):
    return RecordShare.objects.create(
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=record.pk,
        user=user,
        team=team,
        can_edit=edit,
    )


def shares_of(record: Model) -> list[tuple[int | None, int | None, bool]]:
    return sorted(
        RecordShare.objects.filter(
            content_type=ContentType.objects.get_for_model(type(record)), object_id=record.pk
        ).values_list("user_id", "team_id", "can_edit"),
        key=str,
    )


@pytest.fixture
def accounts(alpha, people):
    """Two duplicate accounts and one row of every kind that points at the loser."""
    admin, rep = people
    with tenant_context(alpha):
        industry = PicklistValue.objects.filter(picklist="industry").first()
        holding = Account.objects.create(owner=admin, name="Valves Holding")
        survivor = Account.objects.create(
            owner=admin,
            name="Shanghai Valves",
            city="Shanghai",
            phone="",
            email="sales@valves.cn",
            annual_revenue="1200000.50",
        )
        loser = Account.objects.create(
            owner=rep,
            name="Shanghai Valves Co.",
            city="Shanghai",
            phone="+86 21 5555 0000",
            email="info@valves.cn",
            industry=industry,
            parent=holding,
            notes="Met at the Canton fair",
            custom_fields={"erp_id": "V-100"},
        )
        survivor.parent = loser  # a self-reference that must not survive the merge
        survivor.save()
        branch = Account.objects.create(owner=admin, name="Valves Ningbo branch", parent=loser)
        contact = Contact.objects.create(owner=rep, last_name="Zhou", account=loser)
        job = Employment.objects.create(contact=contact, account=loser, account_name=loser.name)
        lead = Lead.objects.create(
            owner=rep, last_name="Zhou", status=Lead.Status.CONVERTED, converted_account=loser
        )
        both, only_loser = Tag.objects.create(name="fair"), Tag.objects.create(name="valves")
        survivor.tags.add(both)
        loser.tags.add(both, only_loser)
        team = Team.objects.create(name="East")
        share(survivor, user=rep)
        share(loser, user=rep, edit=True)  # the survivor already has a share for the rep
        share(loser, team=team)
        yield {
            "survivor": survivor,
            "loser": loser,
            "branch": branch,
            "contact": contact,
            "job": job,
            "lead": lead,
            "tags": {both, only_loser},
            "team": team,
            "holding": holding,
        }


def test_relations_cover_every_link_to_customers_today():
    labels = {model: {r.label for r in relations(model)} for model in (Account, Contact, Lead)}
    assert labels[Account] >= {
        "customers.account.parent",
        "customers.contact.account",
        "customers.employment.account",
        "customers.lead.converted_account",
        "customers.account_tags.account",
        "access.recordshare.object_id",
    }
    assert labels[Contact] >= {
        "customers.contact.reports_to",
        "customers.employment.contact",
        "customers.consent.contact",
        "customers.lead.converted_contact",
        "customers.contact_tags.contact",
        "access.recordshare.object_id",
    }
    assert labels[Lead] >= {
        "customers.conversionrequest.lead",
        "customers.lead_tags.lead",
        "access.recordshare.object_id",
    }
    every = set().union(*labels.values())
    assert not any(label.startswith("audit.") for label in every)  # history stays put


def test_account_merge_moves_every_related_row_and_applies_the_choices(alpha, people, accounts):
    admin, rep = people
    survivor, loser = accounts["survivor"], accounts["loser"]
    with tenant_context(alpha):
        entry = record_merge(
            actor=admin,
            survivor=survivor,
            loser=loser,
            choices={"name": "loser", "email": "survivor"},
        )
        assert not Account.objects.filter(pk=loser.pk).exists()
        # Nothing of any kind points at the deleted record any more.
        for relation in relations(Account):
            condition = {relation.attname: loser.pk}
            if relation.content_type_field:
                condition[relation.content_type_field] = ContentType.objects.get_for_model(Account)
            assert not relation.model._base_manager.filter(**condition).exists(), relation.label

        kept = Account.objects.get(pk=survivor.pk)
        assert kept.name == "Shanghai Valves Co."  # chosen
        assert kept.email == "sales@valves.cn"  # chosen
        assert kept.phone == "+86 21 5555 0000"  # empty on the survivor: the other's
        assert kept.industry_id == loser.industry_id and kept.notes == "Met at the Canton fair"
        assert kept.custom_fields == {"erp_id": "V-100"}
        assert str(kept.annual_revenue) == "1200000.50"
        assert kept.parent_id == accounts["holding"].pk  # own parent was the loser: cleared
        assert kept.owner == admin
        assert set(kept.tags.all()) == accounts["tags"]
        assert Account.objects.get(pk=accounts["branch"].pk).parent_id == kept.pk
        assert Contact.objects.get(pk=accounts["contact"].pk).account_id == kept.pk
        assert Employment.objects.get(pk=accounts["job"].pk).account_id == kept.pk
        assert Lead.objects.get(pk=accounts["lead"].pk).converted_account_id == kept.pk
        # The rep's two shares became one, with the edit right the loser's had.
        assert shares_of(kept) == sorted(
            [(rep.pk, None, True), (None, accounts["team"].pk, False)], key=str
        )

        assert entry.kind == AuditEntry.Kind.MERGE and entry.object_id == kept.pk
        data = entry.changes
        assert data["fields"]["name"] == ["Shanghai Valves", "Shanghai Valves Co."]
        assert data["fields"]["parent"] == [loser.pk, accounts["holding"].pk]
        assert data["loser"]["pk"] == loser.pk
        assert data["loser"]["row"]["owner_id"] == rep.pk
        assert data["loser"]["row"]["name"] == "Shanghai Valves Co."
        assert sorted(data["loser"]["m2m"]["tags"]) == sorted(t.pk for t in accounts["tags"])
        moved = {g["relation"]: g["pks"] for g in data["moved"]}
        assert moved["customers.contact.account"] == [accounts["contact"].pk]
        assert moved["customers.account.parent"] == [accounts["branch"].pk]
        assert moved["customers.employment.account"] == [accounts["job"].pk]
        assert moved["customers.lead.converted_account"] == [accounts["lead"].pk]
        assert len(moved["customers.account_tags.account"]) == 1  # the other one clashed
        assert len(moved["access.recordshare.object_id"]) == 1  # the team's share
        removed = {(r["model"], r["relation"]) for r in data["removed"]}
        assert removed == {
            ("customers.account_tags", "customers.account_tags.account"),
            ("access.recordshare", None),
        }
        assert [(c["model"], c["field"], c["old"], c["new"]) for c in data["changed"]] == [
            ("access.recordshare", "can_edit", False, True)
        ]
        note = AuditEntry.objects.get(object_id=loser.pk, content_type=entry.content_type)
        assert note.kind == AuditEntry.Kind.MERGE
        assert note.changes == {"merged_into": kept.pk, "merge_entry": entry.pk}


def test_undo_restores_the_account_merge_exactly(alpha, people, accounts):
    admin, _ = people
    survivor, loser = accounts["survivor"], accounts["loser"]
    with tenant_context(alpha):
        before = world()
        loser_changed_at = Account.objects.get(pk=loser.pk).updated_at
        entry = record_merge(actor=admin, survivor=survivor, loser=loser, choices={"name": "loser"})
        assert world() != before
        restored = record_merge_undo(actor=admin, entry=entry)
        assert restored.pk == loser.pk
        assert world() == before
        assert Account.objects.get(pk=loser.pk).updated_at == loser_changed_at
        undo = AuditEntry.objects.get(kind=AuditEntry.Kind.UNMERGE, object_id=survivor.pk)
        assert undo.changes["merge_entry"] == entry.pk
        assert undo.changes["fields"]["name"] == ["Shanghai Valves Co.", "Shanghai Valves"]
        assert AuditEntry.objects.filter(
            kind=AuditEntry.Kind.UNMERGE, object_id=loser.pk, content_type=entry.content_type
        ).exists()


def test_contact_merge_keeps_both_employment_histories_and_undo_puts_them_back(alpha, people):
    admin, rep = people
    with tenant_context(alpha):
        old_firm = Account.objects.create(owner=admin, name="Old Firm")
        new_firm = Account.objects.create(owner=admin, name="New Firm")
        survivor = Contact.objects.create(
            owner=admin, first_name="Na", last_name="Li", account=old_firm, email="li@old.cn"
        )
        loser = Contact.objects.create(
            owner=admin,
            first_name="Na",
            last_name="Li",
            account=new_firm,
            mobile="139 1234 5678",
            do_not_email=True,
            reports_to=survivor,
        )
        past = Employment.objects.create(
            contact=survivor,
            account=None,
            account_name="First Job Ltd",
            started_at=dt.date(2015, 1, 1),
            ended_at=dt.date(2018, 1, 1),
        )
        at_old = Employment.objects.create(
            contact=survivor, account=old_firm, account_name="Old Firm"
        )
        at_new = Employment.objects.create(contact=loser, account=new_firm, account_name="New Firm")
        consent = Consent.objects.create(
            contact=loser, purpose="marketing email", granted_at=timezone.now(), method="web form"
        )
        report = Contact.objects.create(owner=admin, last_name="Wang", reports_to=loser)
        lead = Lead.objects.create(owner=rep, last_name="Li", converted_contact=loser)
        tag = Tag.objects.create(name="vip")
        loser.tags.add(tag)
        share(loser, user=rep)
        before = world()

        entry = record_merge(
            actor=admin, survivor=survivor, loser=loser, choices={"account": "loser"}
        )
        kept = Contact.objects.get(pk=survivor.pk)
        assert kept.account_id == new_firm.pk  # chosen: the contact moved companies
        assert kept.mobile == "139 1234 5678" and kept.email == "li@old.cn"
        assert kept.do_not_email is True  # an opt-out is never lost by default
        assert kept.reports_to_id is None  # it pointed at the survivor itself
        jobs = {e.pk: e for e in Employment.objects.filter(contact=kept)}
        assert set(jobs) == {past.pk, at_old.pk, at_new.pk}
        assert jobs[at_new.pk].ended_at is None  # at the chosen account: current
        assert jobs[at_old.pk].ended_at == timezone.localdate()  # closed by the merge
        assert Consent.objects.get(pk=consent.pk).contact_id == kept.pk
        assert Contact.objects.get(pk=report.pk).reports_to_id == kept.pk
        assert Lead.objects.get(pk=lead.pk).converted_contact_id == kept.pk
        assert list(kept.tags.all()) == [tag]
        assert shares_of(kept) == [(rep.pk, None, False)]

        record_merge_undo(actor=admin, entry=entry)
        assert world() == before


def test_lead_merge_moves_conversion_requests_and_status_brings_its_links(alpha, people):
    admin, rep = people
    with tenant_context(alpha):
        account = Account.objects.create(owner=admin, name="Converted Co")
        survivor = Lead.objects.create(owner=admin, last_name="Chen", email="chen@x.cn")
        loser = Lead.objects.create(
            owner=admin,
            last_name="Chen",
            company="Converted Co",
            status=Lead.Status.CONVERTED,
            converted_account=account,
            converted_at=timezone.now(),
        )
        pending_kept = ConversionRequest.objects.create(lead=survivor, requested_by=rep)
        pending_gone = ConversionRequest.objects.create(lead=loser, requested_by=rep)
        decided = ConversionRequest.objects.create(
            lead=loser, requested_by=rep, decision=ConversionRequest.Decision.REJECTED
        )
        before = world()

        entry = record_merge(
            actor=admin, survivor=survivor, loser=loser, choices={"status": "loser"}
        )
        kept = Lead.objects.get(pk=survivor.pk)
        assert kept.status == Lead.Status.CONVERTED and kept.converted_account_id == account.pk
        assert kept.converted_at is not None and kept.company == "Converted Co"
        requests = set(kept.conversion_requests.values_list("pk", flat=True))
        # Only one request may be pending: the loser's twin is removed (and kept for undo).
        assert requests == {pending_kept.pk, decided.pk}
        assert [r["pk"] for r in entry.changes["removed"]] == [pending_gone.pk]

        record_merge_undo(actor=admin, entry=entry)
        assert world() == before


def test_a_rep_cannot_merge_away_a_record_they_cannot_delete(alpha, people):
    admin, rep = people
    with tenant_context(alpha):
        mine = Lead.objects.create(owner=rep, last_name="Zhao", email="zhao@x.cn")
        also_mine = Lead.objects.create(owner=rep, last_name="Zhao", email="zhao@x.cn")
        theirs = Lead.objects.create(owner=admin, last_name="Zhao", email="zhao@x.cn")
        before = world()
        with pytest.raises(PermissionDenied, match="deleting"):
            record_merge(actor=rep, survivor=mine, loser=also_mine, choices={})
        with pytest.raises(PermissionDenied, match="editing"):
            record_merge(actor=rep, survivor=theirs, loser=mine, choices={})
        assert world() == before
        assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.MERGE).exists()


def test_bad_choices_name_the_field_and_save_nothing(alpha, people, accounts):
    admin, _ = people
    survivor, loser = accounts["survivor"], accounts["loser"]
    with tenant_context(alpha):
        before = world()
        with pytest.raises(ValidationError) as bad:
            record_merge(
                actor=admin,
                survivor=survivor,
                loser=loser,
                choices={"owner": "loser", "name": "both"},
            )
        assert set(bad.value.message_dict) == {"owner", "name"}
        # The loser's parent is a branch of the survivor: keeping it would make a loop.
        Account.objects.filter(pk=accounts["holding"].pk).update(parent=survivor)
        Account.objects.filter(pk=survivor.pk).update(parent=None)
        before = world()
        with pytest.raises(ValidationError) as loop:
            record_merge(actor=admin, survivor=survivor, loser=loser, choices={"parent": "loser"})
        assert list(loop.value.message_dict) == ["parent"]
        assert world() == before
        with pytest.raises(MergeError):
            record_merge(actor=admin, survivor=survivor, loser=survivor, choices={})
        with pytest.raises(MergeError):
            record_merge(actor=admin, survivor=survivor, loser=accounts["contact"], choices={})


def test_undo_is_refused_when_it_cannot_be_done_safely(alpha, people):
    admin, _ = people
    with tenant_context(alpha):

        def merged_pair(name: str) -> tuple[Account, Account, AuditEntry]:
            survivor = Account.objects.create(owner=admin, name=name)
            loser = Account.objects.create(owner=admin, name=name + " Ltd")
            entry = record_merge(actor=admin, survivor=survivor, loser=loser, choices={})
            return survivor, loser, entry

        _, _, done = merged_pair("Twice")
        record_merge_undo(actor=admin, entry=done)
        with pytest.raises(MergeError, match="already undone"):
            record_merge_undo(actor=admin, entry=done)

        survivor, _, orphan = merged_pair("Deleted since")
        survivor.delete()
        with pytest.raises(MergeError, match="deleted since"):
            record_merge_undo(actor=admin, entry=orphan)

        _, loser, taken = merged_pair("Id taken")
        Account.objects.create(pk=loser.pk, owner=admin, name="Imported with that id")
        with pytest.raises(MergeError, match="id"):
            record_merge_undo(actor=admin, entry=taken)
        assert Account.objects.get(pk=loser.pk).name == "Imported with that id"

        note = AuditEntry.objects.get(kind=AuditEntry.Kind.MERGE, object_id=loser.pk)
        with pytest.raises(MergeError, match="not a merge"):
            record_merge_undo(actor=admin, entry=note)
        assert AuditEntry.objects.filter(kind=AuditEntry.Kind.UNMERGE).count() == 2  # the one undo


def test_undo_needs_the_right_to_edit_the_kept_record(alpha, people):
    admin, rep = people
    with tenant_context(alpha):
        survivor = Account.objects.create(owner=admin, name="Admin's")
        loser = Account.objects.create(owner=admin, name="Admin's too")
        entry = record_merge(actor=admin, survivor=survivor, loser=loser, choices={})
        with pytest.raises(PermissionDenied):
            record_merge_undo(actor=rep, entry=entry)
        assert not Account.objects.filter(pk=loser.pk).exists()


def test_default_choices_prefer_the_survivors_values(alpha, people):
    admin, _ = people
    with tenant_context(alpha):
        a = Contact(owner=admin, first_name="", last_name="Li", email="a@x.cn", do_not_call=False)
        b = Contact(owner=admin, first_name="Na", last_name="Lee", email="", do_not_call=True)
        choices = merge.default_choices(a, b)
        assert choices["last_name"] == "survivor" and choices["email"] == "survivor"
        assert choices["first_name"] == "loser" and choices["do_not_call"] == "loser"
