"""Money in several currencies: every total is shown in the workspace's base currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core_crm.workspace.models import workspace_settings

from .models import Currency

CENT = Decimal("0.01")


def base_currency() -> str:
    return workspace_settings().base_currency


def rates() -> dict[str, Decimal]:
    """{code: value of one unit in the base currency} for every usable currency (base = 1)."""
    table = {c.code: c.rate_to_base for c in Currency.objects.filter(is_active=True)}
    table[base_currency()] = Decimal(1)
    return table


def to_base(amount: Decimal, currency: str, table: dict[str, Decimal] | None = None) -> Decimal:
    table = table if table is not None else rates()
    if currency not in table:
        raise ValidationError(
            {
                "currency": [
                    _("“%(code)s” is not a currency of this workspace.") % {"code": currency}
                ]
            }
        )
    return (Decimal(amount) * table[currency]).quantize(CENT, rounding=ROUND_HALF_UP)
