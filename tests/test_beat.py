"""Beat sends periodic work to the right schemas, never to the template."""

from __future__ import annotations

from django.conf import settings

from guanxi.beat import Scheduler
from guanxi.celery_app import app


def test_beat_targets_customer_workspaces_but_not_the_template(alpha, beta):
    schemas = set(Scheduler.get_queryset().values_list("schema_name", flat=True))
    assert {"alpha", "beta"} <= schemas
    assert settings.TENANT_BASE_SCHEMA not in schemas


def test_public_schedule_entries_run_in_the_public_schema(db):
    scheduler = Scheduler.__new__(Scheduler)
    entries = scheduler._tenant_aware_beat_schedule_to_dict(settings.CELERY_BEAT_SCHEDULE)
    entry = entries["purge-expired-signin-tokens@public"]
    assert entry["task"] == "tenants.tasks.purge_expired_signin_tokens"
    assert entry["options"]["headers"]["_schema_name"] == "public"
    assert app.conf.beat_scheduler == "guanxi.beat:Scheduler"


def test_purge_removes_only_expired_tokens(alpha):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.models import SigninToken
    from tenants.services import signin_token_issue
    from tenants.tasks import purge_expired_signin_tokens

    signin_token_issue(tenant=alpha, user_id=1)
    signin_token_issue(tenant=alpha, user_id=2)
    SigninToken.objects.filter(user_id=2).update(expires_at=timezone.now() - timedelta(hours=1))

    # Workspaces signed up by browser tests in this process may hold tokens of their own.
    assert purge_expired_signin_tokens() >= 1
    assert list(SigninToken.objects.filter(tenant=alpha).values_list("user_id", flat=True)) == [1]


def test_reminders_and_quote_expiry_run_in_every_workspace(db):
    scheduler = Scheduler.__new__(Scheduler)
    entries = scheduler._tenant_aware_beat_schedule_to_dict(settings.CELERY_BEAT_SCHEDULE)
    # Entries without `tenant_schemas` go to every workspace the scheduler's queryset holds
    # (alpha and beta, never the template: test_beat_targets_customer_workspaces_...).
    reminders = entries["activities-send-due-reminders@__all_tenants_only__"]
    assert reminders["task"] == "core_crm.activities.tasks.send_due_reminders"
    assert reminders["schedule"] == 60.0
    assert reminders["options"]["headers"]["_all_tenants_only"] is True
    expiry = entries["quotes-expire@__all_tenants_only__"]
    assert expiry["task"] == "core_crm.quotes.tasks.expire_quotes"
    # Every scheduled task is one the worker knows.
    from guanxi.celery_app import app

    app.loader.import_default_modules()
    assert {e["task"] for e in entries.values()} <= set(app.tasks)
