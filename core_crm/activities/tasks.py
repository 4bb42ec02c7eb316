"""Periodic work of activities: reminders. Beat runs `send_due_reminders` every minute in
every customer workspace (entry "activities-send-due-reminders" of CELERY_BEAT_SCHEDULE in
platform/guanxi/settings.py; guanxi.beat.Scheduler fans entries without `tenant_schemas` out)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="core_crm.activities.tasks.send_due_reminders")
def send_due_reminders() -> int:
    """Send the reminders whose time has come in this workspace, each once."""
    return services.send_due_reminders()
