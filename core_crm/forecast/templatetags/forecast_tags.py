"""Formatting of forecast figures."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def amount(value: Any) -> str:
    """1234567.5 -> 1,234,567.50; None -> an em dash."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):.1f} %"


@register.filter
def bar_width(value: Any) -> int:
    """An attainment percentage as a bar width (0 to 100)."""
    if value is None:
        return 0
    return max(0, min(100, int(Decimal(value))))


@register.filter
def as_json(value: Any) -> str:
    return json.dumps(value)
