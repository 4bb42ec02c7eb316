"""Record security: the one place that decides which records a user may see or change.

Every read path (lists, detail pages, search, export, API, autocomplete) filters through
`visible()`; every write checks `require()`. An out-of-scope record is reported exactly like a
missing one, so an id from another team or tenant reveals nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import Action, RecordShare, Scope, Team

if TYPE_CHECKING:
    from core_crm.users.models import User

M = TypeVar("M", bound=Model)


class PermissionDenied(Exception):
    """The actor's role does not allow this action; the message says what would."""


def scope_for(user: User, object_type: str, action: str) -> str:
    if not user.is_active:
        return Scope.NONE
    if user.is_workspace_admin:
        return Scope.ALL
    role = user.role
    return role.scope(object_type, action) if role is not None else Scope.NONE


def _team_user_ids(user: User) -> QuerySet[Any]:
    teams = Team.objects.filter(members=user).values("pk")
    return Team.members.through.objects.filter(team_id__in=teams).values("user_id")


def _shared_ids(user: User, model: type[Model], action: str) -> QuerySet[Any] | None:
    if action not in (Action.READ, Action.EDIT):
        return None
    shares = RecordShare.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
    ).filter(Q(user=user) | Q(team__in=Team.objects.filter(members=user).values("pk")))
    if action == Action.EDIT:
        shares = shares.filter(can_edit=True)
    return shares.values("object_id")


def visible(
    user: User, queryset: QuerySet[M], object_type: str, action: str = Action.READ
) -> QuerySet[M]:
    """The records of `queryset` on which `user` may perform `action`."""
    scope = scope_for(user, object_type, action)
    if scope == Scope.ALL:
        return queryset
    if scope == Scope.NONE:
        return queryset.none()
    condition = Q(owner=user)
    if scope == Scope.TEAM:
        condition |= Q(owner_id__in=_team_user_ids(user))
    shared = _shared_ids(user, queryset.model, action)
    if shared is not None:
        condition |= Q(pk__in=shared)
    return queryset.filter(condition)


def access_or_404(
    user: User, queryset: QuerySet[M], pk: object, object_type: str, action: str = Action.READ
) -> M:
    """The record, if it exists and `user` may perform `action` on it; else Http404, the same
    as for a record that does not exist."""
    try:
        return visible(user, queryset, object_type, action).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:  # type: ignore[attr-defined]
        raise Http404 from exc


def can(user: User, action: str, obj: Model, object_type: str) -> bool:
    model = type(obj)
    return (
        visible(user, model._default_manager.all(), object_type, action).filter(pk=obj.pk).exists()
    )


def may_give_to(actor: User, owner: User, object_type: str) -> bool:
    """Whether `actor` may make `owner` the owner of `object_type` records (creating, importing
    or reassigning them). One rule for every path: the new owner is an active user, and the
    actor may edit that person's records (themself always; teammates with team scope; anyone
    with all scope or as a workspace admin)."""
    if not owner.is_active or not actor.is_active:
        return False
    if owner.pk == actor.pk or actor.is_workspace_admin:
        return True
    scope = scope_for(actor, object_type, Action.EDIT)
    if scope == Scope.ALL:
        return True
    if scope == Scope.TEAM:
        return Team.objects.filter(members=actor).filter(members=owner).exists()
    return False


def assignable_owners(actor: User, object_type: str) -> QuerySet[Any]:
    """The users `may_give_to` allows, as a queryset (for choice lists)."""
    from core_crm.users.models import User

    users = User.objects.filter(is_active=True)
    if actor.is_workspace_admin:
        return users
    scope = scope_for(actor, object_type, Action.EDIT)
    if scope == Scope.ALL:
        return users
    if scope == Scope.TEAM:
        return users.filter(Q(pk=actor.pk) | Q(pk__in=_team_user_ids(actor)))
    return users.filter(pk=actor.pk)


def require_workspace_admin(actor: User, message: str) -> None:
    """Workspace settings (roles, picklists, custom fields, pipelines) change only by an active
    workspace admin; `message` says what was refused."""
    if not (actor.is_active and actor.is_workspace_admin):
        raise PermissionDenied(message)


# Lower-case plurals for messages ("…does not allow creating quotes"); marked for translation.
CREATE_OBJECTS = {
    "account": gettext_noop("accounts"),
    "contact": gettext_noop("contacts"),
    "lead": gettext_noop("leads"),
    "opportunity": gettext_noop("opportunities"),
    "quote": gettext_noop("quotes"),
    "activity": gettext_noop("activities"),
}


def require_create(user: User, object_type: str) -> None:
    if scope_for(user, object_type, Action.CREATE) != Scope.ALL:
        raise PermissionDenied(
            _(
                "Your role does not allow creating %(objects)s. Ask a workspace admin to "
                "grant the permission."
            )
            % {"objects": _(CREATE_OBJECTS.get(object_type, object_type))}
        )
