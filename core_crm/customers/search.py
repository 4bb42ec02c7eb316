"""Global search across accounts, contacts and leads, through record security.

Each object keeps two stored, generated columns: `search_text` (lower-cased fields plus phone
digits, GIN trigram index) for partial words, Chinese text and phone numbers, and
`search_vector` ('simple' full-text, GIN index) to rank whole-word matches first.
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


def global_search(user: User, term: str, per_type: int = 5) -> list[SearchGroup]:
    """Up to `per_type` matches of each object type the user may read, best first."""
    term = term.strip()
    if len(term) < MIN_LENGTH:
        return []
    groups = [
        ("account", "customers", selectors.account_list(user)),
        ("contact", "contacts", selectors.contact_list(user).select_related("account")),
        ("lead", "leads", selectors.lead_list(user)),
    ]
    return [
        SearchGroup(object_type, slug, list(_matching(queryset, term)[:per_type]))
        for object_type, slug, queryset in groups
    ]
