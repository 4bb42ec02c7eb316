"""Products, price books, line items and the life of a quote, through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.notifications.models import Notification
from core_crm.quotes import selectors, services
from core_crm.quotes.models import PriceBook, Quote, QuoteEvent, QuoteVersion
from core_crm.sales.models import Opportunity
from core_crm.workspace.models import workspace_settings

from ..sales.factories import make_opportunity
from .conftest import quote_with


def test_only_admins_keep_the_catalogue_and_codes_are_unique(alpha, admin, rep, catalogue):
    with tenant_context(alpha):
        with pytest.raises(PermissionDenied):
            services.product_save(actor=rep, data={"code": "X", "name": "X"}, channel="web")
        with pytest.raises(ValidationError) as exc:
            services.product_save(
                actor=admin, data={"code": "p-100", "name": "Copy"}, channel="web"
            )
        assert "code" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            services.price_set(
                actor=admin,
                book=catalogue.standard,
                product=catalogue.pump,
                unit_price="-1",
                channel="web",
            )
        assert "unit_price" in exc.value.message_dict


def test_one_standard_price_book_and_known_currencies(alpha, admin, catalogue):
    with tenant_context(alpha):
        other = services.price_book_save(
            actor=admin,
            data={"name": "Partners", "currency": "cny", "is_standard": True},
            channel="web",
        )
        assert other.currency == "CNY"
        assert list(PriceBook.objects.filter(is_standard=True)) == [other]
        with pytest.raises(ValidationError) as exc:
            services.price_book_save(
                actor=admin, data={"name": "Moon", "currency": "XYZ"}, channel="web"
            )
        assert "currency" in exc.value.message_dict


def test_line_items_set_the_opportunity_amount_in_its_currency(alpha, rep, catalogue):
    with tenant_context(alpha):
        opp = make_opportunity(rep, name="Pumps", currency="CNY", amount=1)
        services.line_item_save(
            opp,
            actor=rep,
            data={
                "price_book": catalogue.standard,
                "product": catalogue.pump,
                "quantity": "2",
                "discount_percent": "10",
            },
            channel="web",
        )
        item = services.line_item_save(
            opp,
            actor=rep,
            data={"price_book": catalogue.standard, "product": catalogue.valve, "quantity": "4"},
            channel="web",
        )
        opp.refresh_from_db()
        assert opp.amount == Decimal("21600.00") + Decimal("3402.00")
        assert opp.amount_base == opp.amount
        with pytest.raises(ValidationError) as exc:
            services.line_item_save(
                opp,
                actor=rep,
                data={"price_book": catalogue.usd, "product": catalogue.pump},
                channel="web",
            )
        assert "USD" in exc.value.message_dict["price_book"][0]
        services.line_item_delete(item, actor=rep, channel="web")
        opp.refresh_from_db()
        assert opp.amount == Decimal("21600.00")


def test_product_without_a_price_in_the_book_is_refused(alpha, admin, rep, catalogue):
    with tenant_context(alpha):
        opp = make_opportunity(rep, currency="USD")
        with pytest.raises(ValidationError) as exc:
            services.line_item_save(
                opp,
                actor=rep,
                data={"price_book": catalogue.usd, "product": catalogue.valve},
                channel="web",
            )
        assert "no active price" in exc.value.message_dict["product"][0]


def test_a_new_quote_takes_number_defaults_and_the_opportunitys_products(alpha, rep, catalogue):
    with tenant_context(alpha):
        settings = workspace_settings()
        opp = make_opportunity(rep, name="Valves", currency="CNY")
        services.line_item_save(
            opp,
            actor=rep,
            data={
                "price_book": catalogue.standard,
                "product": catalogue.valve,
                "quantity": "10",
                "discount_percent": "5",
            },
            channel="web",
        )
        first = services.quote_create(opp, actor=rep, channel="web")
        second = services.quote_create(opp, actor=rep, channel="web")
        year = timezone.localdate().year
        assert first.number.startswith(f"Q-{year}-")
        assert int(second.number[-4:]) == int(first.number[-4:]) + 1
        assert first.owner == rep and first.status == "draft"
        assert first.tax_rate == settings.default_tax_rate
        assert first.valid_until == timezone.localdate() + dt.timedelta(
            days=settings.quote_validity_days
        )
        assert first.lines.get().net == Decimal("8079.75")
        # 8505.00 gross, 425.25 discount, 13 % tax of 8079.75 = 1050.3675 → 1050.37
        assert (first.subtotal, first.discount_total, first.tax_total, first.grand_total) == (
            Decimal("8505.00"),
            Decimal("425.25"),
            Decimal("1050.37"),
            Decimal("9130.12"),
        )
        assert AuditEntry.objects.filter(object_id=first.pk, kind="create").exists()


def test_quoting_needs_reading_the_opportunity(alpha, rep, other_rep, catalogue):
    with tenant_context(alpha):
        theirs = make_opportunity(other_rep)
        with pytest.raises(PermissionDenied):
            services.quote_create(theirs, actor=rep, channel="web")


def test_above_the_limit_the_quote_cannot_be_sent_until_a_manager_approves(
    alpha, rep, manager, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="20")
        assert services.needs_approval(quote)
        with pytest.raises(ValidationError) as exc:
            services.quote_send(quote, actor=rep, channel="web")
        assert "approval" in exc.value.message_dict["status"][0]
        services.quote_submit(quote, actor=rep, channel="web", comment="Big order")
        quote.refresh_from_db()
        assert quote.status == "in_review"
        request = Notification.objects.get(user=manager, kind="approval_request")
        assert quote.number in request.title and request.url.endswith(f"/quotes/{quote.pk}/")
        # The rep cannot approve their own quote.
        with pytest.raises(PermissionDenied):
            services.quote_approve(quote, actor=rep, channel="web")
        services.quote_approve(quote, actor=manager, channel="web", comment="OK for this volume")
        quote.refresh_from_db()
        assert quote.status == "approved" and quote.approved_by == manager
        assert Notification.objects.filter(user=rep, kind="approval_decision").exists()
        version = services.quote_send(quote, actor=rep, channel="web")
        assert version.number == 1
        quote.refresh_from_db()
        assert quote.status == "sent"


def test_within_the_limit_a_quote_is_sent_without_approval(alpha, rep, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="15")
        assert not services.needs_approval(quote)
        with pytest.raises(ValidationError):
            services.quote_submit(quote, actor=rep, channel="web")
        services.quote_send(quote, actor=rep, channel="web")


def test_a_refusal_needs_a_reason_and_sends_the_quote_back_to_draft(alpha, rep, manager, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="30")
        services.quote_submit(quote, actor=rep, channel="web")
        with pytest.raises(ValidationError) as exc:
            services.quote_decline(quote, actor=manager, channel="web", comment=" ")
        assert "comment" in exc.value.message_dict
        services.quote_decline(quote, actor=manager, channel="web", comment="Max 20 %")
        quote.refresh_from_db()
        assert quote.status == "draft"
        assert quote.events.filter(kind="declined", comment="Max 20 %").exists()


def test_a_manager_of_another_team_cannot_approve(alpha, rep, manager, catalogue):
    from ..customfields.helpers import user_with_role

    stranger = user_with_role(alpha, "west.manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="30")
        services.quote_submit(quote, actor=rep, channel="web")
        assert stranger not in services.approvers(quote)
        with pytest.raises(PermissionDenied):
            services.quote_approve(quote, actor=stranger, channel="web")


def test_editing_approved_prices_sends_the_quote_back_to_draft(alpha, rep, manager, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="25")
        services.quote_submit(quote, actor=rep, channel="web")
        services.quote_approve(quote, actor=manager, channel="web")
        services.quote_update(
            quote, actor=rep, data={"terms": "Delivery in 4 weeks"}, channel="web"
        )
        quote.refresh_from_db()
        assert quote.status == "approved"  # terms are not prices
        line = quote.lines.get()
        services.quote_line_save(
            quote, actor=rep, line=line, data={"discount_percent": "26"}, channel="web"
        )
        quote.refresh_from_db()
        assert quote.status == "draft" and services.needs_approval(quote)
        with pytest.raises(ValidationError):
            services.quote_send(quote, actor=rep, channel="web")


def test_each_send_freezes_a_version_that_later_edits_leave_alone(alpha, rep, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="10", quantity="1")
        v1 = services.quote_send(quote, actor=rep, channel="web")
        frozen = dict(v1.snapshot)
        line = quote.lines.get()
        services.quote_line_save(quote, actor=rep, line=line, data={"quantity": "3"}, channel="web")
        quote.refresh_from_db()
        assert quote.status == "draft"
        v2 = services.quote_send(quote, actor=rep, channel="web")
        assert [v.number for v in QuoteVersion.objects.filter(quote=quote)] == [1, 2]
        v1.refresh_from_db()
        assert v1.snapshot == frozen
        assert v1.snapshot["lines"][0]["quantity"] == "1.00"
        assert v2.snapshot["lines"][0]["quantity"] == "3.00"
        assert v1.snapshot["totals"]["grand_total"] == "12204.00"  # 10800 + 13 %


def test_customer_answers_are_recorded_and_final(alpha, rep, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        with pytest.raises(ValidationError):
            services.quote_accept(quote, actor=rep, channel="web")
        services.quote_send(quote, actor=rep, channel="web")
        services.quote_accept(quote, actor=rep, channel="web", note="PO 4711")
        quote.refresh_from_db()
        assert quote.status == "accepted" and quote.customer_note == "PO 4711"
        with pytest.raises(ValidationError):
            services.quote_update(quote, actor=rep, data={"terms": "new"}, channel="web")


def test_open_quotes_past_their_validity_expire(alpha, rep, catalogue):
    with tenant_context(alpha):
        old = quote_with(rep, catalogue)
        services.quote_send(old, actor=rep, channel="web")
        fresh = quote_with(rep, catalogue)
        Quote.objects.filter(pk=old.pk).update(
            valid_until=timezone.localdate() - dt.timedelta(days=1)
        )
        assert services.expire_quotes() == 1
        old.refresh_from_db()
        fresh.refresh_from_db()
        assert (old.status, fresh.status) == ("expired", "draft")
        assert old.events.filter(kind=QuoteEvent.Kind.EXPIRED).exists()
        assert services.expire_quotes() == 0


def test_expire_task_runs_in_the_workspace(alpha, rep, catalogue, eager_celery):
    from core_crm.quotes.tasks import expire_quotes_task

    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        Quote.objects.filter(pk=quote.pk).update(
            valid_until=timezone.localdate() - dt.timedelta(days=3)
        )
        expire_quotes_task.delay()
        quote.refresh_from_db()
        assert quote.status == "expired"


def test_every_other_open_quote_on_the_account_is_found_whoever_owns_it(
    alpha, rep, other_rep, catalogue
):
    with tenant_context(alpha):
        mine = quote_with(rep, catalogue)
        account = mine.account
        theirs_opp = make_opportunity(other_rep, account=account, currency="CNY")
        theirs = quote_with(other_rep, catalogue, opp=theirs_opp)
        unrelated_opp = make_opportunity(other_rep, account=account, currency="CNY")
        unrelated = services.quote_create(unrelated_opp, actor=other_rep, channel="web")
        services.quote_line_save(
            unrelated, actor=other_rep, data={"product": catalogue.valve}, channel="web"
        )
        done_opp = make_opportunity(other_rep, account=account, currency="CNY")
        done = quote_with(other_rep, catalogue, opp=done_opp)
        services.quote_send(done, actor=other_rep, channel="web")
        services.quote_accept(done, actor=other_rep, channel="web")
        elsewhere = quote_with(other_rep, catalogue)  # same product, another account
        # Every other open quote on the account, whatever its products and whoever owns it;
        # answered quotes and other accounts' quotes are left out.
        assert list(selectors.other_open_quotes(mine)) == [theirs, unrelated]
        assert elsewhere.account_id != account.pk
        assert Opportunity.objects.filter(account=account).count() == 4


def test_an_item_whose_price_was_removed_keeps_its_price_and_can_still_change(
    alpha, admin, rep, catalogue
):
    with tenant_context(alpha):
        opp = make_opportunity(rep, name="Old pumps", currency="CNY", amount=1)
        item = services.line_item_save(
            opp,
            actor=rep,
            data={"price_book": catalogue.standard, "product": catalogue.pump, "quantity": "1"},
            channel="web",
        )
        entry = catalogue.standard.entries.get(product=catalogue.pump)
        services.price_remove(actor=admin, entry=entry, channel="web")
        item = services.line_item_save(
            opp, actor=rep, data={"quantity": "3"}, channel="web", item=item
        )
        assert (item.quantity, item.list_price, item.net) == (
            Decimal("3"),
            Decimal("12000.00"),
            Decimal("36000.00"),
        )
        # Choosing the product again on a new item is refused: it has no price now.
        with pytest.raises(ValidationError) as exc:
            services.line_item_save(
                opp,
                actor=rep,
                data={"price_book": catalogue.standard, "product": catalogue.pump},
                channel="web",
            )
        assert "no active price" in exc.value.message_dict["product"][0]


def test_a_quote_takes_only_a_contact_the_author_can_read(alpha, admin, rep, catalogue):
    from core_crm.customers.models import Account, Contact

    with tenant_context(alpha):
        account = Account.objects.create(name="Shared Co", owner=rep)
        hidden = Contact.objects.create(
            first_name="Secret", last_name="Buyer", account=account, owner=admin
        )
        mine = Contact.objects.create(
            first_name="Open", last_name="Buyer", account=account, owner=rep
        )
        opp = make_opportunity(rep, account=account, currency="CNY")
        with pytest.raises(ValidationError) as exc:
            services.quote_create(opp, actor=rep, channel="web", data={"contact": hidden.pk})
        assert "contact" in exc.value.message_dict
        assert not Quote.objects.filter(opportunity=opp).exists()
        quote = services.quote_create(opp, actor=rep, channel="web", data={"contact": mine.pk})
        assert quote.contact == mine


def test_a_quote_uses_the_price_book_of_the_opportunitys_products(alpha, admin, rep, catalogue):
    with tenant_context(alpha):
        other_book = services.price_book_save(
            actor=admin, data={"name": "Distributors", "currency": "CNY"}, channel="web"
        )
        opp = make_opportunity(rep, currency="CNY")
        services.line_item_save(
            opp,
            actor=rep,
            data={"price_book": catalogue.standard, "product": catalogue.valve},
            channel="web",
        )
        with pytest.raises(ValidationError) as exc:
            services.quote_create(opp, actor=rep, channel="web", data={"price_book": other_book})
        assert "Standard" in exc.value.message_dict["price_book"][0]
        assert services.quote_create(opp, actor=rep, channel="web").price_book == catalogue.standard


def test_changing_the_quantity_on_the_page_keeps_the_discount(alpha, rep, rep_client, catalogue):
    with tenant_context(alpha):
        opp = make_opportunity(rep, currency="CNY")
        item = services.line_item_save(
            opp,
            actor=rep,
            data={
                "price_book": catalogue.standard,
                "product": catalogue.valve,
                "discount_percent": "7.5",
            },
            channel="web",
        )
    rep_client.post(f"/opportunities/{opp.pk}/products/{item.pk}/", {"quantity": "4"})
    with tenant_context(alpha):
        item.refresh_from_db()
        assert (item.quantity, item.discount_percent) == (Decimal("4"), Decimal("7.5"))


# --- Lines without a product (priced by hand) -------------------------------------------------


def _free_text_instead_of_the_pump(quote: Quote, rep) -> None:  # type: ignore[no-untyped-def]
    """The bypass the approval rule closes: the pump line replaced by a line without a
    product at 60 % of the pump's list price, with no discount at all."""
    services.quote_line_delete(quote.lines.get(), actor=rep, channel="web")
    services.quote_line_save(
        quote,
        actor=rep,
        data={"description": "Centrifugal pump", "list_price": "7200", "quantity": "2"},
        channel="web",
    )
    quote.refresh_from_db()


