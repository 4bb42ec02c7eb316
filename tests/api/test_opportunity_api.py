"""/api/v1/opportunities/: same rules as the pages, stage moves recorded in the history with
channel api, record security and workspace isolation."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from core_crm.customers.models import Account, Contact, PicklistValue
from core_crm.sales.models import Opportunity, StageChange
from tests.sales.factories import make_opportunity, stage


def test_create_move_and_read_history(alpha, admin_api):
    admin, api = admin_api
    with tenant_context(alpha):
        account = Account.objects.create(name="Xiamen Ports", owner=admin)
        contact = Contact.objects.create(
            first_name="Hui", last_name="Lin", account=account, owner=admin
        )
        proposal, lost = stage("proposal"), stage("lost")
        reason = PicklistValue.objects.get(picklist="lost_reason", code="price")
        buyer = PicklistValue.objects.get(picklist="contact_role", code="decision-maker")
    bad = api.post(
        "/api/v1/opportunities/", {"name": "", "account": account.pk, "close_date": "2026-13-01"}
    )
    assert bad.status_code == 400
    assert {"name", "close_date"} <= set(bad.json())
    made = api.post(
        "/api/v1/opportunities/",
        {
            "name": "Cranes",
            "account": account.pk,
            "amount": "250000.00",
            "close_date": "2026-12-15",
            "primary_contact": contact.pk,
        },
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["probability"] == 10 and body["amount_base"] == "250000.00"
    pk = body["id"]
    moved = api.post(f"/api/v1/opportunities/{pk}/move/", {"stage": proposal.pk})
    assert moved.status_code == 200 and moved.json()["probability"] == 50
    no_reason = api.post(f"/api/v1/opportunities/{pk}/move/", {"stage": lost.pk})
    assert no_reason.status_code == 400 and "lost_reason" in no_reason.json()
    gone = api.post(
        f"/api/v1/opportunities/{pk}/move/", {"stage": lost.pk, "lost_reason": reason.pk}
    )
    assert gone.json()["forecast_category"] == "omitted"
    history = api.get(f"/api/v1/opportunities/{pk}/history/").json()
    assert [h["channel"] for h in history] == ["api", "api", "api"]
    assert [h["to_stage"] for h in history][:2] == [lost.pk, proposal.pk]
    role = api.post(
        f"/api/v1/opportunities/{pk}/contact-roles/",
        {"contact": contact.pk, "role": buyer.pk, "influence": "high"},
    )
    assert role.status_code == 201
    comp = api.post(f"/api/v1/opportunities/{pk}/competitors/", {"name": "Harbor Lift"})
    assert comp.status_code == 201
    detail = api.get(f"/api/v1/opportunities/{pk}/").json()
    assert detail["contact_roles"][0]["influence"] == "high"
    assert detail["competitors"][0]["name"] == "Harbor Lift"
    with tenant_context(alpha):
        assert StageChange.objects.filter(opportunity_id=pk).count() == 3


def test_rep_sees_only_own_and_beta_sees_nothing_of_alpha(alpha, admin, rep_api, beta_api):
    rep, api = rep_api
    with tenant_context(alpha):
        theirs = make_opportunity(admin, name="Boss deal")
        mine = make_opportunity(rep, name="Rep deal")
    listed = [o["name"] for o in api.get("/api/v1/opportunities/").json()["results"]]
    assert listed == ["Rep deal"]
    assert api.get(f"/api/v1/opportunities/{theirs.pk}/").status_code == 404
    assert api.patch(f"/api/v1/opportunities/{theirs.pk}/", {"amount": "1"}).status_code == 404
    assert (
        api.post(f"/api/v1/opportunities/{theirs.pk}/move/", {"stage": theirs.stage_id}).status_code
        == 404
    )
    # A rep cannot attach an account they cannot see.
    sneaky = api.patch(f"/api/v1/opportunities/{mine.pk}/", {"account": theirs.account_id})
    assert sneaky.status_code == 400 and "account" in sneaky.json()
    _beta_admin, other = beta_api
    assert other.get(f"/api/v1/opportunities/{mine.pk}/").status_code == 404
    assert other.get("/api/v1/opportunities/").json()["results"] == []
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=theirs.pk).amount == 1000


def test_filters_by_outcome_and_close_date(alpha, admin_api):
    admin, api = admin_api
    with tenant_context(alpha):
        make_opportunity(admin, name="won one", stage_key="won")
        make_opportunity(admin, name="open one")
    won = api.get("/api/v1/opportunities/", outcome="won").json()["results"]
    assert [o["name"] for o in won] == ["won one"]
    assert won[0]["probability"] == 100


def test_put_with_the_unchanged_probability_and_a_new_stage_takes_the_stages_default(
    alpha, admin_api
):
    """PUT sends every field: the probability it repeats is not one of this change, so the
    new stage's default applies (as on the edit page)."""
    import json

    admin, api = admin_api
    with tenant_context(alpha):
        opp = make_opportunity(admin, name="Kites", stage_key="qualification")
        proposal = stage("proposal")
    body = api.get(f"/api/v1/opportunities/{opp.pk}/").json()
    assert body["probability"] == 10
    body["stage"] = proposal.pk
    put = api.client.put(
        f"/api/v1/opportunities/{opp.pk}/",
        json.dumps(body),
        content_type="application/json",
        **api.headers,
    )
    assert put.status_code == 200, put.content
    assert put.json()["probability"] == proposal.probability == 50
    # A probability that differs from the stored one is kept through the stage change.
    negotiation = stage("negotiation")
    changed = {**put.json(), "stage": negotiation.pk, "probability": 35}
    again = api.client.put(
        f"/api/v1/opportunities/{opp.pk}/",
        json.dumps(changed),
        content_type="application/json",
        **api.headers,
    )
    assert again.status_code == 200 and again.json()["probability"] == 35
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=opp.pk).probability == 35
