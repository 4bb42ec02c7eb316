"""Telling people about things: `notify()` is the one entry point for every app."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import Kind, Notification, Preference

__all__ = ["Kind", "notify"]


def channels_for(user: Any, kind: str) -> tuple[bool, bool]:
    """(in app, by email) as the person chose; both when they never chose."""
    pref = Preference.objects.filter(user=user, kind=kind).first()
    return (pref.in_app, pref.email) if pref else (True, True)


def notify(
    user: Any,
    kind: str,
    title: str,
    *,
    body: str = "",
    url: str = "",
    actor: Any = None,
) -> Notification | None:
    """Record a notification for `user` (not for the actor themself, nor inactive people) and,
    when they want email for this kind, queue the email once the transaction commits.
    Returns None when the person wants neither channel."""
    if not getattr(user, "is_active", False) or (actor is not None and actor.pk == user.pk):
        return None
    in_app, email = channels_for(user, kind)
    if not (in_app or email):
        return None
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
