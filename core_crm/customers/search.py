"""Global search across accounts, contacts, leads, opportunities, quotes and activities,
through record security.

Accounts, contacts and leads keep two stored, generated columns: `search_text` (lower-cased
fields plus phone digits, GIN trigram index) for partial words, Chinese text and phone numbers,
and `search_vector` ('simple' full-text, GIN index) to rank whole-word matches first.
Opportunities (name), quotes (number, title) and activities (subject) are matched on those
fields, case-insensitively, through trigram indexes on UPPER(field), and listed newest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q, QuerySet

from core_crm.users.models import User

from . import selectors

MIN_LENGTH = 2


@dataclass(frozen=True)
class SearchGroup:
    object_type: str
    slug: str
    results: list[Any]
    label: str = ""


def _matching(queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
    needle = term.lower()
    condition = Q(search_text__contains=needle)
    digits = re.sub(r"\D", "", term)
    if len(digits) >= 5 and digits != needle:
        condition |= Q(search_text__contains=digits)
    query = SearchQuery(term, config="simple", search_type="websearch")
    return (
        queryset.filter(condition | Q(search_vector=query))
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "pk")
    )


def _sales_groups(user: User, term: str) -> list[tuple[str, str, str, QuerySet[Any]]]:
    from django.utils.translation import gettext as _

    from core_crm.activities.selectors import WHEN, activity_list, with_related
    from core_crm.quotes.selectors import quote_list
    from core_crm.sales.selectors import opportunity_list

    opportunities = (
        opportunity_list(user)
        .filter(name__icontains=term)
        .select_related("account", "stage")
        .order_by("-updated_at", "-pk")
    )
    quotes = (
        quote_list(user)
        .filter(Q(number__icontains=term) | Q(title__icontains=term))
        .select_related("account", "owner", "opportunity")
        .order_by("-created_at", "-pk")
    )
    activities = (
        with_related(activity_list(user))
        .filter(subject__icontains=term)
        .prefetch_related("participants", "contact_participants")  # the API lists them
        .order_by(WHEN.desc(nulls_last=True), "-pk")
    )
    return [
        ("opportunity", "opportunities", _("Opportunities"), opportunities),
        ("quote", "quotes", _("Quotes"), quotes),
        ("activity", "activities", _("Activities"), activities),
    ]


def global_search(user: User, term: str, per_type: int = 5) -> list[SearchGroup]:
    """Up to `per_type` matches of each object type the user may read, best first."""
    from django.utils.translation import gettext as _

    term = term.strip()
    if len(term) < MIN_LENGTH:
        return []
    groups = [
        ("account", "customers", _("Accounts"), selectors.account_list(user)),
        (
            "contact",
            "contacts",
            _("Contacts"),
            selectors.contact_list(user).select_related("account"),
        ),
        ("lead", "leads", _("Leads"), selectors.lead_list(user)),
    ]
    found = [
        SearchGroup(object_type, slug, list(_matching(queryset, term)[:per_type]), label)
        for object_type, slug, label, queryset in groups
    ]
    found += [
        SearchGroup(object_type, slug, list(queryset[:per_type]), label)
        for object_type, slug, label, queryset in _sales_groups(user, term)
    ]
    return found
