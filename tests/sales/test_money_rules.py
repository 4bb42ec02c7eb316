"""Money and dates that must not move by themselves: a closed deal keeps the base amount it
closed at (even in a currency deactivated since), the currency cannot change under products
priced in another one, and a deal closed early closes in the period it was closed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.customers.models import PicklistValue
from core_crm.quotes import services as quotes
from core_crm.sales import opportunities as svc
from core_crm.sales.currency_services import currency_set_active, currency_set_rate
from core_crm.sales.models import Currency, Opportunity

from .factories import make_opportunity, stage


def _next_quarter_day() -> dt.date:
    today = timezone.localdate()
    index = today.year * 12 + (today.month - 1) // 3 * 3 + 3
    return dt.date(index // 12, index % 12 + 1, 15)


# --- 1. Closed deals keep the base amount they closed at ------------------------------------


def test_a_won_deal_keeps_its_base_amount_when_edited_after_a_rate_change(alpha, admin):
    with tenant_context(alpha):
        usd = Currency.objects.create(code="USD", rate_to_base=Decimal("7.00"))
        won = make_opportunity(admin, name="Won", amount=1000, currency="USD", stage_key="won")
        lost = make_opportunity(
            admin,
            name="Lost",
            amount=1000,
            currency="USD",
            stage_key="lost",
            lost_reason=PicklistValue.objects.get(picklist="lost_reason", code="price"),
        )
        open_ = make_opportunity(admin, name="Open", amount=1000, currency="USD")
        assert won.amount_base == Decimal("7000.00")
        currency_set_rate(actor=admin, currency=usd, rate_to_base="7.50")

        # Editing only the next step leaves the closed deals' base amounts alone.
        for opp in (won, lost):
            svc.opportunity_update(opp, actor=admin, data={"next_step": "Invoice"}, channel="web")
            opp.refresh_from_db()
            assert opp.next_step == "Invoice"
            assert opp.amount_base == Decimal("7000.00")
        # A form sends every field: unchanged amount and currency are no change either.
        svc.opportunity_update(
            won,
            actor=admin,
            data={"amount": "1000.00", "currency": "usd", "description": "Paid"},
            channel="api",
        )
        won.refresh_from_db()
        assert won.amount_base == Decimal("7000.00")
        # An open deal follows the current rate.
        svc.opportunity_update(open_, actor=admin, data={"next_step": "Call"}, channel="web")
        open_.refresh_from_db()
        assert open_.amount_base == Decimal("7500.00")

        # Changing a closed deal's amount converts it at the current rate.
        svc.opportunity_update(won, actor=admin, data={"amount": "2000"}, channel="web")
        won.refresh_from_db()
        assert won.amount_base == Decimal("15000.00")
        # And so does changing its currency.
        svc.opportunity_update(lost, actor=admin, data={"currency": "CNY"}, channel="web")
        lost.refresh_from_db()
        assert (lost.currency, lost.amount_base) == ("CNY", Decimal("1000.00"))


def test_a_deal_closing_takes_the_current_rate_then_keeps_it(alpha, admin):
    with tenant_context(alpha):
        usd = Currency.objects.create(code="USD", rate_to_base=Decimal("7.00"))
        opp = make_opportunity(admin, amount=1000, currency="USD")
        Currency.objects.filter(pk=usd.pk).update(rate_to_base=Decimal("7.20"))
        svc.opportunity_move(opp, actor=admin, stage=stage("won"), channel="web")
        opp.refresh_from_db()
        assert opp.amount_base == Decimal("7200.00")
        Currency.objects.filter(pk=usd.pk).update(rate_to_base=Decimal("8.00"))
        # closed to closed: still the amount it closed at
        reason = PicklistValue.objects.get(picklist="lost_reason", code="price")
        svc.opportunity_move(
            opp, actor=admin, stage=stage("lost"), lost_reason=reason.pk, channel="web"
        )
        opp.refresh_from_db()
        assert opp.amount_base == Decimal("7200.00")
        # reopened: it follows the rate again
        svc.opportunity_move(opp, actor=admin, stage=stage("negotiation"), channel="web")
        opp.refresh_from_db()
        assert opp.amount_base == Decimal("8000.00")


def test_a_closed_deal_in_a_deactivated_currency_stays_editable(alpha, admin):
    with tenant_context(alpha):
        eur = Currency.objects.create(code="EUR", rate_to_base=Decimal("7.80"))
        won = make_opportunity(admin, name="Won", amount=100, currency="EUR", stage_key="won")
        other = make_opportunity(admin, name="Other", amount=100)
        currency_set_active(actor=admin, currency=eur, active=False)

        svc.opportunity_update(
            won,
            actor=admin,
            data={"next_step": "Send the invoice", "currency": "EUR", "amount": "100"},
            channel="web",
        )
        won.refresh_from_db()
        assert won.next_step == "Send the invoice"
        assert (won.currency, won.amount_base) == ("EUR", Decimal("780.00"))

        # The deactivated currency cannot be newly chosen...
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_update(other, actor=admin, data={"currency": "EUR"}, channel="web")
        assert set(exc.value.message_dict) == {"currency"}
        other.refresh_from_db()
        assert other.currency == "CNY"
        # ...nor can a deal in it go back to following its (no longer kept) rate.
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_move(won, actor=admin, stage=stage("negotiation"), channel="web")
        assert set(exc.value.message_dict) == {"currency"}
        won.refresh_from_db()
        assert won.stage.key == "won"


# --- 2. The currency does not change under products priced in another ------------------------


def _priced_opportunity(admin):  # type: ignore[no-untyped-def]
    Currency.objects.create(code="USD", rate_to_base=Decimal("7.00"))
    book = quotes.price_book_save(
        actor=admin, data={"name": "Standard", "currency": "CNY"}, channel="web"
    )
    pump = quotes.product_save(
        actor=admin, data={"code": "P-1", "name": "Pump", "unit": "pcs"}, channel="web"
    )
    quotes.price_set(actor=admin, book=book, product=pump, unit_price="12000", channel="web")
    opp = make_opportunity(admin, amount=0)
    quotes.line_item_save(
        opp, actor=admin, data={"price_book": book, "product": pump, "quantity": 2}, channel="web"
    )
    opp.refresh_from_db()
    return opp


def test_the_currency_cannot_change_while_products_are_priced_in_it(alpha, admin):
    with tenant_context(alpha):
        opp = _priced_opportunity(admin)
        assert (opp.amount, opp.currency, opp.amount_base) == (
            Decimal("24000.00"),
            "CNY",
            Decimal("24000.00"),
        )
        with pytest.raises(ValidationError) as exc:
            svc.opportunity_update(
                opp,
                actor=admin,
                data={"currency": "USD", "next_step": "Re-quote"},
                channel="api",
            )
        assert exc.value.message_dict == {
            "currency": [
                "This opportunity has products priced in CNY; remove them before changing the "
                "currency."
            ]
        }
        stored = Opportunity.objects.get(pk=opp.pk)
        assert (stored.currency, stored.amount_base, stored.next_step) == (
            "CNY",
            Decimal("24000.00"),
            "",
        )
        # The same currency sent again (forms send every field) is no change.
        svc.opportunity_update(
            opp, actor=admin, data={"currency": "CNY", "next_step": "Call"}, channel="web"
        )
        # Without its products the deal can change currency.
        for item in list(opp.line_items.all()):
            quotes.line_item_delete(item, actor=admin, channel="web")
        svc.opportunity_update(opp, actor=admin, data={"currency": "USD"}, channel="web")
        opp.refresh_from_db()
        assert opp.currency == "USD"


# --- 3. A deal closed early closes in the period it was closed --------------------------------


def test_winning_early_makes_the_close_date_today(alpha, admin):
    with tenant_context(alpha):
        later = _next_quarter_day()
        opp = make_opportunity(admin, close_date=later)
        won = svc.opportunity_move(opp, actor=admin, stage=stage("won"), channel="web")
        assert won.closed_at is not None
        assert won.close_date == timezone.localdate(won.closed_at) == timezone.localdate()
        # Back to an open stage: the close date stays.
        reopened = svc.opportunity_move(opp, actor=admin, stage=stage("negotiation"), channel="web")
        assert reopened.closed_at is None and reopened.close_date == timezone.localdate()


def test_losing_early_makes_the_close_date_today(alpha, admin):
    with tenant_context(alpha):
        opp = make_opportunity(admin, close_date=_next_quarter_day())
        reason = PicklistValue.objects.get(picklist="lost_reason", code="price")
        lost = svc.opportunity_move(
            opp, actor=admin, stage=stage("lost"), lost_reason=reason.pk, channel="api"
        )
        assert lost.close_date == timezone.localdate()


def test_a_close_date_given_with_the_move_is_kept(alpha, admin):
    with tenant_context(alpha):
        later = _next_quarter_day()
        chosen = timezone.localdate() - dt.timedelta(days=3)
        opp = make_opportunity(admin, close_date=later)
        won = svc.opportunity_update(
            opp,
            actor=admin,
            data={"stage": stage("won"), "close_date": chosen.isoformat()},
            channel="api",
        )
        assert won.close_date == chosen
        # The edit form sends the stored close date along: that is not a choice of date.
        other = make_opportunity(admin, name="Other", close_date=later)
        won = svc.opportunity_update(
            other,
            actor=admin,
            data={"stage": stage("won").pk, "close_date": later, "next_step": ""},
            channel="web",
        )
        assert won.close_date == timezone.localdate()


def test_editing_a_closed_deal_keeps_its_close_date(alpha, admin):
    with tenant_context(alpha):
        closed_on = timezone.localdate() - dt.timedelta(days=40)
        opp = make_opportunity(admin, stage_key="won", close_date=closed_on)
        svc.opportunity_update(opp, actor=admin, data={"next_step": "Invoice"}, channel="web")
        opp.refresh_from_db()
        assert opp.close_date == closed_on


def test_a_deal_created_won_closes_today_unless_given_a_date(alpha, admin):
    with tenant_context(alpha):
        opp = make_opportunity(admin)  # for its account
        won = svc.opportunity_create(
            actor=admin,
            data={"name": "Signed", "account": opp.account_id, "stage": stage("won").pk},
            channel="api",
        )
        assert won.close_date == timezone.localdate()
        dated = svc.opportunity_create(
            actor=admin,
            data={
                "name": "Signed earlier",
                "account": opp.account_id,
                "stage": stage("won").pk,
                "close_date": "2030-01-31",
            },
            channel="api",
        )
        assert dated.close_date == dt.date(2030, 1, 31)


def test_the_edit_page_saves_a_closed_deal_in_a_currency_switched_off_since(
    alpha, admin, admin_client
):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from core_crm.sales.models import Currency, Opportunity

    from .factories import make_opportunity

    with tenant_context(alpha):
        Currency.objects.update_or_create(
            code="JPY", defaults={"rate_to_base": Decimal("0.05"), "is_active": True}
        )
        opp = make_opportunity(
            admin, name="Tokyo order", amount=100000, currency="JPY", stage_key="won"
        )
        Currency.objects.filter(code="JPY").update(is_active=False)
    form = admin_client.get(f"/opportunities/{opp.pk}/edit/").content.decode()
    assert '<option value="JPY" selected>JPY</option>' in form
    data = {
        "name": "Tokyo order",
        "account": opp.account_id,
        "pipeline": opp.pipeline_id,
        "stage": opp.stage_id,
        "amount": "100000",
        "currency": "JPY",
        "close_date": opp.close_date.isoformat(),
        "probability": "100",
        "forecast_category": "closed",
        "next_step": "Send the thank-you letter",
    }
    response = admin_client.post(f"/opportunities/{opp.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=opp.pk).next_step == "Send the thank-you letter"


def test_a_contact_role_goes_only_to_a_contact_of_the_deals_account(alpha, rep):  # type: ignore[no-untyped-def]
    from core_crm.customers.models import Account, Contact
    from core_crm.sales.models import OpportunityContact

    from .factories import make_opportunity

    with tenant_context(alpha):
        opp = make_opportunity(rep, name="Tea line")
        elsewhere = Account.objects.create(name="Other Co", owner=rep)
        stranger = Contact.objects.create(
            first_name="Wu", last_name="Li", account=elsewhere, owner=rep
        )
        role = PicklistValue.objects.filter(picklist="contact_role").first()
        with pytest.raises(ValidationError) as exc:
            svc.contact_role_set(opp, actor=rep, contact=stranger, role=role, channel="web")
        assert exc.value.message_dict["contact"] == ["Choose a contact who works at this account."]
        assert not OpportunityContact.objects.filter(opportunity=opp).exists()
        buyer = Contact.objects.create(
            first_name="Na", last_name="Li", account=opp.account, owner=rep
        )
        svc.contact_role_set(opp, actor=rep, contact=buyer, role=role, channel="web")
        assert OpportunityContact.objects.filter(opportunity=opp, contact=buyer).exists()
