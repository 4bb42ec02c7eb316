"""New schemas are cloned from the migrated template, never migrated from zero."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import management
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import schema_context, schema_exists

from tenants import provisioning
from tenants.models import Domain, Tenant
from tenants.provisioning import provision_tenant


def test_template_is_a_migrated_tenant_row_without_a_domain(db):
    template = Tenant.objects.get(schema_name=settings.TENANT_BASE_SCHEMA)
    assert template.is_template
    assert not Domain.objects.filter(tenant=template).exists()
    assert schema_exists(settings.TENANT_BASE_SCHEMA)
    with schema_context(settings.TENANT_BASE_SCHEMA):
        applied = MigrationRecorder(connection).applied_migrations()
    assert ("users", "0001_initial") in applied
    assert ("account", "0001_initial") in applied


def test_new_tenant_is_cloned_from_the_template(db, monkeypatch):
    clones = []
    migrations = []
    real_clone = provisioning.clone_from_template
    real_call_command = management.call_command

    def spy_clone(base, new):
        clones.append((base, new))
        return real_clone(base, new)

    def spy_call_command(name, *args, **kwargs):
        migrations.append(name)
        return real_call_command(name, *args, **kwargs)

    monkeypatch.setattr(provisioning, "clone_from_template", spy_clone)
    monkeypatch.setattr("django_tenants.models.call_command", spy_call_command)

    tenant = provision_tenant(slug="cloned-co", name="Cloned Co")

    assert clones == [(settings.TENANT_BASE_SCHEMA, "cloned-co")]
    # No migration runs, not even a faked one: the clone carries the migration records.
    assert migrations == []
    assert Domain.objects.get(tenant=tenant).domain == "cloned-co.localhost"
    with schema_context("cloned-co"):
        applied = MigrationRecorder(connection).applied_migrations()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                ["cloned-co"],
            )
            tables = cursor.fetchone()[0]
    with schema_context(settings.TENANT_BASE_SCHEMA), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            [settings.TENANT_BASE_SCHEMA],
        )
        template_tables = cursor.fetchone()[0]
    assert tables == template_tables > 10
    assert ("users", "0001_initial") in applied


def test_provisioning_recreates_a_missing_template_before_cloning(db, monkeypatch):
    """django-tenants would silently migrate each tenant if the template were gone."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{settings.TENANT_BASE_SCHEMA}" CASCADE')
    assert not schema_exists(settings.TENANT_BASE_SCHEMA)
    clones = []
    real_clone = provisioning.clone_from_template

    def spy_clone(base, new):
        clones.append(new)
        real_clone(base, new)

    monkeypatch.setattr(provisioning, "clone_from_template", spy_clone)

    provision_tenant(slug="after-drop", name="After Drop")

    assert schema_exists(settings.TENANT_BASE_SCHEMA)
    assert clones == ["after-drop"]


def test_without_a_template_setting_the_schema_is_migrated(db, settings, monkeypatch):
    """The fallback stays correct: the same tables, made by migrations."""
    settings.TENANT_CREATION_FAKES_MIGRATIONS = False
    monkeypatch.setattr(
        provisioning,
        "clone_from_template",
        lambda *a: pytest.fail("cloned although cloning is off"),
    )
    provision_tenant(slug="migrated-co", name="Migrated Co")
    with schema_context("migrated-co"):
        applied = MigrationRecorder(connection).applied_migrations()
    assert ("users", "0001_initial") in applied
