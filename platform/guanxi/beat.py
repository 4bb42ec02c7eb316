"""Celery beat scheduler: tenant-aware, and never sending work to the template schema."""

from __future__ import annotations

from django.db.models import QuerySet
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler


class Scheduler(TenantAwarePersistentScheduler):
    """Entries with `tenant_schemas` run in those schemas; entries without run once per
    customer workspace (not the public schema, not the template)."""

    @classmethod
    def get_queryset(cls) -> QuerySet:
        return super().get_queryset().filter(is_template=False)
