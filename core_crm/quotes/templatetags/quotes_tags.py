from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def money(value: Any, currency: str = "") -> str:
    """1234.5 → "1,234.50 CNY"."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip()


@register.filter
def percent(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount.normalize():f} %"


STATUS_CLASSES = {
    "draft": "bg-slate-100 text-slate-700",
    "in_review": "bg-amber-100 text-amber-800",
    "approved": "bg-sky-100 text-sky-800",
    "sent": "bg-indigo-100 text-indigo-800",
    "accepted": "bg-emerald-100 text-emerald-800",
    "rejected": "bg-red-100 text-red-800",
    "expired": "bg-slate-200 text-slate-600",
}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "bg-slate-100 text-slate-700")
