"""Creating tenant schemas fast: by cloning a migrated template schema.

django-tenants clones `TENANT_BASE_SCHEMA` when it exists and silently falls back to running
every migration when it does not; `provision_tenant` makes sure the template is there first, so
the slow path is never taken by accident. The template is a tenant row of its own (with no
domain), which is what makes `migrate_schemas` keep it up to date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from .models import Domain, Tenant


def ensure_public_tenant() -> Tenant:
    """The public site's tenant row and its domain (the bare base domain)."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "Guanxi", "status": Tenant.Status.ACTIVE},
    )
    Domain.objects.update_or_create(
        domain=settings.GUANXI_BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


def ensure_template() -> Tenant:
    """The migrated template schema; created by running every tenant migration once."""
    template = Tenant.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if template is None:
        template = Tenant(
            schema_name=settings.TENANT_BASE_SCHEMA,
            name="Template",
            status=Tenant.Status.ACTIVE,
            is_template=True,
        )
        template.save(verbosity=0)  # no template schema yet: django-tenants migrates it
    elif not schema_exists(template.schema_name):
        template.create_schema(check_if_exists=True, verbosity=0)
    return template


def provision_tenant(
    *, slug: str, name: str, status: str = Tenant.Status.TRIALING, trial_ends_at=None
) -> Tenant:
    """Create the tenant row, its schema (cloned from the template) and its primary domain.

    Runs in the caller's transaction when there is one: PostgreSQL DDL is transactional, so a
    rollback removes the schema along with the rows.
    """
    ensure_template()
    with transaction.atomic():
        tenant = Tenant(schema_name=slug, name=name, status=status, trial_ends_at=trial_ends_at)
        tenant.save(verbosity=0)
        Domain.objects.create(
            domain=f"{slug}.{settings.GUANXI_BASE_DOMAIN}", tenant=tenant, is_primary=True
        )
    connection.set_schema_to_public()
    return tenant


def drop_orphan_schema(slug: str) -> None:
    """Drop `slug`'s schema if no tenant row owns it (after a failed provisioning)."""
    connection.set_schema_to_public()
    if Tenant.objects.filter(schema_name=slug).exists() or not schema_exists(slug):
        return
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')  # slug passed validation: no quotes
