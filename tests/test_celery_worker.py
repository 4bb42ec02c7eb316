"""Tasks run in the schema of the tenant that queued them, in a real Celery worker process."""

from __future__ import annotations

import email
import time
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from core_crm.users.tasks import send_verification_email
from tenants.tasks import send_workspace_links

from .conftest import ALPHA, BETA

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


def read_mails(folder: Path, count: int, timeout: float = 30) -> list[email.message.Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = [
            email.message_from_string(chunk.strip())
            for f in sorted(folder.glob("*.log"))
            for chunk in f.read_text().split("-" * 79)
            if chunk.strip()
        ]
        if len(messages) >= count:
            return messages
        time.sleep(0.2)
    found = "\n".join(f.read_text() for f in folder.glob("*"))
    raise AssertionError(f"expected {count} emails in {folder}, found:\n{found}")


def test_task_queued_from_each_tenant_runs_in_that_tenant(celery_worker, alpha, beta):
    for f in celery_worker.mail_dir.glob("*"):
        f.unlink()
    # Both admins have primary key 1; the worker must look each up in its own schema.
    with tenant_context(alpha):
        from_alpha = send_verification_email.delay(1)
    with tenant_context(beta):
        from_beta = send_verification_email.delay(1)
    connection.set_schema_to_public()

    assert from_alpha.get(timeout=30) == ALPHA.admin_email
    assert from_beta.get(timeout=30) == BETA.admin_email

    messages = read_mails(celery_worker.mail_dir, 2)
    by_recipient = {m["To"]: m.get_payload(decode=True).decode() for m in messages}
    assert "http://alpha.localhost/accounts/confirm-email/" in by_recipient[ALPHA.admin_email]
    assert "Alpha Trading" in by_recipient[ALPHA.admin_email]
    assert "http://beta.localhost/accounts/confirm-email/" in by_recipient[BETA.admin_email]
    assert "Beta Industrial" in by_recipient[BETA.admin_email]


def test_public_task_runs_in_the_public_schema(celery_worker, db):
    result = send_workspace_links.delay(BETA.rep_email)
    assert result.get(timeout=30) == 1


def test_a_task_for_a_vanished_tenant_refuses_instead_of_running_in_public(celery_worker, db):
    result = send_verification_email.apply_async(
        args=(1,), headers={"_schema_name": "no-such-tenant"}
    )
    with pytest.raises(Exception) as raised:
        result.get(timeout=30)
    assert "queued in 'no-such-tenant' but would run in 'public'; refusing" in str(raised.value)


@pytest.fixture
def committed_alpha(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Alpha, with this test's rows committed (the worker is another process) and removed
    afterwards."""
    from core_crm.activities.models import Activity
    from core_crm.customers.models import Account
    from core_crm.notifications.models import Notification
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(schema_name=ALPHA.slug)
        yield tenant
        with tenant_context(tenant):
            Notification.objects.filter(kind="reminder").delete()
            Activity.objects.filter(subject__startswith="Beat reminder").delete()
            Account.objects.filter(name="Beat reminder account").delete()
        connection.set_schema_to_public()


def test_beat_entry_sends_a_due_reminder_once_through_the_worker(
    celery_worker, committed_alpha, tmp_path
):  # type: ignore[no-untyped-def]
    """The reminder entry of the beat schedule, sent by beat's own scheduler code, is run by the
    worker in each workspace: nothing before the reminder time, one email and one in-app
    notification when due, nothing the second time."""
    import datetime as dt

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from core_crm.activities import services
    from core_crm.customers.models import Account
    from core_crm.notifications.models import Notification
    from core_crm.users.models import User
    from guanxi.beat import Scheduler
    from guanxi.celery_app import app

    for f in celery_worker.mail_dir.glob("*"):
        f.unlink()
    with tenant_context(committed_alpha):
        owner = User.objects.get(email=ALPHA.admin_email)
        account = Account.objects.create(name="Beat reminder account", owner=owner)
        meeting = services.activity_create(
            actor=owner,
            channel="web",
            data={
                "kind": "meeting",
                "subject": "Beat reminder tasting",
                "account": account,
                "start_at": timezone.now() + dt.timedelta(hours=2),
                "remind_minutes_before": 15,
            },
        )
    connection.set_schema_to_public()

    scheduler = Scheduler(app=app, schedule_filename=str(tmp_path / "beat-schedule"), lazy=False)
    entry = scheduler.schedule["activities-send-due-reminders@__all_tenants_only__"]

    def tick_in_alpha() -> int:
        # What Scheduler.apply_entry does for each workspace, with the result kept.
        with schema_context(ALPHA.slug):
            result = scheduler.apply_async(entry, advance=False)
        return int(result.get(timeout=30))

    assert tick_in_alpha() == 0  # not before: the reminder is due in 1 h 45 min
    assert not list(celery_worker.mail_dir.glob("*.log"))

    with tenant_context(committed_alpha):
        meeting.refresh_from_db()
        services.activity_reschedule(
            meeting,
            actor=owner,
            start=timezone.now() + dt.timedelta(minutes=10),
            end=None,
            channel="web",
        )
    connection.set_schema_to_public()
    scheduler.apply_entry(entry)  # beat's tick: the task goes to every workspace
    messages = read_mails(celery_worker.mail_dir, 1)
    assert tick_in_alpha() == 0  # not twice
    time.sleep(1)  # a duplicate email, had one been queued, would have arrived by now
    messages = read_mails(celery_worker.mail_dir, 1)
    assert len(messages) == 1
    assert messages[0]["To"] == ALPHA.admin_email
    assert "Beat reminder tasting" in messages[0]["Subject"]
    with tenant_context(committed_alpha):
        notes = list(Notification.objects.filter(kind="reminder"))
        assert len(notes) == 1 and notes[0].user_id == owner.pk
        assert notes[0].emailed_at is not None
    connection.set_schema_to_public()
