"""`{% load notifications %}{% notification_bell %}`: the bell of the page header."""

from __future__ import annotations

from typing import Any

from django import template

from ..services import unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    # Pages that counted already (the notifications list) pass `unread` in their context.
    unread = context.get("unread")
    return {"show": True, "unread": unread_count(user) if unread is None else unread}
