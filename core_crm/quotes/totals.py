"""Quote arithmetic, in Decimal with cents rounded half up (ROUND_HALF_UP).

The rules, line by line and then for the quote:

* line gross    = quantity × list price, rounded to cents
* line discount = line gross × discount % ÷ 100, rounded to cents
* line net      = line gross − line discount
* subtotal      = Σ line gross
* discounts     = Σ line discount
* net total     = subtotal − discounts (= Σ line net)
* tax           = net total × tax rate % ÷ 100, rounded to cents
* grand total   = net total + tax

Each line is rounded on its own, so totals do not depend on the order of the lines, and with
quantities above zero, prices at or above zero and discounts from 0 to 100 % nothing is
negative.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class PricedLine(Protocol):
    quantity: Decimal
    list_price: Decimal
    discount_percent: Decimal


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    net: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    net_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    max_discount: Decimal


def line_amounts(quantity: Decimal, list_price: Decimal, discount_percent: Decimal) -> LineAmounts:
    gross = cents(Decimal(quantity) * Decimal(list_price))
    discount = cents(gross * Decimal(discount_percent) / HUNDRED)
    return LineAmounts(gross, discount, gross - discount)


def quote_totals(lines: Iterable[PricedLine], tax_rate: Decimal) -> Totals:
    subtotal = discounts = Decimal("0.00")
    max_discount = Decimal("0.00")
    for line in lines:
        amounts = line_amounts(line.quantity, line.list_price, line.discount_percent)
        subtotal += amounts.gross
        discounts += amounts.discount
        max_discount = max(max_discount, Decimal(line.discount_percent))
    net = subtotal - discounts
    tax = cents(net * Decimal(tax_rate) / HUNDRED)
    return Totals(subtotal, discounts, net, tax, net + tax, max_discount)


def price_fingerprint(lines: Iterable[PricedLine]) -> str:
    """What an approval covers: the set of (product, quantity, list price, discount) of the
    lines, whatever their order. Changing any price or discount changes it."""
    parts = sorted(
        "|".join(
            [
                str(getattr(line, "product_id", "") or ""),
                f"{Decimal(line.quantity):.2f}",
                f"{Decimal(line.list_price):.2f}",
                f"{Decimal(line.discount_percent):.2f}",
            ]
        )
        for line in lines
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
