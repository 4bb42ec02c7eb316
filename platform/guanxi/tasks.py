"""The base class of every Celery task."""

from __future__ import annotations

from typing import Any

from django.db import connection
from tenant_schemas_celery.task import TenantTask


class WrongSchema(RuntimeError):
    """A task could not be switched to the schema it was queued from."""


class GuardedTenantTask(TenantTask):
    """Runs only in the schema recorded when the task was queued.

    tenant-schemas-celery switches schemas in a `task_prerun` handler, and Celery merely logs
    an exception there (say, for a tenant deleted since): the task would then run in the
    public schema, against the wrong rows. This refuses instead.
    """

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        headers = self.request.headers or {}
        expected = headers.get("_schema_name") or self.request.get("_schema_name")
        current = getattr(connection, "schema_name", None)
        if expected and current != expected:
            raise WrongSchema(
                f"{self.name} was queued in {expected!r} but would run in {current!r}; refusing."
            )
        return super().__call__(*args, **kwargs)
