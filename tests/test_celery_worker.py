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
