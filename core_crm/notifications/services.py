"""Telling people about things: `notify()` is the one entry point for every app. The other
functions here are the person's own writes: marking read and choosing channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Kind, Notification, Preference

__all__ = [
    "Kind",
    "channels_for",
    "inbox",
    "mark_all_read",
    "mark_read",
    "notify",
    "preference_grid",
    "preferences_set",
    "unread_count",
]


def channels_for(user: Any, kind: str) -> tuple[bool, bool]:
    """(in app, by email) as the person chose; both when they never chose."""
    pref = Preference.objects.filter(user=user, kind=kind).first()
    return (pref.in_app, pref.email) if pref else (True, True)


def notify(
    user: Any,
    kind: str,
    title: Any,
    *,
    body: str = "",
    url: str = "",
    actor: Any = None,
    params: Mapping[str, Any] | None = None,
) -> Notification | None:
    """Record a notification for `user` (not for the actor themself, nor inactive people) and,
    when they want email for this kind, queue the email once the transaction commits.
    Returns None when the person wants neither channel.

    With `params`, `title` is a message marked for translation (gettext_lazy) that is put in
    the recipient's language, then filled with `params`: the person reads it in their own
    language, whatever the language of whoever caused it."""
    if not getattr(user, "is_active", False) or (actor is not None and actor.pk == user.pk):
        return None
    in_app, email = channels_for(user, kind)
    if not (in_app or email):
        return None
    if params is not None:
        with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
            title = str(title) % {k: str(v) for k, v in params.items()}
    title = str(title)
    note = Notification.objects.create(
        user=user,
        kind=kind,
        title=title[:300],
        body=body,
        url=url[:500],
        actor=actor if getattr(actor, "pk", None) else None,
        in_app=in_app,
        email_wanted=email,
    )
    if email:
        from . import delivery

        transaction.on_commit(lambda: delivery.queue_email(note))
    return note


# --- Reading and marking one's own notifications -------------------------------------------


def inbox(user: Any) -> QuerySet[Notification]:
    """The person's in-app notifications (never anyone else's): unread first, newest first."""
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1))
    return (
        Notification.objects.filter(user=user, in_app=True)
        .select_related("actor")
        .order_by(unread_first, "-created_at", "-pk")
    )


def unread_count(user: Any) -> int:
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).count()


def access_notification(user: Any, pk: int | str | None) -> Notification:
    """The person's own notification, or Http404 exactly as for a missing one."""
    if pk is None:
        raise Http404
    try:
        return Notification.objects.get(pk=pk, user=user, in_app=True)
    except (Notification.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def mark_read(user: Any, pk: int | str | None) -> Notification:
    note = access_notification(user, pk)
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return note


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of the person read; returns how many were unread."""
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- Preferences ---------------------------------------------------------------------------


def preference_grid(user: Any) -> list[dict[str, Any]]:
    """Every kind with the person's channels (both on where they never chose)."""
    chosen = {p.kind: p for p in Preference.objects.filter(user=user)}
    rows = []
    for kind in Kind:
        pref = chosen.get(kind.value)
        rows.append(
            {
                "kind": kind.value,
                "label": kind.label,
                "in_app": pref.in_app if pref else True,
                "email": pref.email if pref else True,
            }
        )
    return rows


def preferences_set(user: Any, choices: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Save {kind: {"in_app": bool, "email": bool}} for the person, all or nothing. Kinds not
    given keep their channels; an unknown kind or a non-boolean value is named in the error."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, dict[str, bool]] = {}
    for kind, channels in choices.items():
        if kind not in Kind.values:
            errors[kind] = [_("“%(kind)s” is not a kind of notification.") % {"kind": kind}]
            continue
        if not isinstance(channels, Mapping):
            errors[kind] = [_("Give the channels as in_app and email, true or false.")]
            continue
        row: dict[str, bool] = {}
        for channel in ("in_app", "email"):
            value = channels.get(channel, True)
            if not isinstance(value, bool):
                errors[f"{kind}.{channel}"] = [_("Must be true or false.")]
            else:
                row[channel] = value
        unknown = set(channels) - {"in_app", "email"}
        for name in sorted(unknown):
            errors[f"{kind}.{name}"] = [_("Unknown channel; use in_app or email.")]
        clean[kind] = row
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for kind, row in clean.items():
            Preference.objects.update_or_create(
                user=user, kind=kind, defaults={"in_app": row["in_app"], "email": row["email"]}
            )
    return preference_grid(user)
