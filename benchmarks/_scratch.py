"""A scratch database for a benchmark: created empty, dropped afterwards, on the server that
DATABASE_URL points at (development data is never touched)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Yield the DATABASE_URL of a fresh database `name`, set for Django; drop it after."""
    from guanxi.cli import maintenance_connection

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guanxi")
    parts = urlsplit(url)
    # Keep everything but the database name (a socket directory may precede it in the path).
    url = urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + f"/{name}"))
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode()
    with maintenance_connection(url) as conn:
        conn.execute(drop)
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="guanxi.settings")
    os.environ.setdefault("DEBUG", "1")
    try:
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        with maintenance_connection(url) as conn:
            conn.execute(drop)


def prepare_platform() -> None:
    """Django set up against the scratch database, with the public schema migrated."""
    import django

    django.setup()
    from django.core.management import call_command

    from tenants.provisioning import ensure_public_tenant

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    ensure_public_tenant()


def bench_workspace(slug: str = "bench") -> tuple[Any, Any]:
    """A provisioned workspace and its admin user (call prepare_platform first)."""
    from django_tenants.utils import tenant_context

    from core_crm.users.models import User
    from tenants.provisioning import provision_tenant

    tenant = provision_tenant(slug=slug, name=slug.title())
    with tenant_context(tenant):
        admin = User.objects.create_user(
            email=f"a@{slug}.test", password="x" * 12, full_name="A", is_workspace_admin=True
        )
    return tenant, admin
