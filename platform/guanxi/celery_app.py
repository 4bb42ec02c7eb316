"""The Celery app. tenant-schemas-celery's CeleryApp records the schema a task was queued from
and runs the task in that schema, so a task queued in tenant A never touches tenant B."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

app = CeleryApp("guanxi", task_cls="guanxi.tasks:GuardedTenantTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
