"""Browser tests drive Debian's Chromium (Playwright cannot download its own here)."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # type: ignore[no-untyped-def]
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _drop_workspaces_made_in_the_browser(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Workspaces that a browser test signs up are committed by the app server; drop them
    (schema, rows, sign-in tokens) afterwards so later tests in this process never see them."""
    from django.db import connection

    from tenants.models import Tenant

    with django_db_blocker.unblock():
        before = set(Tenant.objects.values_list("pk", flat=True))
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for tenant in Tenant.objects.exclude(pk__in=before):
            tenant.delete(force_drop=True)
