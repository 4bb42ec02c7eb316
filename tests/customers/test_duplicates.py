"""Likely duplicates: same email, same phone (last ten digits), similar name at the same place."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.customers.duplicates import find_duplicates, find_duplicates_many, phone_key
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User

from ..conftest import ALPHA


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        rep = User.objects.get(email=ALPHA.rep_email)
        rep.role = Role.objects.get(key="sales_rep")
        rep.save()
        yield admin, rep


def test_phone_key_ignores_formatting_and_country_prefix():
    assert phone_key("+86 138-0013-8000") == phone_key("13800138000") == "3800138000"
    assert phone_key("(010) 6512 3456") == phone_key("+86 10 6512 3456")
    assert phone_key("ext. 123") == ""


def test_email_phone_and_similar_name_in_the_same_city_are_found(alpha, people):
    admin, _ = people
    with tenant_context(alpha):
        valves = Account.objects.create(
            name="Shanghai Valves Co", city="Shanghai", email="Sales@Valves.cn", owner=admin
        )
        pumps = Account.objects.create(name="Ningbo Pumps", phone="+86 574 8888 1234", owner=admin)
        Account.objects.create(name="Shanghai Valves Co", city="Beijing", owner=admin)

        by_email = find_duplicates(
            Account, {"name": "Other", "email": "sales@valves.cn"}, user=admin
        )
        assert [(m.pk, m.reasons) for m in by_email] == [(valves.pk, ["email"])]
        by_phone = find_duplicates(Account, {"name": "X", "phone": "057488881234"}, user=admin)
        assert [(m.pk, m.reasons) for m in by_phone] == [(pumps.pk, ["phone"])]
        by_name = find_duplicates(
            Account, {"name": "Shanghai Valves Co.", "city": "shanghai"}, user=admin
        )
        assert [(m.pk, m.reasons, m.record) for m in by_name] == [(valves.pk, ["name"], valves)]
        assert (
            find_duplicates(
                Account,
                {"name": "Shanghai Valves", "city": "Shanghai"},
                user=admin,
                exclude_pk=valves.pk,
            )
            == []
        )
        assert (
            find_duplicates(
                Account, {"name": "Completely Different", "city": "Shanghai"}, user=admin
            )
            == []
        )


def test_contacts_match_on_mobile_and_on_a_similar_name_at_the_same_account(alpha, people):
    admin, _ = people
    with tenant_context(alpha):
        account = Account.objects.create(name="Acme", owner=admin)
        li = Contact.objects.create(
            first_name="娜", last_name="李", mobile="139 1234 5678", account=account, owner=admin
        )
        Contact.objects.create(first_name="Wei", last_name="Zhang", account=account, owner=admin)
        found = find_duplicates_many(
            Contact,
            [
                {"last_name": "Li", "phone": "+86 139-1234-5678"},
                {"first_name": "Wei", "last_name": "Zhang", "account": account},
                {"first_name": "Wei", "last_name": "Zhang"},  # no account: no place to compare
            ],
            user=admin,
        )
        assert [m.pk for m in found[0]] == [li.pk]
        assert found[1][0].reasons == ["name"]
        assert 2 not in found


def test_a_match_the_user_cannot_read_is_reported_without_the_record(alpha, people):
    admin, rep = people
    with tenant_context(alpha):
        theirs = Lead.objects.create(last_name="Wang", email="wang@example.com", owner=admin)
        mine = Lead.objects.create(last_name="Wang", email="WANG@example.com", owner=rep)
        matches = find_duplicates(Lead, {"last_name": "W", "email": "wang@example.com"}, user=rep)
        assert {m.pk: m.record for m in matches} == {theirs.pk: None, mine.pk: mine}


def test_duplicates_of_many_rows_take_a_fixed_number_of_queries(
    alpha, people, django_assert_max_num_queries
):
    admin, _ = people
    with tenant_context(alpha):
        Account.objects.bulk_create(
            Account(
                name=f"Firm {i}",
                city="Hangzhou",
                email=f"f{i}@x.cn",
                phone=f"1380000{i:04d}",
                owner=admin,
            )
            for i in range(50)
        )
        rows = [
            {
                "name": f"Firm {i}",
                "city": "hangzhou" if i < 50 else "Suzhou",
                "email": f"F{i}@x.cn",
                "phone": f"+86 1380000{i:04d}",
            }
            for i in range(200)
        ]
        with django_assert_max_num_queries(8):  # 4 queries, each after a SET search_path
            found = find_duplicates_many(Account, rows, user=admin)
        assert len(found) == 50
        assert all(sorted(m[0].reasons) == ["email", "name", "phone"] for m in found.values())
