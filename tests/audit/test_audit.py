"""The audit trail: snapshots and diffs as JSON, entries per record, the merge kinds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.audit.selectors import history_of
from core_crm.audit.services import audit, diff, snapshot
from core_crm.customers.models import Account, Contact
from core_crm.users.models import User

from ..conftest import ALPHA


def test_snapshot_is_plain_json_and_diff_names_only_what_changed(alpha):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        account = Account.objects.create(
            owner=admin, name="Jiangsu Steel", annual_revenue=Decimal("10.50")
        )
        contact = Contact(
            owner=admin, last_name="Qian", account=account, birthday=dt.date(1990, 5, 4)
        )
        before = snapshot(contact, ["last_name", "account", "birthday", "owner"])
        assert before == {
            "last_name": "Qian",
            "account": account.pk,
            "birthday": "1990-05-04",
            "owner": admin.pk,
        }
        assert snapshot(account, ["annual_revenue"]) == {"annual_revenue": "10.50"}
        contact.last_name = "Qian Li"
        after = snapshot(contact, ["last_name", "account", "birthday", "owner"])
        assert diff(before, after) == {"last_name": ["Qian", "Qian Li"]}


def test_history_is_per_record_newest_first_and_knows_the_merge_kinds(alpha, beta):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        one = Account.objects.create(owner=admin, name="One")
        two = Account.objects.create(owner=admin, name="Two")
        first = audit(obj=one, kind=AuditEntry.Kind.MERGE, actor=admin, channel="web")
        second = audit(
            obj=one, kind=AuditEntry.Kind.UNMERGE, actor=None, channel="system", changes={"x": 1}
        )
        audit(obj=two, kind=AuditEntry.Kind.UPDATE, actor=admin, channel="web")
        assert list(history_of(one)) == [second, first]
        assert second.get_kind_display() == "Merge undone" and second.actor is None
        assert first.get_kind_display() == "Merged"
        assert first.content_type == ContentType.objects.get_for_model(Account)
    with tenant_context(beta):
        assert not history_of(one).exists()  # the other workspace has its own trail
