"""Email delivery of notifications: one Celery task per notification, run in the tenant it was
queued from (tenant-schemas-celery records the schema), sending at most once."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tenants.db import tenant_connection

from .models import Notification


def queue_email(note: Notification) -> None:
    """Queue the email of `note` (called once the transaction that made it commits)."""
    send_notification_email.delay(note.pk)


def absolute_link(path: str) -> str:
    """The notification's link on the workspace's own host; empty when it has none."""
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    return tenant_connection().tenant.url(path)


@shared_task
def send_notification_email(note_id: int) -> str | None:
    """Email one notification to its person; returns the address, or None when there is
    nothing to send (gone, not wanted, or sent already). The row stays locked while sending,
    so two runs of the task cannot both send it; a failed send leaves it unsent."""
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update()
            .select_related("user")
            .filter(pk=note_id, email_wanted=True, emailed_at__isnull=True)
            .first()
        )
        if note is None or not note.user.is_active or not note.user.email:
            return None
        workspace = tenant_connection().tenant
        with translation.override(note.user.language):
            context = {
                "note": note,
                "user": note.user,
                "workspace": workspace,
                "link": absolute_link(note.url),
                "settings_link": absolute_link("/settings/notifications/"),
            }
            body = render_to_string("notifications/email/body.txt", context)
        send_mail(note.title, body, None, [note.user.email])
        note.emailed_at = timezone.now()
        note.save(update_fields=["emailed_at"])
        return str(note.user.email)
