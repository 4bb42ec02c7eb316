"""Main-menu entries of the sales apps, shown when the page exists and the role reads the
object: (url name, label, object type)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SALES_NAV = [
    ("opportunity_list", _("Opportunities"), "opportunity"),
    ("quote_list", _("Quotes"), "quote"),
    ("calendar", _("Calendar"), "activity"),
    ("forecast", _("Forecast"), "opportunity"),
]
