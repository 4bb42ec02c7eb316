from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

register = template.Library()


@register.filter
def cell(obj: Any, name: str) -> Any:
    """A list cell: choice labels for choice fields, '' for empty values."""
    from core_crm.customers.views import display_value

    return display_value(obj, name)


@register.filter
def record_name(obj: Any) -> str:
    """The name a list shows in its first column."""
    from core_crm.customers.views import record_name as name

    return name(obj)


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def field_label(name: str, model: Any) -> str:
    return str(model._meta.get_field(name).verbose_name)


@register.filter
def toggle_sort(field: str, current: str) -> str:
    return f"-{field}" if current == field else field


@register.simple_tag
def query_with(request: HttpRequest, **changes: Any) -> str:
    """The current query string with some parameters changed ('' removes one)."""
    params = request.GET.copy()
    for key, value in changes.items():
        if value in ("", None):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, key)
