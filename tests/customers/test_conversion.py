"""Lead conversion, with and without a manager's approval."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.access.policy import PermissionDenied
from core_crm.customers import services
from core_crm.customers.conversion import (
    ConversionError,
    conversion_decide,
    conversion_request,
    lead_convert,
)
from core_crm.customers.models import Account, Contact, ConversionRequest, Employment, Lead
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        roles = {r.key: r for r in Role.objects.all()}
        team = Team.objects.create(name="East")
        rep = User.objects.create_user(
            email="rep@conv.test", password="x" * 12, full_name="Rep", role=roles["sales_rep"]
        )
        manager = User.objects.create_user(
            email="mgr@conv.test",
            password="x" * 12,
            full_name="Manager",
            role=roles["sales_manager"],
        )
        outsider = User.objects.create_user(
            email="out@conv.test",
            password="x" * 12,
            full_name="Other manager",
            role=roles["sales_manager"],
        )
        team.members.add(rep, manager)
        lead = services.record_create(
            Lead,
            actor=rep,
            channel="web",
            data={
                "first_name": "Jun",
                "last_name": "Gao",
                "company": "Gao Machinery",
                "email": "gao@machinery.example",
                "phone": "+86 21 5555 0101",
                "city": "Suzhou",
                "title": "Plant manager",
            },
        )
        yield {"rep": rep, "manager": manager, "outsider": outsider, "lead": lead}


def test_conversion_creates_account_and_contact_and_links_back(alpha, people):
    with tenant_context(alpha):
        result = lead_convert(people["lead"], actor=people["rep"], channel="web")
        lead = Lead.objects.get(pk=people["lead"].pk)
        assert lead.status == "converted" and lead.converted_at is not None
        assert lead.converted_account == result.account
        assert lead.converted_contact == result.contact
        assert result.account.name == "Gao Machinery"
        assert result.account.city == "Suzhou"
        assert result.account.owner == people["rep"]
        assert result.contact.account == result.account
        assert (result.contact.email, result.contact.title) == (
            "gao@machinery.example",
            "Plant manager",
        )
        assert Employment.objects.filter(contact=result.contact, account=result.account).exists()
        with pytest.raises(ConversionError, match="already converted"):
            lead_convert(lead, actor=people["rep"], channel="web")


def test_conversion_can_link_an_existing_account_and_contact(alpha, people):
    with tenant_context(alpha):
        existing = services.record_create(
            Account, actor=people["rep"], channel="web", data={"name": "Gao Group"}
        )
        contact = services.record_create(
            Contact, actor=people["rep"], channel="web", data={"last_name": "Gao"}
        )
        accounts_before = Account.objects.count()
        result = lead_convert(
            people["lead"], actor=people["rep"], channel="web", account=existing, contact=contact
        )
        assert Account.objects.count() == accounts_before
        assert result.contact.pk == contact.pk
        assert Contact.objects.get(pk=contact.pk).account == existing


def test_failed_conversion_leaves_nothing_half_done(alpha, people, monkeypatch):
    with tenant_context(alpha):
        accounts, contacts = Account.objects.count(), Contact.objects.count()
        real = services.record_create

        def failing(model, **kwargs):
            if model is Contact:
                raise RuntimeError("contact step failed")
            return real(model, **kwargs)

        monkeypatch.setattr(services, "record_create", failing)
        with pytest.raises(RuntimeError):
            lead_convert(people["lead"], actor=people["rep"], channel="web")
        assert (Account.objects.count(), Contact.objects.count()) == (accounts, contacts)
        assert Lead.objects.get(pk=people["lead"].pk).status == "new"


def test_disqualified_leads_cannot_be_converted(alpha, people):
    from core_crm.customers.models import PicklistValue

    with tenant_context(alpha):
        reason = PicklistValue.objects.get(picklist="disqualify_reason", code="spam")
        lead = services.record_update(
            people["lead"],
            actor=people["rep"],
            channel="web",
            data={"status": "disqualified", "disqualify_reason": reason},
        )
        with pytest.raises(ConversionError, match="Requalify"):
            lead_convert(lead, actor=people["rep"], channel="web")


def test_with_approval_required_a_rep_requests_and_a_manager_approves(alpha, people):
    with tenant_context(alpha):
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
        rep, manager, lead = people["rep"], people["manager"], people["lead"]

        with pytest.raises(PermissionDenied, match="approval"):
            lead_convert(lead, actor=rep, channel="web")
        request = conversion_request(lead, actor=rep, comment="Budget confirmed")
        with pytest.raises(ConversionError, match="already waiting"):
            conversion_request(lead, actor=rep)
        with pytest.raises(PermissionDenied):
            conversion_decide(request, actor=rep, approve=True)  # not one's own
        with pytest.raises(PermissionDenied):
            conversion_decide(request, actor=people["outsider"], approve=True)  # other team

        result = conversion_decide(request, actor=manager, approve=True, comment="Go")
        assert result is not None and result.lead.status == "converted"
        request.refresh_from_db()
        assert (request.decision, request.decided_by) == ("approved", manager)


def test_a_rejection_needs_a_comment_and_keeps_the_lead(alpha, people):
    with tenant_context(alpha):
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
        request = conversion_request(people["lead"], actor=people["rep"])
        with pytest.raises(ConversionError, match="Say why"):
            conversion_decide(request, actor=people["manager"], approve=False)
        conversion_decide(
            request, actor=people["manager"], approve=False, comment="Not a real buyer yet"
        )
        assert Lead.objects.get(pk=people["lead"].pk).status == "new"
        assert ConversionRequest.objects.get(pk=request.pk).decision == "rejected"
        # Rejected: the rep still cannot convert on their own.
        with pytest.raises(PermissionDenied):
            lead_convert(people["lead"], actor=people["rep"], channel="web")


def test_a_lead_cannot_be_linked_to_an_account_its_converter_cannot_see(alpha, people):
    with tenant_context(alpha):
        hidden = Account.objects.create(owner=people["outsider"], name="Other team's")
        with pytest.raises(PermissionDenied, match="cannot see"):
            lead_convert(people["lead"], actor=people["rep"], channel="web", account=hidden)
        assert Lead.objects.get(pk=people["lead"].pk).status == "new"
