from __future__ import annotations

from celery import shared_task

from .services import import_run


@shared_task(acks_late=True)
def run_import(job_id: int) -> str:
    """Import a spreadsheet in the workspace's schema (the task carries the tenant)."""
    return import_run(job_id).status
