"""Who sets and who reads quotas, and whose figures a person may see in the forecast.

Quotas are set by workspace admins and by people whose role edits all opportunities (anyone)
or their teams' opportunities (the other members of their teams, and those teams)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from core_crm.access.models import Action, Scope, Team
from core_crm.access.policy import scope_for

from .models import Quota

if TYPE_CHECKING:
    from core_crm.users.models import User


def _edit_scope(actor: User) -> str:
    return scope_for(actor, "opportunity", Action.EDIT)


def read_scope(actor: User) -> str:
    """The actor's read scope on opportunities: whose figures the forecast and reports add up."""
    return scope_for(actor, "opportunity", Action.READ)


def may_read_opportunities(actor: User) -> bool:
    """The forecast and the reports add up opportunities; a role reading none has none."""
    return read_scope(actor) != Scope.NONE


def _my_team_ids(actor: User) -> QuerySet[Any]:
    return Team.objects.filter(members=actor).values("pk")


def settable_users(actor: User) -> QuerySet[User]:
    """Active people whose quotas `actor` may set."""
    from core_crm.users.models import User

    users = User.objects.filter(is_active=True)
    scope = _edit_scope(actor)
    if scope == Scope.ALL:
        return users
    if scope == Scope.TEAM:
        mates = Team.members.through.objects.filter(team_id__in=_my_team_ids(actor))
        return users.filter(pk__in=mates.values("user_id")).exclude(pk=actor.pk)
    return users.none()


def settable_teams(actor: User) -> QuerySet[Team]:
    scope = _edit_scope(actor)
    if scope == Scope.ALL:
        return Team.objects.all()
    if scope == Scope.TEAM:
        return Team.objects.filter(members=actor)
    return Team.objects.none()


def may_set_quota(actor: User, *, user: User | None = None, team: Team | None = None) -> bool:
    if not actor.is_active:
        return False
    if user is not None:
        return settable_users(actor).filter(pk=user.pk).exists()
    if team is not None:
        return settable_teams(actor).filter(pk=team.pk).exists()
    return False


def may_manage_quotas(actor: User) -> bool:
    return _edit_scope(actor) in (Scope.TEAM, Scope.ALL)


def readable_quotas(actor: User) -> QuerySet[Quota]:
    """Quotas `actor` may read: their own and their teams', those they may set, and with an
    all-records read scope on opportunities, every quota."""
    quotas = Quota.objects.select_related("user", "team")
    if read_scope(actor) == Scope.ALL or _edit_scope(actor) == Scope.ALL:
        return quotas
    mine = Q(user=actor) | Q(team_id__in=_my_team_ids(actor))
    if _edit_scope(actor) == Scope.TEAM or read_scope(actor) == Scope.TEAM:
        mates = Team.members.through.objects.filter(team_id__in=_my_team_ids(actor))
        mine |= Q(user_id__in=mates.values("user_id"))
    return quotas.filter(mine)
