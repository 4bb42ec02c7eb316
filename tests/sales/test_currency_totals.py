"""Totals over deals in several currencies are sums in the base currency (CNY here), on the
opportunity list, the board (page, column cards, the JSON after a move) and the account's
Opportunities tab — never a sum of amounts in different currencies.

The rep's three deals on one account, 1 USD = 7.1 CNY:
  Export pumps   1,250.50 USD  negotiation 75 %  8,878.55 CNY  weighted 6,658.9125
  Local valves   3,000.00 CNY  negotiation 75 %  3,000.00 CNY  weighted 2,250.00
  Spare parts      200.00 USD  won        100 %  1,420.00 CNY  weighted 1,420.00
  all            (a raw mix would be 4,450.50)  13,298.55 CNY  weighted 10,328.9125
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.customers.models import Account
from core_crm.sales import currency_services
from core_crm.sales.currency import base_currency
from core_crm.sales.models import Currency, Opportunity
from core_crm.sales.opportunities import opportunity_create

from .factories import stage


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def part(page: str, testid: str, end: str) -> str:
    """The text of the element marked `testid`, up to `end`."""
    return squeeze(page.split(f'data-testid="{testid}"')[1].split(">", 1)[1].split(end)[0])


@pytest.fixture
def deals(alpha, admin, rep):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        assert base_currency() == "CNY"
        Currency.objects.update_or_create(code="USD", defaults={"rate_to_base": Decimal("7.1")})
        account = Account.objects.create(name="Shenzhen Trading", owner=rep)
        close = timezone.localdate() + dt.timedelta(days=40)

        def deal(name: str, amount: str, currency: str, stage_key: str) -> Opportunity:
            return opportunity_create(
                actor=rep,
                channel="web",
                data={
                    "name": name,
                    "account": account.pk,
                    "amount": amount,
                    "currency": currency,
                    "close_date": close,
                    "stage": stage(stage_key).pk,
                },
            )

        made = {
            "export": deal("Export pumps", "1250.50", "USD", "negotiation"),
            "local": deal("Local valves", "3000", "CNY", "negotiation"),
            "spares": deal("Spare parts", "200", "USD", "won"),
        }
        assert [made[k].amount_base for k in ("export", "local", "spares")] == [
            Decimal("8878.55"),
            Decimal("3000.00"),
            Decimal("1420.00"),
        ]
        # The admin's deal the rep does not see: 999 USD = 7,092.90 CNY, never in the rep's totals.
        hidden = Account.objects.create(name="Hidden", owner=admin)
        opportunity_create(
            actor=admin,
            channel="web",
            data={
                "name": "Boss deal",
                "account": hidden.pk,
                "amount": "999",
                "currency": "USD",
                "close_date": close,
                "stage": stage("negotiation").pk,
            },
        )
    return {"account": account, **made}


def test_opportunity_list_totals_are_in_the_base_currency(alpha, rep_client, admin_client, deals):
    page = rep_client.get("/opportunities/").content.decode()
    totals = part(page, "list-totals", "</p>")
    assert totals == "3 opportunities · total 13,298.55 CNY · weighted 10,328.91 CNY"
    table = squeeze(page.split('data-testid="opportunity-table"')[1].split("</table>")[0])
    # Each row keeps its own currency.
    assert "1,250.50 USD" in table and "3,000.00 CNY" in table and "200.00 USD" in table
    assert "Boss deal" not in table
    filtered = rep_client.get("/opportunities/?outcome=open").content.decode()
    assert part(filtered, "list-totals", "</p>") == (
        "2 opportunities · total 11,878.55 CNY · weighted 8,908.91 CNY"
    )
    # The admin sees the fourth deal too: 13,298.55 + 7,092.90 = 20,391.45; weighted
    # 10,328.9125 + 5,319.675 = 15,648.5875.
    everyone = admin_client.get("/opportunities/").content.decode()
    assert part(everyone, "list-totals", "</p>") == (
        "4 opportunities · total 20,391.45 CNY · weighted 15,648.59 CNY"
    )


def test_board_columns_and_move_json_sum_in_the_base_currency(alpha, rep_client, deals):
    board = rep_client.get("/opportunities/board/").content.decode()
    assert part(board, "board-totals", "</p>") == (
        "3 opportunities · total 13,298.55 CNY · weighted 10,328.91 CNY"
    )
    negotiation = part(board, "column-negotiation", "</header>")
    assert negotiation.endswith("2 · 11,878.55 CNY · weighted 8,908.91 CNY")
    won = part(board, "column-won", "</header>")
    assert won.endswith("1 · 1,420.00 CNY · weighted 1,420.00 CNY")

    with tenant_context(alpha):
        negotiation_stage, proposal = stage("negotiation"), stage("proposal")
    cards = rep_client.get(f"/opportunities/board/column/{negotiation_stage.pk}/").content.decode()
    assert cards.count('class="card ') == 2
    assert "1,250.50 USD" in squeeze(cards) and "3,000.00 CNY" in squeeze(cards)

    moved = rep_client.post(
        f"/opportunities/{deals['local'].pk}/move/",
        {"stage": proposal.pk},
        HTTP_ACCEPT="application/json",
    )
    assert moved.status_code == 200, moved.content
    columns = moved.json()["columns"]
    assert columns[str(negotiation_stage.pk)] == {
        "count": 1,
        "total": "8,878.55",
        "weighted": "6,658.91",
    }
    assert columns[str(proposal.pk)] == {"count": 1, "total": "3,000.00", "weighted": "1,500.00"}
    assert columns[str(stage("won").pk)] == {
        "count": 1,
        "total": "1,420.00",
        "weighted": "1,420.00",
    }


def test_account_tab_sums_open_and_won_in_the_base_currency(alpha, rep_client, deals):
    account = deals["account"]
    response = rep_client.get(f"/customers/{account.pk}/?tab=opportunities")
    assert response.status_code == 200
    tab = part(response.content.decode(), "account-opportunities", "</p>")
    assert tab == "2 open opportunities · open 11,878.55 CNY · won 1,420.00 CNY"


def test_a_new_rate_moves_open_totals_only(alpha, admin, rep_client, deals):
    with tenant_context(alpha):
        usd = Currency.objects.get(code="USD")
        # Only the open USD deal is recomputed: 1,250.50 x 7.2 = 9,003.60; the won one keeps
        # the 1,420.00 it closed at (the admin's USD deal is the third open one).
        assert (
            currency_services.currency_set_rate(actor=admin, currency=usd, rate_to_base="7.2") == 2
        )
    page = rep_client.get("/opportunities/").content.decode()
    # 9,003.60 + 3,000.00 + 1,420.00 = 13,423.60; weighted 6,752.70 + 2,250.00 + 1,420.00.
    assert part(page, "list-totals", "</p>") == (
        "3 opportunities · total 13,423.60 CNY · weighted 10,422.70 CNY"
    )
    tab = part(
        rep_client.get(f"/customers/{deals['account'].pk}/?tab=opportunities").content.decode(),
        "account-opportunities",
        "</p>",
    )
    assert tab == "2 open opportunities · open 12,003.60 CNY · won 1,420.00 CNY"
