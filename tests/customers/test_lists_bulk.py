"""Bulk actions on list pages: assign owner, add tag, delete with confirmation; per-record
permission, audit entries, select all matching, other owners' and workspaces' ids."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from core_crm.access.models import RecordShare, Team
from core_crm.audit.models import AuditEntry
from core_crm.customers import services
from core_crm.customers.models import Account, Contact, Lead, Tag
from core_crm.users.models import User

from ..conftest import BETA
from ..customfields.helpers import admin_of, client_for, user_with_role


@pytest.fixture
def people(alpha):
    admin = admin_of(alpha)
    marketer = user_with_role(alpha, "marketer@bulk.test", "marketing")  # reads all, edits own
    colleague = user_with_role(alpha, "colleague@bulk.test", "sales_rep")
    return admin, marketer, colleague


def make_accounts(owner: User, *names: str) -> list[Account]:
    return [Account.objects.create(owner=owner, name=name) for name in names]


def entries(kind: str, model=Account) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(
        AuditEntry.objects.filter(
            kind=kind, content_type=ContentType.objects.get_for_model(model)
        ).order_by("object_id")
    )


def test_assign_owner_asks_then_moves_only_what_the_role_allows(alpha, people):
    admin, _marketer, colleague = people
    manager = user_with_role(alpha, "manager@bulk.test", "sales_manager")  # edits the team's
    outsider = user_with_role(alpha, "outsider@bulk.test", "sales_rep")
    with tenant_context(alpha):
        Team.objects.create(name="Bulk team").members.add(manager, colleague)
        mine = make_accounts(manager, "Mine 1", "Mine 2")
        (theirs,) = make_accounts(admin, "Admin's")
        RecordShare.objects.create(  # the manager reads it but may not edit it
            content_type=ContentType.objects.get_for_model(Account),
            object_id=theirs.pk,
            user=manager,
        )
    client = client_for(alpha, manager.email)
    ids = [a.pk for a in (*mine, theirs)]
    asked = client.post("/customers/bulk/", {"action": "assign", "ids": ids, "query": "q=M&page=2"})
    assert asked.status_code == 200
    page = asked.content.decode()
    summary = page.split('data-testid="bulk-summary"')[1].split("</div>")[0]
    assert "2 records will change." in summary
    assert "1 selected record will be skipped" in summary
    # The choice offers the people the manager may give records to: the team, not others.
    assert f'<option value="{colleague.pk}">' in page
    assert f'<option value="{outsider.pk}">' not in page
    with tenant_context(alpha):
        assert not entries(AuditEntry.Kind.REASSIGN)
    done = client.post(
        "/customers/bulk/",
        {
            "action": "assign",
            "ids": ids,
            "query": "q=M&page=2",
            "confirm": "1",
            "owner": colleague.pk,
        },
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/customers/?q=M"
    text = done.content.decode()
    assert "2 records now belong to Colleague." in text
    assert "1 record was skipped: your role does not allow this on it." in text
    with tenant_context(alpha):
        owners = dict(Account.objects.filter(pk__in=ids).values_list("name", "owner_id"))
        assert owners == {"Mine 1": colleague.pk, "Mine 2": colleague.pk, "Admin's": admin.pk}
        audit = entries(AuditEntry.Kind.REASSIGN)
        assert [e.object_id for e in audit] == [mine[0].pk, mine[1].pk]
        assert all(
            e.changes == {"owner": [manager.pk, colleague.pk]} and e.actor == manager for e in audit
        )


def test_records_go_only_to_people_whose_records_the_actor_may_edit(alpha, people):
    """One rule for bulk assignment, imports and the API: a person who edits only their own
    records cannot hand them to someone else; a manager can, within the team."""
    _, marketer, colleague = people
    with tenant_context(alpha):
        (account,) = make_accounts(marketer, "Marketer's")
        with pytest.raises(ValidationError) as exc:
            services.records_assign_owner(
                Account, actor=marketer, pks=[account.pk], owner=colleague, channel="web"
            )
        assert exc.value.message_dict == {"owner": ["You cannot give records to Colleague."]}
        assert Account.objects.get(pk=account.pk).owner == marketer
    client = client_for(alpha, marketer.email)
    asked = client.post("/customers/bulk/", {"action": "assign", "ids": [account.pk]})
    page = asked.content.decode()
    assert f'<option value="{marketer.pk}">' in page
    assert f'<option value="{colleague.pk}">' not in page
    refused = client.post(
        "/customers/bulk/",
        {"action": "assign", "ids": [account.pk], "confirm": "1", "owner": colleague.pk},
    )
    assert refused.status_code == 400 and 'id="owner-error"' in refused.content.decode()
    with tenant_context(alpha):
        assert Account.objects.get(pk=account.pk).owner == marketer


def test_only_active_users_can_receive_records(alpha, people):
    admin, _, colleague = people
    with tenant_context(alpha):
        (account,) = make_accounts(admin, "Kept")
        colleague.is_active = False
        colleague.save()
        with pytest.raises(ValidationError) as exc:
            services.records_assign_owner(
                Account, actor=admin, pks=[account.pk], owner=colleague, channel="web"
            )
        assert list(exc.value.message_dict) == ["owner"]
        assert Account.objects.get(pk=account.pk).owner == admin
    client = client_for(alpha, admin.email)
    refused = client.post(
        "/customers/bulk/",
        {"action": "assign", "ids": [account.pk], "confirm": "1", "owner": colleague.pk},
    )
    assert refused.status_code == 400 and 'id="owner-error"' in refused.content.decode()
    with tenant_context(alpha):
        assert Account.objects.get(pk=account.pk).owner == admin


def test_add_a_new_or_existing_tag(alpha, people):
    admin, marketer, _ = people
    with tenant_context(alpha):
        a, b = make_accounts(marketer, "Tagged A", "Tagged B")
        (other,) = make_accounts(admin, "Not editable")
        existing = Tag.objects.create(name="VIP")
        a.tags.add(existing)
    client = client_for(alpha, marketer.email)
    ids = [a.pk, b.pk, other.pk]
    missing = client.post("/customers/bulk/", {"action": "tag", "ids": ids, "confirm": "1"})
    assert (
        missing.status_code == 400 and "Choose a tag or type a new one." in missing.content.decode()
    )
    client.post(
        "/customers/bulk/",
        {"action": "tag", "ids": ids, "confirm": "1", "new_tag": " Canton  Fair 2025 "},
    )
    client.post(
        "/customers/bulk/", {"action": "tag", "ids": ids, "confirm": "1", "tag": existing.pk}
    )
    with tenant_context(alpha):
        fair = Tag.objects.get(name="Canton Fair 2025")
        assert set(a.tags.all()) == {existing, fair}
        assert set(b.tags.all()) == {existing, fair}
        assert not other.tags.exists()
        changes = [e.changes["tags"] for e in entries(AuditEntry.Kind.UPDATE)]
        # a gets the fair tag (it had VIP), b gets both; other gets nothing.
        assert sorted(map(str, changes)) == sorted(
            map(
                str,
                [
                    [["VIP"], ["Canton Fair 2025", "VIP"]],
                    [[], ["Canton Fair 2025"]],
                    [["Canton Fair 2025"], ["Canton Fair 2025", "VIP"]],
                ],
            )
        )
    # Typing an existing name reuses that tag, whatever its case.
    client.post(
        "/customers/bulk/", {"action": "tag", "ids": [b.pk], "confirm": "1", "new_tag": "vip"}
    )
    with tenant_context(alpha):
        assert Tag.objects.filter(name__iexact="vip").count() == 1


def test_delete_confirms_the_count_and_skips_what_the_role_forbids(alpha, people):
    admin, marketer, _ = people
    with tenant_context(alpha):
        own = [Lead.objects.create(owner=marketer, last_name=f"Own {i}") for i in range(2)]
        theirs = Lead.objects.create(owner=admin, last_name="Theirs")  # marketing deletes own leads
    client = client_for(alpha, marketer.email)
    ids = [lead.pk for lead in (*own, theirs)]
    asked = client.post("/leads/bulk/", {"action": "delete", "ids": ids})
    page = asked.content.decode()
    assert "2 records will be deleted." in page and "1 selected record will be skipped" in page
    assert "Delete 2 records" in page
    with tenant_context(alpha):
        assert Lead.objects.filter(pk__in=ids).count() == 3
    done = client.post(
        "/leads/bulk/", {"action": "delete", "ids": ids, "confirm": "1"}, follow=True
    )
    assert "2 records deleted." in done.content.decode()
    with tenant_context(alpha):
        assert list(Lead.objects.filter(pk__in=ids).values_list("last_name", flat=True)) == [
            "Theirs"
        ]
        deleted = entries(AuditEntry.Kind.DELETE, Lead)
        assert [e.object_id for e in deleted] == [own[0].pk, own[1].pk]
        assert deleted[0].changes["last_name"] == "Own 0" and deleted[0].actor == marketer


def test_a_role_without_delete_rights_deletes_nothing(alpha, people):
    _, _, colleague = people
    with tenant_context(alpha):
        (account,) = make_accounts(colleague, "Rep's own")
    client = client_for(alpha, colleague.email)
    asked = client.post("/customers/bulk/", {"action": "delete", "ids": [account.pk]})
    page = asked.content.decode()
    assert "0 records will be deleted." in page and "Delete 0" not in page
    client.post("/customers/bulk/", {"action": "delete", "ids": [account.pk], "confirm": "1"})
    with tenant_context(alpha):
        assert Account.objects.filter(pk=account.pk).exists()


def test_select_all_matching_acts_on_the_whole_filtered_list(alpha, people):
    admin, _, colleague = people
    with tenant_context(alpha):
        make_accounts(admin, *[f"Fair lead {i}" for i in range(30)])
        (outsider,) = make_accounts(admin, "Walk-in")
    client = client_for(alpha, admin.email)
    page = client.get("/customers/", {"q": "fair"}).content.decode()
    assert "Select all 30 matching records" in page
    asked = client.post("/customers/bulk/", {"action": "assign", "all": "1", "query": "q=fair"})
    assert "30 records will change." in asked.content.decode()
    client.post(
        "/customers/bulk/",
        {"action": "assign", "all": "1", "query": "q=fair", "confirm": "1", "owner": colleague.pk},
    )
    with tenant_context(alpha):
        assert Account.objects.filter(owner=colleague, name__startswith="Fair").count() == 30
        assert Account.objects.get(pk=outsider.pk).owner == admin
        assert len(entries(AuditEntry.Kind.REASSIGN)) == 30


def test_ids_of_other_owners_and_workspaces_answer_404_and_change_nothing(alpha, beta, people):
    admin, _, colleague = people
    with tenant_context(alpha):
        (hidden,) = make_accounts(admin, "Admin only")
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        beta_account = Account.objects.create(pk=hidden.pk + 1000, owner=beta_admin, name="Beta")
    client = client_for(alpha, colleague.email)  # a sales rep: reads own records only
    for pk in (hidden.pk, beta_account.pk, 999999):
        for action in ("assign", "tag", "delete"):
            response = client.post(
                "/customers/bulk/", {"action": action, "ids": [pk], "confirm": "1", "new_tag": "x"}
            )
            assert response.status_code == 404, (pk, action)
    with tenant_context(alpha):
        assert Account.objects.get(pk=hidden.pk).owner == admin
        assert not Tag.objects.filter(name="x").exists()
    with tenant_context(beta):
        assert Account.objects.filter(pk=beta_account.pk).exists()


def test_nothing_selected_or_unknown_action_goes_back_with_a_message(alpha, people):
    admin, _, _ = people
    client = client_for(alpha, admin.email)
    back = client.post("/contacts/bulk/", {"action": "delete", "query": "q=x"}, follow=True)
    assert back.redirect_chain[-1][0] == "/contacts/?q=x"
    assert "Select at least one record first." in back.content.decode()
    with tenant_context(alpha):
        contact = Contact.objects.create(owner=admin, last_name="Zhao")
    odd = client.post("/contacts/bulk/", {"action": "explode", "ids": [contact.pk]}, follow=True)
    assert "Choose what to do with the selected records." in odd.content.decode()
    assert client.get("/contacts/bulk/").status_code == 405
