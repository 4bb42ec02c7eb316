"""Celery tasks of notifications. The worker finds tasks through each app's `tasks` module;
the email task lives beside the delivery code it belongs to."""

from .delivery import send_notification_email

__all__ = ["send_notification_email"]
