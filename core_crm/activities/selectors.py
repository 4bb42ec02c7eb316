"""Reads on activities, always through record security: the role's scope on "activity"
records (assignee = owner), plus the activities a person takes part in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from core_crm.access.models import Action
from core_crm.access.policy import visible
from core_crm.users.models import User

from .models import Activity, FollowUpPlan

# When an activity happens: its start, or a task's due time.
WHEN = Coalesce("start_at", "due_at")


def activity_list(user: User, action: str = Action.READ) -> QuerySet[Activity]:
    """Activities `user` may read (or, with another action, act on by their role)."""
    scoped = visible(user, Activity.objects.all(), "activity", action)
    if action != Action.READ or not user.is_active:
        return scoped
    taking_part = Activity.participants.through.objects.filter(user_id=user.pk).values(
        "activity_id"
    )
    return Activity.objects.filter(Q(pk__in=scoped.values("pk")) | Q(pk__in=taking_part))


def involving(user: User) -> Q:
    """Activities assigned to `user` or that they take part in ("mine", whatever the role's
    scope): combine with `activity_list` to stay within record security."""
    taking_part = Activity.participants.through.objects.filter(user_id=user.pk).values(
        "activity_id"
    )
    return Q(owner_id=user.pk) | Q(pk__in=taking_part)


def with_related(queryset: QuerySet[Activity]) -> QuerySet[Activity]:
    return queryset.select_related("owner", "account", "contact", "lead", "opportunity", "plan")


def access_activity(user: User, pk: object, action: str = Action.READ) -> Activity:
    """The activity if `user` may perform `action` on it; else 404 exactly like a missing one."""
    try:
        return with_related(activity_list(user, action)).get(pk=pk)  # type: ignore[misc]
    except (Activity.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def in_range(
    queryset: QuerySet[Activity], start: dt.datetime, end: dt.datetime
) -> QuerySet[Activity]:
    """Activities on the calendar between `start` and `end` (overlapping it)."""
    timed = Q(start_at__lt=end) & (
        Q(end_at__gt=start) | Q(end_at__isnull=True, start_at__gte=start)
    )
    due = Q(due_at__gte=start, due_at__lt=end)
    return queryset.filter(timed | due)


def team_user_ids(user: User) -> QuerySet[Any]:
    from core_crm.access.models import Team

    teams = Team.objects.filter(members=user).values("pk")
    return Team.members.through.objects.filter(team_id__in=teams).values("user_id")


def activities_for(obj: Model, user: User) -> QuerySet[Activity]:
    """The activities about `obj` (an account, contact, lead or opportunity) that `user` may
    read, planned and done, newest first. Accounts include activities recorded on their
    contacts and opportunities (stored with the account too)."""
    from core_crm.customers.models import Account, Contact, Lead
    from core_crm.sales.models import Opportunity

    field = {Account: "account", Contact: "contact", Lead: "lead", Opportunity: "opportunity"}[
        type(obj)  # type: ignore[index]
    ]
    # Open ones first, then by when they happen (a task by its due time), latest first.
    return with_related(activity_list(user).filter(**{field: obj})).order_by(
        "done", WHEN.desc(nulls_last=True), "-pk"
    )


def plan_list() -> QuerySet[FollowUpPlan]:
    return FollowUpPlan.objects.select_related("account")
