"""What a record's history offers about merges: which merge entries can still be undone."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.db.models import Model

from core_crm.audit.models import AuditEntry
from core_crm.customers.merge import NOT_DUPLICATE_CHANGE, is_merge_entry

register = template.Library()


@register.simple_tag
def undoable_merges(history: Iterable[AuditEntry], obj: Model) -> set[int]:
    """The ids of the merge entries in `history` (entries of `obj`) not undone yet, in one
    query whatever their number. Iterating a queryset here fills its cache, so the page's own
    loop over the same history costs nothing more."""
    merges = [entry for entry in history if is_merge_entry(entry)]
    if not merges:
        return set()
    undone = AuditEntry.objects.filter(
        kind=AuditEntry.Kind.UNMERGE,
        content_type_id=merges[0].content_type_id,
        object_id=obj.pk,
        changes__merge_entry__in=[entry.pk for entry in merges],
    ).values_list("changes__merge_entry", flat=True)
    done = {int(pk) for pk in undone if pk is not None}
    return {entry.pk for entry in merges if entry.pk not in done}


@register.filter
def is_not_duplicate_change(name: str) -> bool:
    """Whether a change in an audit entry is a "not duplicates" mark (see merge.py)."""
    return name == NOT_DUPLICATE_CHANGE
