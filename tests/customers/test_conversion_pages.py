"""Lead conversion in the browser's pages: the convert screen (new or existing account and
contact, required custom fields the lead cannot fill), asking for approval, managers deciding;
and the service's handling of custom values."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.customers import services
from core_crm.customers.conversion import (
    carried_values,
    conversion_decide,
    conversion_request,
    lead_convert,
)
from core_crm.customers.models import Account, Contact, ConversionRequest, Lead
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from ..customfields.helpers import client_for, make_field


def unmasked(response) -> str:  # type: ignore[no-untyped-def]
    """The page without what differs by request only: the CSRF token (masked afresh on every
    response) and the language switch's return address."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value=)"[^"]+"', r"\1", response.content.decode())
    return re.sub(r'(name="next"[^>]*value=)"[^"]+"', r"\1", html)


def _person(email: str, role: Role, name: str) -> User:
    return User.objects.create_user(email=email, password="x" * 12, full_name=name, role=role)


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        roles = {r.key: r for r in Role.objects.all()}
        rep = _person("rep@convpage.test", roles["sales_rep"], "Rep")
        manager = _person("mgr@convpage.test", roles["sales_manager"], "Manager")
        outsider = _person("out@convpage.test", roles["sales_manager"], "Other manager")
        viewer = _person("view@convpage.test", roles["read_only"], "Viewer")
        Team.objects.create(name="Convert East").members.add(rep, manager)
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
            },
        )
    return {"rep": rep, "manager": manager, "outsider": outsider, "viewer": viewer, "lead": lead}


