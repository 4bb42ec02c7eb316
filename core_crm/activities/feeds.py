"""Private calendar subscription (ICS) links: one per person, unguessable, stored hashed."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from icalendar import Calendar, Event

from core_crm.users.models import User
from guanxi.tokens import new_token, token_hash

from .models import Activity, CalendarFeed, Kind
from .selectors import WHEN, activity_list, in_range, involving, with_related

# The window the subscribe page promises ("30 days back, 90 days ahead"), and a cap on what a
# calendar app downloads every few minutes.
PAST_DAYS, FUTURE_DAYS = 30, 90
FEED_LIMIT = 2000


def feed_reset(user: User) -> str:
    """A new link token for `user`; the previous link stops working. Only its hash is kept,
    so the token is shown once."""
    token = new_token()
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(
            user=user,
            defaults={
                "token_hash": token_hash(token),
                "created_at": timezone.now(),
                "last_used_at": None,
            },
        )
    return token


def feed_revoke(user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def feed_user(token: str) -> User | None:
    """The active owner of a feed token in this workspace, or None."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=token_hash(token), user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return feed.user


def feed_activities(user: User, *, now: dt.datetime | None = None) -> QuerySet[Activity]:
    """What the person's feed holds: activities assigned to them or that they take part in
    (never their team's or the workspace's, whatever their role reads), within record
    security, on the calendar from PAST_DAYS back to FUTURE_DAYS ahead, without notes. At most
    FEED_LIMIT of them, the nearest to `now` first; the caller orders them as it likes."""
    now = now or timezone.now()
    start, end = now - dt.timedelta(days=PAST_DAYS), now + dt.timedelta(days=FUTURE_DAYS)
    mine = in_range(activity_list(user), start, end).filter(involving(user))
    moment = WHEN
    at_now = Value(now, output_field=DateTimeField())
    distance = Greatest(
        ExpressionWrapper(moment - at_now, output_field=DurationField()),
        ExpressionWrapper(at_now - moment, output_field=DurationField()),
    )
    nearest = (
        mine.exclude(kind=Kind.NOTE)
        .annotate(distance=distance)
        .order_by("distance", "pk")
        .values("pk")[:FEED_LIMIT]
    )
    return with_related(Activity.objects.filter(pk__in=nearest))


def feed_ics(user: User, *, base_url: str, workspace_name: str, host: str) -> bytes:
    """The person's own activities (assigned or taking part) from PAST_DAYS back to
    FUTURE_DAYS ahead, as an iCalendar file."""
    now = timezone.now()
    activities = feed_activities(user, now=now).annotate(moment=WHEN)
    cal = Calendar()
    cal.add("prodid", "-//Guanxi CRM//Activities//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{workspace_name} · {user}")
    cal.add("x-published-ttl", "PT15M")
    for activity in activities.order_by("moment", "pk"):
        cal.add_component(_event(activity, base_url=base_url, host=host, stamp=now))
    return cal.to_ical()


def _event(activity: Activity, *, base_url: str, host: str, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", f"activity-{activity.pk}@{host}")
    event.add("dtstamp", stamp)
    prefix = "✓ " if activity.done else ""
    event.add("summary", f"{prefix}{activity.get_kind_display()}: {activity.subject}")
    if activity.kind == Kind.TASK and activity.due_at:
        event.add("dtstart", activity.due_at)
        event.add("dtend", activity.due_at + dt.timedelta(minutes=15))
    else:
        assert activity.start_at is not None
        event.add("dtstart", activity.start_at)
        event.add("dtend", activity.end_at or activity.start_at + dt.timedelta(minutes=15))
    lines = []
    if activity.account_id:
        lines.append(str(activity.account))
    if activity.description:
        lines.append(activity.description)
    if activity.outcome:
        lines.append(activity.outcome)
    if lines:
        event.add("description", "\n".join(lines))
    if activity.location:
        event.add("location", activity.location)
    event.add("url", f"{base_url}/activities/{activity.pk}/")
    event.add("status", "CONFIRMED")
    event.add("last-modified", activity.updated_at)
    return event
