"""Writes on saved views and list columns. A view belongs to its owner: only they rename,
share or delete it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core_crm.access.policy import PermissionDenied
from core_crm.users.models import User

from .models import ListColumns, ObjectType, SavedView

# What a view keeps of a list's query string; paging and selections are not part of a view.
DROPPED_PARAMS = {"page", "view", "csrfmiddlewaretoken", "ids", "all", "action"}
MAX_QUERY = 4000


def clean_query(query: str) -> str:
    pairs = [
        (k, v)
        for k, v in parse_qsl(query or "", keep_blank_values=False)
        if k not in DROPPED_PARAMS and v.strip()
    ]
    return urlencode(pairs)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("At most 100 characters.")]})
    return name


def view_create(
    *, actor: User, object_type: str, name: str, query: str, shared: bool = False
) -> SavedView:
    """Save the list as it is now (search, filters, sort order, columns) under a name."""
    if object_type not in ObjectType.values:
        raise ValidationError({"object_type": [_("Unknown list.")]})
    query = clean_query(query)
    if len(query) > MAX_QUERY:
        raise ValidationError({"query": [_("This list has too many filters to save.")]})
    name = _clean_name(name)
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                object_type=object_type, name=name, owner=actor, query=query, shared=shared
            )
    except IntegrityError:
        raise ValidationError({"name": [_("You already have a view with this name.")]}) from None


def view_update(*, actor: User, view: SavedView, name: str, shared: bool) -> SavedView:
    if view.owner_id != actor.pk:
        raise PermissionDenied(_("Only the person who saved a view can change it."))
    view.name, view.shared = _clean_name(name), shared
    try:
        with transaction.atomic():
            view.save(update_fields=["name", "shared", "updated_at"])
    except IntegrityError:
        raise ValidationError({"name": [_("You already have a view with this name.")]}) from None
    return view


def view_delete(*, actor: User, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        raise PermissionDenied(_("Only the person who saved a view can delete it."))
    view.delete()


def columns_save(*, user: User, object_type: str, columns: list[str] | None) -> None:
    """Remember the columns `user` chose for an object's list (None: back to the default)."""
    if columns is None:
        ListColumns.objects.filter(user=user, object_type=object_type).delete()
        return
    ListColumns.objects.update_or_create(
        user=user, object_type=object_type, defaults={"columns": list(columns)}
    )