def test_convert_page_creates_account_and_contact(alpha, people):
    lead = people["lead"]
    client = client_for(alpha, people["rep"].email)
    page = client.get(f"/leads/{lead.pk}/convert/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Create a new account “Gao Machinery”" in html
    assert "No existing account looks like this lead" in html
    done = client.post(f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new"})
    with tenant_context(alpha):
        lead.refresh_from_db()
        assert lead.status == Lead.Status.CONVERTED
        account, contact = lead.converted_account, lead.converted_contact
        assert account.name == "Gao Machinery" and contact.account == account
    assert done.status_code == 302 and done["Location"] == f"/customers/{account.pk}/"
    again = client.get(f"/leads/{lead.pk}/convert/", follow=True)
    assert "This lead was already converted." in again.content.decode()


def test_existing_account_and_contact_offered_only_when_visible(alpha, people):
    lead, rep = people["lead"], people["rep"]
    with tenant_context(alpha):
        mine = Account.objects.create(owner=rep, name="Gao Machinery", city="Suzhou")
        hidden = Account.objects.create(owner=people["outsider"], name="Gao Machinery Ltd")
        person = Contact.objects.create(
            owner=rep, first_name="Jun", last_name="Gao", email="gao@machinery.example"
        )
    client = client_for(alpha, rep.email)
    html = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert f'value="{mine.pk}"' in html and "Gao Machinery · Suzhou" in html
    assert "Gao Machinery Ltd" not in html  # another team's account is not even named
    assert f'value="{person.pk}"' in html
    # An id that was not offered (the hidden account) is refused, nothing changes.
    refused = client.post(f"/leads/{lead.pk}/convert/", {"account": hidden.pk, "contact": "new"})
    assert refused.status_code == 400
    with tenant_context(alpha):
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
    client.post(f"/leads/{lead.pk}/convert/", {"account": mine.pk, "contact": person.pk})
    with tenant_context(alpha):
        lead.refresh_from_db()
        assert (lead.converted_account, lead.converted_contact) == (mine, person)
        assert Contact.objects.get(pk=person.pk).account == mine
        assert Account.objects.filter(name__startswith="Gao").count() == 2


def test_required_custom_fields_are_carried_or_asked(alpha, people):
    lead, rep = people["lead"], people["rep"]
    make_field(alpha, "account", "region", "text", required=True)
    make_field(alpha, "lead", "region", "text")
    make_field(alpha, "contact", "badge", "number", required=True)
    with tenant_context(alpha):
        services.record_update(
            lead, actor=rep, channel="web", data={"custom_fields": {"region": "East China"}}
        )
        lead.refresh_from_db()
        assert carried_values(lead, "account") == {"region": "East China"}
        assert carried_values(lead, "contact") == {}
    client = client_for(alpha, rep.email)
    html = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert 'data-testid="account-fields"' not in html  # the lead's region is carried over
    assert 'data-testid="contact-fields"' in html and 'name="contact_cf_badge"' in html
    missing = client.post(f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new"})
    assert missing.status_code == 400
    assert 'id="contact_cf_badge-error"' in missing.content.decode()
    bad = client.post(
        f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new", "contact_cf_badge": "x"}
    )
    assert bad.status_code == 400
    with tenant_context(alpha):
        assert not Account.objects.filter(name="Gao Machinery").exists()  # nothing half-saved
    client.post(
        f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new", "contact_cf_badge": "7"}
    )
    with tenant_context(alpha):
        lead.refresh_from_db()
        assert lead.converted_account.custom_fields == {"region": "East China"}
        assert lead.converted_contact.custom_fields == {"badge": 7}


def test_service_names_the_side_of_a_missing_required_value(alpha, people):
    make_field(alpha, "account", "tier", "text", required=True)
    with tenant_context(alpha):
        with pytest.raises(ValidationError) as exc:
            lead_convert(people["lead"], actor=people["rep"], channel="api")
        assert list(exc.value.message_dict) == ["account.custom_fields.tier"]
        assert Lead.objects.get(pk=people["lead"].pk).status == Lead.Status.NEW
        assert not Account.objects.exists() and not Contact.objects.exists()
        result = lead_convert(
            people["lead"], actor=people["rep"], channel="api", account_values={"tier": "Gold"}
        )
        assert result.account.custom_fields == {"tier": "Gold"}


def test_approval_flow_through_the_pages(alpha, people):
    lead, rep, manager = people["lead"], people["rep"], people["manager"]
    with tenant_context(alpha):
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
    rep_client = client_for(alpha, rep.email)
    page = rep_client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert 'data-testid="request-form"' in page and 'data-testid="convert-form"' not in page
    # Posting the convert form anyway does not convert: it is taken as a request.
    rep_client.post(f"/leads/{lead.pk}/convert/", {"comment": "Budget confirmed"})
    with tenant_context(alpha):
        request = ConversionRequest.objects.get(lead=lead)
        assert request.decision == "pending" and request.request_comment == "Budget confirmed"
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
    waiting = rep_client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert 'data-testid="pending-request"' in waiting

    # The rep cannot decide their own request; another team's manager does not see it.
    assert (
        rep_client.post(
            f"/leads/conversion-requests/{request.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 404
    )
    outsider = client_for(alpha, people["outsider"].email)
    listing = outsider.get("/leads/conversion-requests/").content.decode()
    assert 'data-testid="nothing-to-decide"' in listing and "Gao" not in listing
    assert (
        outsider.post(
            f"/leads/conversion-requests/{request.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 404
    )

    mgr = client_for(alpha, manager.email)
    listing = mgr.get("/leads/conversion-requests/").content.decode()
    assert f'data-testid="request-{request.pk}"' in listing and "Budget confirmed" in listing
    no_reason = mgr.post(
        f"/leads/conversion-requests/{request.pk}/decide/", {"decision": "reject"}, follow=True
    )
    assert "Say why the conversion is rejected." in no_reason.content.decode()
    mgr.post(
        f"/leads/conversion-requests/{request.pk}/decide/",
        {"decision": "reject", "comment": "No budget owner yet"},
    )
    rejected = rep_client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert "No budget owner yet" in rejected and 'data-testid="request-form"' in rejected

    rep_client.post(f"/leads/{lead.pk}/convert/", {"comment": "Owner found"})
    with tenant_context(alpha):
        second = ConversionRequest.objects.get(lead=lead, decision="pending")
    approved = mgr.post(
        f"/leads/conversion-requests/{second.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert "Approved and converted" in approved.content.decode()
    with tenant_context(alpha):
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONVERTED


def test_approval_of_a_lead_that_lacks_a_required_value_leaves_it_to_the_owner(alpha, people):
    lead, rep, manager = people["lead"], people["rep"], people["manager"]
    make_field(alpha, "account", "tier", "text", required=True)
    with tenant_context(alpha):
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
        request = conversion_request(lead, actor=rep)
        assert conversion_decide(request, actor=manager, approve=True) is None
        assert ConversionRequest.objects.get(pk=request.pk).decision == "approved"
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
        assert not Account.objects.exists()
    client = client_for(alpha, rep.email)
    page = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert 'data-testid="convert-form"' in page and 'name="account_cf_tier"' in page
    client.post(
        f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new", "account_cf_tier": "B"}
    )
    with tenant_context(alpha):
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONVERTED


def test_convert_page_security(alpha, beta, people):
    lead = people["lead"]
    with tenant_context(beta):
        admin_b = User.objects.filter(is_workspace_admin=True).get()
        # An id that exists only in the other workspace.
        other = Lead.objects.create(pk=lead.pk + 100000, owner=admin_b, last_name="Beta lead")
    # Another rep's lead in the same workspace, and the other workspace's id: like a missing id.
    with tenant_context(alpha):
        colleague = _person("colleague@convpage.test", Role.objects.get(key="sales_rep"), "Col")
    colleague_client = client_for(alpha, colleague.email)
    missing = colleague_client.get("/leads/999999/convert/")
    for response in (
        colleague_client.get(f"/leads/{lead.pk}/convert/"),
        colleague_client.post(f"/leads/{lead.pk}/convert/", {"account": "new", "contact": "new"}),
        colleague_client.get(f"/leads/{other.pk}/convert/"),
    ):
        assert response.status_code == 404 and unmasked(response) == unmasked(missing)
    # Alpha's admin sees every alpha lead, and still nothing of beta's.
    with tenant_context(alpha):
        alpha_admin = User.objects.filter(is_workspace_admin=True).order_by("pk").first()
        assert alpha_admin is not None
    admin_client = client_for(alpha, alpha_admin.email)
    admin_missing = admin_client.get("/leads/999999/convert/")
    beta_only = admin_client.get(f"/leads/{other.pk}/convert/")
    assert beta_only.status_code == 404 and unmasked(beta_only) == unmasked(admin_missing)
    viewer = client_for(alpha, people["viewer"].email)
    refused = viewer.get(f"/leads/{lead.pk}/convert/")
    assert refused.status_code == 403 and "does not allow editing" in refused.content.decode()
    with tenant_context(alpha):
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
    with tenant_context(beta):
        assert Lead.objects.get(pk=other.pk).status == Lead.Status.NEW


def test_requests_page_queries_do_not_grow_with_requests(alpha, people):
    rep, manager = people["rep"], people["manager"]
    mgr = client_for(alpha, manager.email)

    def add(n: int) -> None:
        with tenant_context(alpha):
            for i in range(n):
                lead = Lead.objects.create(owner=rep, last_name=f"Queued {i}-{n}")
                ConversionRequest.objects.create(lead=lead, requested_by=rep)

    add(1)
    with CaptureQueriesContext(connection) as few:
        assert mgr.get("/leads/conversion-requests/").status_code == 200
    add(15)
    with CaptureQueriesContext(connection) as many:
        html = mgr.get("/leads/conversion-requests/").content.decode()
    assert html.count('data-testid="request-') == 16
    assert len(many) == len(few)


def test_convert_page_in_chinese(alpha, people):
    client = client_for(alpha, people["rep"].email)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    html = client.get(f"/leads/{people['lead'].pk}/convert/").content.decode()
    assert "新建客户“Gao Machinery”" in html and "转化" in html


def test_lead_page_and_list_lead_to_conversion(alpha, people):
    lead, rep, manager = people["lead"], people["rep"], people["manager"]
    rep_client = client_for(alpha, rep.email)
    detail = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'href="/leads/{lead.pk}/convert/"' in detail
    viewer = client_for(alpha, people["viewer"].email).get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-testid="convert-link"' not in viewer
    # A rep who never asked sees no requests link; a manager sees how many wait.
    assert (
        'data-testid="conversion-requests-link"' not in rep_client.get("/leads/").content.decode()
    )
    with tenant_context(alpha):
        conversion_request(lead, actor=rep, comment="Ready")
    assert 'data-testid="conversion-requests-link"' in rep_client.get("/leads/").content.decode()
    listing = client_for(alpha, manager.email).get("/leads/").content.decode()
    link = listing.split('data-testid="conversion-requests-link"')[1].split("</a>")[0]
    assert ">1</span>" in link
    with tenant_context(alpha):
        result = lead_convert(lead, actor=manager, channel="web")
    converted = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-testid="convert-link"' not in converted
    banner = converted.split('data-testid="converted-to"')[1].split("</p>")[0]
    assert f'href="/customers/{result.account.pk}/"' in banner
    assert f'href="/contacts/{result.contact.pk}/"' in banner
