"""A catalogue, a sales team (manager over the rep) and a rep of another team in alpha."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from core_crm.access.models import Team
from core_crm.quotes import services
from core_crm.quotes.models import PriceBook, Product, Quote
from core_crm.sales.models import Currency, Opportunity

from ..api.conftest import admin_api, beta_api, rep_api  # noqa: F401
from ..customfields.helpers import user_with_role
from ..sales.factories import make_opportunity


@dataclass
class Catalogue:
    pump: Product
    valve: Product
    service: Product
    standard: PriceBook
    usd: PriceBook


def make_catalogue(admin: Any) -> Catalogue:
    Currency.objects.get_or_create(code="USD", defaults={"rate_to_base": Decimal("7.1")})
    pump = services.product_save(
        actor=admin,
        data={"code": "P-100", "name": "Centrifugal pump", "unit": "pcs"},
        channel="web",
    )
    valve = services.product_save(
        actor=admin, data={"code": "V-200", "name": "Ball valve 球阀", "unit": "pcs"}, channel="web"
    )
    service = services.product_save(
        actor=admin,
        data={"code": "S-1", "name": "Installation", "unit": "day"},
        channel="web",
    )
    standard = services.price_book_save(
        actor=admin,
        data={"name": "Standard", "currency": "CNY", "is_standard": True},
        channel="web",
    )
    usd = services.price_book_save(
        actor=admin, data={"name": "Export USD", "currency": "USD"}, channel="web"
    )
    for product, price in ((pump, "12000.00"), (valve, "850.50"), (service, "3000")):
        services.price_set(
            actor=admin, book=standard, product=product, unit_price=price, channel="web"
        )
    services.price_set(actor=admin, book=usd, product=pump, unit_price="1700", channel="web")
    return Catalogue(pump, valve, service, standard, usd)


@pytest.fixture
def catalogue(alpha, admin) -> Catalogue:
    with tenant_context(alpha):
        return make_catalogue(admin)


@pytest.fixture
def manager(alpha, rep):  # type: ignore[no-untyped-def]
    """A sales manager whose team has the rep in it."""
    user = user_with_role(alpha, "manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        team, _ = Team.objects.get_or_create(name="East")
        team.members.add(user, rep)
    return user


@pytest.fixture
def other_rep(alpha):  # type: ignore[no-untyped-def]
    """A rep of another team."""
    user = user_with_role(alpha, "other.rep@alpha.test", "sales_rep")
    with tenant_context(alpha):
        team, _ = Team.objects.get_or_create(name="West")
        team.members.add(user)
    return user


def quote_with(
    owner: Any,
    cat: Catalogue,
    *,
    discount: str = "0",
    quantity: str = "2",
    opp: Opportunity | None = None,
) -> Quote:
    """A draft quote of `owner` with one pump line (tenant context active)."""
    opp = opp or make_opportunity(owner, name="Pump deal", currency="CNY")
    quote = services.quote_create(opp, actor=owner, channel="web")
    services.quote_line_save(
        quote,
        actor=owner,
        data={"product": cat.pump, "quantity": quantity, "discount_percent": discount},
        channel="web",
    )
    quote.refresh_from_db()
    return quote