def test_a_line_without_a_product_needs_a_managers_approval_before_sending(
    alpha, rep, manager, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        assert not services.needs_approval(quote)
        _free_text_instead_of_the_pump(quote, rep)
        assert quote.max_discount == Decimal("0.00")  # no discount above the limit…
        assert services.needs_approval(quote)  # …but a price set by hand
        blockers = services.send_blockers(quote)
        assert blockers == [
            "Lines without a product are priced by hand: submit the quote for approval first."
        ]
        with pytest.raises(ValidationError) as exc:
            services.quote_send(quote, actor=rep, channel="web")
        assert "priced by hand" in exc.value.message_dict["status"][0]
        assert not QuoteVersion.objects.filter(quote=quote).exists()

        services.quote_submit(quote, actor=rep, channel="web", comment="Special price")
        request = Notification.objects.get(user=manager, kind="approval_request")
        assert request.title == f"Approve quote {quote.number} (lines priced by hand)"
        services.quote_approve(quote, actor=manager, channel="web")
        quote.refresh_from_db()
        assert not services.needs_approval(quote) and services.send_blockers(quote) == []
        assert services.quote_send(quote, actor=rep, channel="web").number == 1


def test_a_discount_and_a_line_without_a_product_are_both_named(alpha, rep, manager, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="20")
        services.quote_line_save(
            quote,
            actor=rep,
            data={"description": "Freight", "list_price": "500"},
            channel="web",
        )
        quote.refresh_from_db()
        assert services.send_blockers(quote) == [
            "A discount of 20 % is above the limit of 15 %: submit the quote for approval first.",
            "Lines without a product are priced by hand: submit the quote for approval first.",
        ]
        services.quote_submit(quote, actor=rep, channel="web")
        request = Notification.objects.get(user=manager, kind="approval_request")
        assert request.title == (
            f"Approve quote {quote.number} (discount 20 %, lines priced by hand)"
        )


def test_a_quote_with_product_lines_within_the_limit_cannot_be_submitted(alpha, rep, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="5")
        with pytest.raises(ValidationError) as exc:
            services.quote_submit(quote, actor=rep, channel="web")
        assert exc.value.message_dict["status"] == [
            "No discount is above 15 % and every line has a product; the quote can be sent "
            "without approval."
        ]


@pytest.mark.parametrize(
    "change",
    [{"list_price": "7000"}, {"quantity": "3"}, {"description": "Pump, refurbished"}],
    ids=["price", "quantity", "description"],
)
def test_changing_an_approved_line_without_a_product_sends_the_quote_back_to_draft(
    alpha, rep, manager, catalogue, change
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        _free_text_instead_of_the_pump(quote, rep)
        services.quote_submit(quote, actor=rep, channel="web")
        services.quote_approve(quote, actor=manager, channel="web")
        # The header is not a price: the approval holds.
        services.quote_update(quote, actor=rep, data={"terms": "Ex works"}, channel="web")
        quote.refresh_from_db()
        assert quote.status == "approved" and not services.needs_approval(quote)

        line = quote.lines.get()
        services.quote_line_save(quote, actor=rep, line=line, data=change, channel="web")
        quote.refresh_from_db()
        assert quote.status == "draft"
        assert services.needs_approval(quote)
        assert quote.events.filter(kind=QuoteEvent.Kind.REOPENED).exists()
        with pytest.raises(ValidationError) as exc:
            services.quote_send(quote, actor=rep, channel="web")
        assert "priced by hand" in exc.value.message_dict["status"][0]


def test_an_approved_line_without_a_product_can_be_removed_without_a_new_approval(
    alpha, rep, manager, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        services.quote_line_save(
            quote, actor=rep, data={"description": "Freight", "list_price": "500"}, channel="web"
        )
        quote.refresh_from_db()
        services.quote_submit(quote, actor=rep, channel="web")
        services.quote_approve(quote, actor=manager, channel="web")
        services.quote_line_delete(quote.lines.get(product__isnull=True), actor=rep, channel="web")
        quote.refresh_from_db()
        # Only product lines within the limit are left: nothing to approve any more.
        assert quote.status == "draft" and not services.needs_approval(quote)
        services.quote_send(quote, actor=rep, channel="web")


def test_approvers_are_everyone_may_approve_allows_and_no_one_else(
    alpha, admin, rep, manager, other_rep, catalogue
):
    """The list narrowed in SQL is exactly `may_approve` over every user: admins, roles editing
    every quote, managers over the owner, and managers the quote is shared with for editing
    (directly or through their team) — never the owner, a read-only share or an inactive user."""
    from django.contrib.contenttypes.models import ContentType

    from core_crm.access.models import RecordShare, Role, Team
    from core_crm.users.models import User

    from ..customfields.helpers import user_with_role

    shared = user_with_role(alpha, "shared.manager@alpha.test", "sales_manager")
    via_team = user_with_role(alpha, "team.manager@alpha.test", "sales_manager")
    read_only = user_with_role(alpha, "read.manager@alpha.test", "sales_manager")
    everyone = user_with_role(alpha, "all.editor@alpha.test", "sales_manager")
    gone = user_with_role(alpha, "gone@alpha.test", None, admin=True)
    with tenant_context(alpha):
        role = Role.objects.create(
            key="quote_desk", name="Quote desk", permissions={"quote": {"edit": "all"}}
        )
        everyone.role = role
        everyone.save()
        gone.is_active = False
        gone.save()
        quote = quote_with(rep, catalogue, discount="30")
        kind = ContentType.objects.get_for_model(Quote)
        team = Team.objects.create(name="Deal desk")
        team.members.add(via_team)
        RecordShare.objects.create(
            content_type=kind, object_id=quote.pk, user=shared, can_edit=True
        )
        RecordShare.objects.create(content_type=kind, object_id=quote.pk, team=team, can_edit=True)
        RecordShare.objects.create(content_type=kind, object_id=quote.pk, user=read_only)
        expected = [u for u in User.objects.all() if services.may_approve(u, quote)]
        found = services.approvers(quote)
        assert found == expected
        assert {admin, manager, shared, via_team, everyone} <= set(found)
        assert not {rep, other_rep, read_only, gone} & set(found)
