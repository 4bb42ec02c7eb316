"""Customer services: permission checks, invariants with field-named errors, audit, history."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.audit.selectors import history_of
from core_crm.customers import services
from core_crm.customers.models import Account, Contact, Employment, Lead, PicklistValue
from core_crm.customers.selectors import access_account, account_list
from core_crm.users.models import User

from ..conftest import ALPHA, BETA


def test_create_sets_owner_and_audits_every_given_field(alpha, rep):
    with tenant_context(alpha):
        industry = PicklistValue.objects.get(picklist="industry", code="manufacturing")
        account = services.record_create(
            Account,
            actor=rep,
            channel="web",
            data={
                "name": "Shanghai Valves",
                "industry": industry,
                "city": "上海",
                "owner": User.objects.get(pk=1),
            },  # owner in input is ignored
        )
        assert account.owner == rep
        entry = history_of(account).get()
        assert entry.kind == AuditEntry.Kind.CREATE
        assert entry.actor == rep
        assert entry.channel == "web"
        assert entry.changes["name"] == [None, "Shanghai Valves"]
        assert entry.changes["industry"] == [None, industry.pk]
        assert entry.changes["city"] == [None, "上海"]


def test_update_audits_old_and_new_values(alpha, rep):
    with tenant_context(alpha):
        account = services.record_create(
            Account, actor=rep, channel="web", data={"name": "Old name"}
        )
        services.record_update(
            account, actor=rep, channel="api", data={"name": "New name", "value_class": "A"}
        )
        entry = history_of(account).first()
        assert entry.kind == AuditEntry.Kind.UPDATE
        assert entry.channel == "api"
        assert entry.changes == {"name": ["Old name", "New name"], "value_class": ["", "A"]}


def test_rep_cannot_edit_or_delete_someone_elses_record(alpha, admin, rep):
    with tenant_context(alpha):
        theirs = services.record_create(
            Account, actor=admin, channel="web", data={"name": "Admin's account"}
        )
        with pytest.raises(PermissionDenied):
            services.record_update(theirs, actor=rep, channel="web", data={"name": "Hijacked"})
        with pytest.raises(PermissionDenied):
            services.record_delete(theirs, actor=rep, channel="web")
        assert Account.objects.get(pk=theirs.pk).name == "Admin's account"


def test_errors_name_their_field_and_nothing_is_saved(alpha, admin):
    with tenant_context(alpha):
        wrong_list = PicklistValue.objects.get(picklist="intention", code="high")
        before = Account.objects.count()
        with pytest.raises(ValidationError) as exc:
            services.record_create(
                Account,
                actor=admin,
                channel="api",
                data={"name": "", "industry": wrong_list, "website": "not a url", "email": "nope"},
            )
        errors = exc.value.message_dict
        assert set(errors) == {"name", "industry", "website", "email"}
        assert "is not a value of this list" in errors["industry"][0]
        assert Account.objects.count() == before
        assert not AuditEntry.objects.filter(kind="create", object_repr="").exists()


def test_account_hierarchy_refuses_cycles(alpha, admin):
    with tenant_context(alpha):
        group = services.record_create(Account, actor=admin, channel="web", data={"name": "Group"})
        branch = services.record_create(
            Account, actor=admin, channel="web", data={"name": "Branch", "parent": group}
        )
        with pytest.raises(ValidationError) as exc:
            services.record_update(group, actor=admin, channel="web", data={"parent": branch})
        assert "own parent" in exc.value.message_dict["parent"][0]
        with pytest.raises(ValidationError):
            services.record_update(group, actor=admin, channel="web", data={"parent": group})


def test_disqualified_lead_needs_a_reason(alpha, admin):
    with tenant_context(alpha):
        lead = services.record_create(
            Lead, actor=admin, channel="web", data={"last_name": "Zhou", "company": "Zhou Tech"}
        )
        with pytest.raises(ValidationError) as exc:
            services.record_update(
                lead, actor=admin, channel="web", data={"status": "disqualified"}
            )
        assert "disqualify_reason" in exc.value.message_dict
        reason = PicklistValue.objects.get(picklist="disqualify_reason", code="no-budget")
        services.record_update(
            lead,
            actor=admin,
            channel="web",
            data={"status": "disqualified", "disqualify_reason": reason},
        )
        assert Lead.objects.get(pk=lead.pk).status == "disqualified"


def test_contact_moving_company_keeps_the_old_employment(alpha, admin):
    with tenant_context(alpha):
        first = services.record_create(
            Account, actor=admin, channel="web", data={"name": "First Co"}
        )
        second = services.record_create(
            Account, actor=admin, channel="web", data={"name": "Second Co"}
        )
        contact = services.record_create(
            Contact,
            actor=admin,
            channel="web",
            data={"first_name": "Mei", "last_name": "Lin", "account": first, "title": "Buyer"},
        )
        services.record_update(
            contact,
            actor=admin,
            channel="web",
            data={"account": second, "title": "Head of purchasing"},
        )
        jobs = list(Employment.objects.filter(contact=contact).order_by("pk"))
        assert [(j.account_name, j.title, j.ended_at is None) for j in jobs] == [
            ("First Co", "Buyer", False),
            ("Second Co", "Head of purchasing", True),
        ]


def test_delete_keeps_the_data_in_the_audit_entry(alpha, admin):
    with tenant_context(alpha):
        account = services.record_create(
            Account, actor=admin, channel="web", data={"name": "Gone Ltd", "city": "Ningbo"}
        )
        pk = account.pk
        services.record_delete(account, actor=admin, channel="web")
        assert not Account.objects.filter(pk=pk).exists()
        entry = AuditEntry.objects.get(kind="delete", object_id=pk)
        assert entry.changes["name"] == "Gone Ltd"
        assert entry.changes["city"] == "Ningbo"


def test_picklist_values_in_use_cannot_be_deleted(alpha, admin):
    from django.db.models import ProtectedError

    with tenant_context(alpha):
        value = PicklistValue.objects.get(picklist="source", code="trade-fair")
        services.record_create(
            Lead, actor=admin, channel="web", data={"last_name": "Fair", "source": value}
        )
        with pytest.raises(ProtectedError):
            value.delete()


def test_same_primary_key_in_two_tenants_reads_each_tenants_own_row(alpha, beta):
    shared_pk = 424242
    for tenant, spec in ((alpha, ALPHA), (beta, BETA)):
        with tenant_context(tenant):
            admin = User.objects.get(email=spec.admin_email)
            Account.objects.create(pk=shared_pk, owner=admin, name=f"{spec.name} customer")
    for tenant, spec in ((alpha, ALPHA), (beta, BETA)):
        with tenant_context(tenant):
            admin = User.objects.get(email=spec.admin_email)
            assert access_account(admin, shared_pk).name == f"{spec.name} customer"
            names = [a.name for a in account_list(admin).filter(pk=shared_pk)]
            assert names == [f"{spec.name} customer"]


def test_person_names_follow_their_script():
    from core_crm.customers.models import person_name

    assert person_name("Na", "Li") == "Na Li"
    assert person_name("娜", "李") == "李娜"
    assert person_name("", "Gao") == "Gao"


def test_retired_values_stay_where_they_are_but_cannot_be_chosen_anew(alpha, admin):
    with tenant_context(alpha):
        fair = PicklistValue.objects.get(picklist="source", code="trade-fair")
        lead = services.record_create(
            Lead, actor=admin, channel="web", data={"last_name": "Old source", "source": fair}
        )
        PicklistValue.objects.filter(pk=fair.pk).update(is_active=False)
        fair.refresh_from_db()

        # Editing another field keeps the retired value.
        services.record_update(lead, actor=admin, channel="web", data={"score": 40, "source": fair})
        assert Lead.objects.get(pk=lead.pk).source == fair
        # Choosing it anew is refused, on create and on update.
        with pytest.raises(ValidationError) as exc:
            services.record_create(
                Lead, actor=admin, channel="api", data={"last_name": "New", "source": fair}
            )
        assert "is retired" in exc.value.message_dict["source"][0]
        other = services.record_create(
            Lead, actor=admin, channel="web", data={"last_name": "Other"}
        )
        with pytest.raises(ValidationError):
            services.record_update(other, actor=admin, channel="web", data={"source": fair})


def test_bulk_services_act_only_where_the_role_or_a_share_allows(alpha, admin, rep):
    from django.contrib.contenttypes.models import ContentType

    from core_crm.access.models import RecordShare

    with tenant_context(alpha):
        own = Account.objects.create(owner=rep, name="Own")
        read_share = Account.objects.create(owner=admin, name="Shared to read")
        edit_share = Account.objects.create(owner=admin, name="Shared to edit")
        hidden = Account.objects.create(owner=admin, name="Hidden")
        account_type = ContentType.objects.get_for_model(Account)
        RecordShare.objects.create(content_type=account_type, object_id=read_share.pk, user=rep)
        RecordShare.objects.create(
            content_type=account_type, object_id=edit_share.pk, user=rep, can_edit=True
        )
        pks = [own.pk, read_share.pk, edit_share.pk, hidden.pk]
        result = services.records_add_tag(Account, actor=rep, pks=pks, tag="Fair", channel="api")
        assert (result.done, result.skipped) == (2, 2)
        tagged = set(Account.objects.filter(tags__name="Fair").values_list("name", flat=True))
        assert tagged == {"Own", "Shared to edit"}
        entry = history_of(edit_share).first()
        assert entry.kind == AuditEntry.Kind.UPDATE and entry.channel == "api"
        assert entry.changes == {"tags": [[], ["Fair"]]}
        # A sales rep deletes nothing, whatever the shares.
        result = services.records_delete(Account, actor=rep, pks=pks, channel="web")
        assert (result.done, result.skipped) == (0, 4)
        assert Account.objects.filter(pk__in=pks).count() == 4
        result = services.records_delete(Account, actor=admin, pks=pks, channel="web")
        assert result.done == 4 and not Account.objects.filter(pk__in=pks).exists()
        deleted = AuditEntry.objects.filter(kind=AuditEntry.Kind.DELETE, object_id__in=pks)
        assert {e.changes["name"] for e in deleted} == {
            "Own",
            "Shared to read",
            "Shared to edit",
            "Hidden",
        }
