"""Reading imports: who may see which job (the pages and the API ask here)."""

from __future__ import annotations

from django.db.models import QuerySet

from core_crm.users.models import User

from .models import ImportJob


def job_list(actor: User) -> QuerySet[ImportJob]:
    """Jobs the actor may see: their own, or every job for workspace admins (newest first),
    without the uploaded file."""
    jobs = ImportJob.objects.select_related("created_by").defer("content")
    if not actor.is_workspace_admin:
        jobs = jobs.filter(created_by=actor)
    return jobs


def job_for(actor: User, pk: int) -> ImportJob | None:
    """One job the actor may see, or None: a job of someone else and a missing id look the
    same, so the answer reveals nothing."""
    jobs = ImportJob.objects.select_related("created_by")
    if not actor.is_workspace_admin:
        jobs = jobs.filter(created_by=actor)
    return jobs.filter(pk=pk).first()
