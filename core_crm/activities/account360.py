"""The account 360° page's "Activities" tab and timeline source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from core_crm.workspace.extensions import TIMELINE_LIMIT, TimelineItem

from .models import Kind
from .selectors import WHEN, activities_for

ICONS = {
    Kind.CALL: "📞",
    Kind.MEETING: "👥",
    Kind.VISIT: "🚗",
    Kind.EMAIL: "✉️",
    Kind.TASK: "☑️",
    Kind.NOTE: "📝",
}


def tab_visible(user: Any) -> bool:
    # Everyone: people whose role reads no activities still see those they take part in.
    return bool(getattr(user, "is_active", False))


def timeline(account: Any, user: Any, since: dt.datetime | None) -> Iterable[TimelineItem]:
    """Done and planned activities about the account, newest first."""
    queryset = activities_for(account, user)
    if since is not None:
        queryset = queryset.filter(updated_at__gte=since)
    items = []
    for activity in queryset.order_by(WHEN.desc(nulls_last=True), "-pk")[:TIMELINE_LIMIT]:
        when = activity.done_at if activity.done and activity.done_at else activity.when
        state = "✓" if activity.done else ""
        items.append(
            TimelineItem(
                when=when or activity.created_at,
                source="activities",
                title=f"{activity.get_kind_display()}: {activity.subject} {state}".strip(),
                detail=(activity.outcome or activity.description)[:300],
                url=reverse("activity_detail", args=[activity.pk]),
                actor=str(activity.owner),
                icon=ICONS.get(Kind(activity.kind), "•"),
            )
        )
    items.sort(key=lambda item: item.when, reverse=True)
    return items


def render_tab(request: Any, account: Any) -> str:
    return render_to_string(
        "activities/_related_list.html",
        {
            "activities": list(activities_for(account, request.user)[:50]),
            "related_field": "account",
            "related_id": account.pk,
        },
        request=request,
    )
