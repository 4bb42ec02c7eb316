"""Reads of saved views: a person's own views and the shared ones."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from core_crm.users.models import User

from .models import ListColumns, SavedView


def views_for(user: User, object_type: str) -> QuerySet[SavedView]:
    """The views `user` may open for an object: their own and everyone's shared ones."""
    return (
        SavedView.objects.filter(object_type=object_type)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
    )


def access_view(user: User, pk: Any, *, own: bool = False) -> SavedView:
    """The view if `user` may open it (or, with `own`, change it); else Http404, the same
    as for a view that does not exist."""
    views = (
        SavedView.objects.filter(owner=user)
        if own
        else SavedView.objects.filter(Q(owner=user) | Q(shared=True))
    )
    try:
        return views.get(pk=pk)
    except (SavedView.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def columns_for(user: User, object_type: str) -> list[str] | None:
    """The columns `user` chose for the object's list, or None for the default."""
    row = ListColumns.objects.filter(user=user, object_type=object_type).first()
    return list(row.columns) if row is not None else None
