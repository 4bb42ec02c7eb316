"""Celery tasks of the quotes app (tenant-aware through tenant-schemas-celery)."""

from __future__ import annotations

from celery import shared_task

from .services import expire_quotes


@shared_task(name="core_crm.quotes.tasks.expire_quotes")
def expire_quotes_task() -> int:
    """Mark the workspace's open quotes past their validity date as expired; runs in the
    workspace's schema (beat sends it to every workspace)."""
    return expire_quotes()
