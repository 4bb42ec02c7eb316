"""Email delivery of notifications (a Celery task per notification, carrying the tenant)."""

from __future__ import annotations

from .models import Notification


def queue_email(note: Notification) -> None:
    """Queue the email of `note`; replaced by the Celery task of this app."""
