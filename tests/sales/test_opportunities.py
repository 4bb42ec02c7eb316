"""Opportunity rules: stage moves and their history, lost reasons, won = 100 % closed,
currencies converted to the base currency, team access, record security."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied, visible
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, PicklistValue
from core_crm.sales import opportunities as svc
from core_crm.sales.models import Currency, Opportunity, StageChange
from tests.customfields.helpers import user_with_role

from .factories import make_opportunity, stage


@pytest.fixture
def account(alpha, admin):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        return Account.objects.create(name="Hangzhou Tea Co", owner=admin)


def test_a_new_opportunity_starts_in_the_first_open_stage_with_its_probability(
    alpha, admin, account
):
    with tenant_context(alpha):
        opp = svc.opportunity_create(
            actor=admin,
            data={
                "name": "Tea line",
                "account": account.pk,
                "amount": "12000",
                "close_date": "2026-12-31",
            },
            channel="web",
        )
        assert (opp.stage.key, opp.probability, opp.forecast_category) == (
            "qualification",
            10,
            "pipeline",
        )
        assert opp.currency == "CNY" and opp.amount_base == Decimal("12000.00")
        first = StageChange.objects.get(opportunity=opp)
        assert first.from_stage is None and first.to_stage.key == "qualification"
        assert first.amount == Decimal("12000.00") and first.actor == admin
        assert AuditEntry.objects.filter(object_id=opp.pk, kind="create").exists()


def test_bad_input_names_every_field_and_saves_nothing(alpha, admin, account):
    with tenant_context(alpha):
        other = Account.objects.create(name="Other", owner=admin)
        contact = Contact.objects.create(
            first_name="Wei", last_name="Li", account=other, owner=admin
        )
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_create(
                actor=admin,
                data={
                    "name": " ",
                    "account": account.pk,
                    "amount": "-5",
                    "close_date": "soon",
                    "probability": 120,
                    "currency": "XYZ",
                    "primary_contact": contact.pk,
                },
                channel="web",
            )
        assert {"amount", "close_date", "probability"} <= set(exc.value.message_dict)
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_create(
                actor=admin,
                data={
                    "name": " ",
                    "account": account.pk,
                    "close_date": "2026-12-01",
                    "currency": "XYZ",
                    "primary_contact": contact.pk,
                },
                channel="web",
            )
        assert "currency" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_create(
                actor=admin,
                data={
                    "name": " ",
                    "account": account.pk,
                    "close_date": "2026-12-01",
                    "primary_contact": contact.pk,
                },
                channel="web",
            )
        assert set(exc.value.message_dict) == {"name", "primary_contact"}
        assert not Opportunity.objects.exists()


def test_moving_to_lost_needs_a_reason_and_won_closes_at_100(alpha, admin, account):
    with tenant_context(alpha):
        opp = make_opportunity(admin, account=account, amount=5000)
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_move(opp, actor=admin, stage=stage("lost"), channel="web")
        assert set(exc.value.message_dict) == {"lost_reason"}
        opp.refresh_from_db()
        assert opp.stage.key == "qualification"

        proposal = svc.opportunity_move(opp, actor=admin, stage=stage("proposal"), channel="web")
        assert proposal.probability == 50 and proposal.closed_at is None
        # An explicit probability overrides the stage default until the next move.
        svc.opportunity_update(
            opp, actor=admin, data={"probability": 65, "forecast_category": "commit"}, channel="web"
        )
        won = svc.opportunity_move(opp, actor=admin, stage=stage("won"), channel="api")
        assert (won.probability, won.forecast_category) == (100, "closed")
        assert won.closed_at is not None

        reason = PicklistValue.objects.get(picklist="lost_reason", code="price")
        lost = svc.opportunity_move(
            opp,
            actor=admin,
            stage=stage("lost"),
            lost_reason=reason.pk,
            lost_note="Cheaper offer",
            channel="web",
        )
        assert (lost.probability, lost.forecast_category, lost.lost_reason) == (
            0,
            "omitted",
            reason,
        )
        reopened = svc.opportunity_move(opp, actor=admin, stage=stage("negotiation"), channel="web")
        assert (reopened.probability, reopened.forecast_category) == (75, "pipeline")
        assert reopened.lost_reason is None and reopened.closed_at is None

        history = list(
            StageChange.objects.filter(opportunity=opp)
            .order_by("changed_at", "pk")
            .values_list("from_stage__key", "to_stage__key", "probability", "channel")
        )
        assert history == [
            (None, "qualification", 10, "system"),
            ("qualification", "proposal", 50, "web"),
            ("proposal", "won", 100, "api"),
            ("won", "lost", 0, "web"),
            ("lost", "negotiation", 75, "web"),
        ]


def test_amounts_are_converted_to_the_base_currency(alpha, admin, account):
    with tenant_context(alpha):
        Currency.objects.create(code="USD", rate_to_base=Decimal("7.10"))
        opp = svc.opportunity_create(
            actor=admin,
            data={
                "name": "Export",
                "account": account,
                "amount": "1000.50",
                "currency": "usd",
                "close_date": "2026-12-31",
            },
            channel="web",
        )
        assert opp.currency == "USD" and opp.amount_base == Decimal("7103.55")
        svc.opportunity_update(opp, actor=admin, data={"amount": 2000}, channel="web")
        opp.refresh_from_db()
        assert opp.amount_base == Decimal("14200.00")


def test_a_stage_of_another_pipeline_or_a_retired_one_is_refused(alpha, admin, account):
    with tenant_context(alpha):
        opp = make_opportunity(admin, account=account)
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_update(
                opp, actor=admin, data={"stage": stage("upcoming", "renewals").pk}, channel="web"
            )
        assert set(exc.value.message_dict) == {"stage"}
        # Moving to a stage of another pipeline through opportunity_move switches the pipeline.
        moved = svc.opportunity_move(
            opp, actor=admin, stage=stage("upcoming", "renewals"), channel="web"
        )
        assert moved.pipeline.key == "renewals"
        retired = stage("proposal")
        retired.is_active = False
        retired.save()
        with pytest.raises(ValidationError):
            svc.opportunity_move(moved, actor=admin, stage=retired, channel="web")


def test_a_rep_works_only_on_their_own_opportunities_and_team_members_read(alpha, admin, rep):
    with tenant_context(alpha):
        theirs = make_opportunity(admin, name="Boss deal")
        mine = make_opportunity(rep, name="Rep deal")
        seen = set(
            visible(rep, Opportunity.objects.all(), "opportunity").values_list("name", flat=True)
        )
        assert seen == {"Rep deal"}
        with pytest.raises(PermissionDenied):
            svc.opportunity_move(theirs, actor=rep, stage=stage("proposal"), channel="web")
        # A rep cannot attach an account they cannot see.
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_update(
                mine, actor=rep, data={"account": theirs.account_id}, channel="web"
            )
        assert set(exc.value.message_dict) == {"account"}
        svc.team_member_add(theirs, actor=admin, user=rep, role="presales", channel="web")
        assert visible(rep, Opportunity.objects.all(), "opportunity").filter(pk=theirs.pk).exists()
        with pytest.raises(PermissionDenied):  # on the team means reading, not editing
            svc.opportunity_update(theirs, actor=rep, data={"amount": 1}, channel="web")
        member = theirs.team.get()
        svc.team_member_remove(theirs, actor=admin, member_id=member.pk, channel="web")
        assert (
            not visible(rep, Opportunity.objects.all(), "opportunity").filter(pk=theirs.pk).exists()
        )


def test_contact_roles_and_competitors_are_kept_and_audited(alpha, admin, account):
    with tenant_context(alpha):
        opp = make_opportunity(admin, account=account)
        contact = Contact.objects.create(
            first_name="Min", last_name="Zhao", account=account, owner=admin
        )
        buyer = PicklistValue.objects.get(picklist="contact_role", code="economic-buyer")
        svc.contact_role_set(
            opp,
            actor=admin,
            contact=contact,
            role=buyer,
            influence="high",
            attitude="champion",
            channel="web",
        )
        svc.contact_role_set(
            opp,
            actor=admin,
            contact=contact.pk,
            role=buyer.pk,
            influence="low",
            attitude="skeptic",
            channel="web",
        )
        row = opp.contact_roles.get()
        assert (row.influence, row.attitude) == ("low", "skeptic")
        with pytest.raises(ValidationError) as exc:
            svc.contact_role_set(
                opp,
                actor=admin,
                contact=contact,
                role=buyer,
                influence="huge",
                attitude="?",
                channel="web",
            )
        assert set(exc.value.message_dict) == {"influence", "attitude"}
        svc.competitor_add(
            opp, actor=admin, data={"name": "Longjing Corp", "strengths": "Price"}, channel="web"
        )
        with pytest.raises(ValidationError):
            svc.competitor_add(opp, actor=admin, data={"name": ""}, channel="web")
        assert list(opp.competitors.values_list("name", flat=True)) == ["Longjing Corp"]
        kinds = AuditEntry.objects.filter(object_id=opp.pk, kind="update").count()
        assert kinds == 3


def test_giving_an_opportunity_to_someone_tells_them(alpha, admin):
    from core_crm.notifications.models import Notification

    manager = user_with_role(alpha, "lin@alpha.test", "sales_manager")
    with tenant_context(alpha):
        opp = make_opportunity(admin)
        svc.opportunity_assign(opp, actor=admin, owner=manager, channel="web")
        note = Notification.objects.get(user=manager)
        assert note.kind == "assigned" and opp.name in note.title
        assert AuditEntry.objects.filter(object_id=opp.pk, kind="reassign").exists()


def test_each_workspace_has_its_own_opportunities(alpha, beta, admin):
    with tenant_context(alpha):
        ours = make_opportunity(admin, name="Alpha deal")
    with tenant_context(beta):
        assert not Opportunity.objects.filter(name="Alpha deal").exists()
        assert Opportunity.objects.filter(pk=ours.pk).count() == 0
