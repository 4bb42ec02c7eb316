"""The navigation shared by the workspace settings pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (label, URL name or plain path, admins only). Custom fields live at a plain path, so the
# menu needs nothing from the app that serves them.
SETTINGS_PAGES: list[tuple[Any, str, bool]] = [
    (_("Users and invitations"), "settings_users", True),
    (_("Roles"), "settings_roles", True),
    (_("Picklists"), "settings_picklists", True),
    (_("Custom fields"), "/settings/fields/", True),
    (_("Pipelines"), "settings_pipelines", True),
    (_("Sales settings"), "settings_sales", True),
    # Pages of apps that may not be installed yet: listed once their URL name resolves.
    (_("Products"), "product_list", True),
    (_("Price books"), "price_book_list", True),
    (_("Follow-up plans"), "followup_plan_list", True),
    (_("API tokens"), "api_tokens", False),
]


@register.inclusion_tag("settings/_nav.html", takes_context=True)
def settings_nav(context: dict[str, Any]) -> dict[str, Any]:
    """The settings pages the signed-in person may open, the current one marked."""
    request = context["request"]
    user = request.user
    is_admin = bool(getattr(user, "is_workspace_admin", False))
    items = []
    for label, target, admins_only in SETTINGS_PAGES:
        if admins_only and not is_admin:
            continue
        try:
            url = target if target.startswith("/") else reverse(target)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {"items": items}
