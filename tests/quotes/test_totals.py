"""Quote totals: an independent Decimal computation agrees, whatever the lines and their order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core_crm.quotes.totals import line_amounts, price_fingerprint, quote_totals


@dataclass
class Line:
    quantity: Decimal
    list_price: Decimal
    discount_percent: Decimal
    product_id: int | None = None


def money(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=2)


lines = st.lists(
    st.builds(
        Line,
        quantity=money("0.01", "100000"),
        list_price=money("0", "1000000"),
        discount_percent=money("0", "100"),
        product_id=st.integers(1, 50),
    ),
    max_size=12,
)
tax_rates = money("0", "100")


def expected(items: list[Line], tax: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The documented rules, written out again without the production code."""
    cent = Decimal("0.01")
    subtotal = discounts = Decimal(0)
    for item in items:
        gross = (item.quantity * item.list_price).quantize(cent, rounding=ROUND_HALF_UP)
        subtotal += gross
        discounts += (gross * item.discount_percent / 100).quantize(cent, rounding=ROUND_HALF_UP)
    taxed = ((subtotal - discounts) * tax / 100).quantize(cent, rounding=ROUND_HALF_UP)
    return subtotal, discounts, taxed, subtotal - discounts + taxed


@settings(max_examples=300, deadline=None)
@given(lines, tax_rates)
def test_totals_equal_an_independent_decimal_computation(items, tax):
    totals = quote_totals(items, tax)
    subtotal, discounts, taxed, grand = expected(items, tax)
    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.grand_total) == (
        subtotal,
        discounts,
        taxed,
        grand,
    )
    assert totals.grand_total == totals.subtotal - totals.discount_total + totals.tax_total
    assert totals.net_total == sum(
        (line_amounts(i.quantity, i.list_price, i.discount_percent).net for i in items), Decimal(0)
    )


@settings(max_examples=300, deadline=None)
@given(lines, tax_rates)
def test_nothing_is_ever_negative_and_everything_is_in_cents(items, tax):
    totals = quote_totals(items, tax)
    for value in (totals.subtotal, totals.discount_total, totals.tax_total, totals.grand_total):
        assert value >= 0
        assert value == value.quantize(Decimal("0.01"))
    assert totals.discount_total <= totals.subtotal


@settings(max_examples=200, deadline=None)
@given(lines, tax_rates, st.randoms(use_true_random=False))
def test_the_order_of_lines_changes_neither_totals_nor_what_an_approval_covers(items, tax, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert quote_totals(shuffled, tax) == quote_totals(items, tax)
    assert price_fingerprint(shuffled) == price_fingerprint(items)


def test_half_cents_round_up_and_a_worked_example():
    # 3 × 33.335 is not possible (prices are in cents); 3 × 10.05 at 12.5 % discount:
    # gross 30.15, discount 3.76875 → 3.77, net 26.38, tax 13 % of 26.38 = 3.4294 → 3.43.
    totals = quote_totals([Line(Decimal(3), Decimal("10.05"), Decimal("12.5"))], Decimal(13))
    assert totals.discount_total == Decimal("3.77")
    assert totals.tax_total == Decimal("3.43")
    assert totals.grand_total == Decimal("29.81")
    assert line_amounts(Decimal(1), Decimal("0.05"), Decimal(50)).discount == Decimal("0.03")


def test_a_changed_discount_changes_what_an_approval_covers():
    before = [Line(Decimal(1), Decimal(100), Decimal(20), 1)]
    after = [Line(Decimal(1), Decimal(100), Decimal("20.01"), 1)]
    assert price_fingerprint(before) != price_fingerprint(after)
