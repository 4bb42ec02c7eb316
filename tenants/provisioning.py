"""Creating tenant schemas fast: by cloning a migrated template schema.

django-tenants clones `TENANT_BASE_SCHEMA` when it exists and silently falls back to running
every migration when it does not; `provision_tenant` makes sure the template is there first, so
the slow path is never taken by accident. The template is a tenant row of its own (with no
domain), which is what makes `migrate_schemas` keep it up to date.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from .cloning import clone_schema_fast
from .db import tenant_connection

if TYPE_CHECKING:
    from .models import Tenant


def template_schema_for(tenant: Tenant) -> str | None:
    """The schema `tenant` is cloned from, or None when it must be migrated from zero."""
    if not get_creation_fakes_migrations():
        return None
    base = tenant.get_base_schema()
    if not base or base == tenant.schema_name or not schema_exists(base):
        return None
    return str(base)


def install_clone_function() -> None:
    """(Re)install django-tenants' clone_schema() SQL function; run at every deploy."""
    CloneSchema()._create_clone_schema_function()


def clone_from_template(base: str, new: str) -> None:
    """Copy the template schema, tables and rows (migration records included), to `new`.

    Uses the cached DDL plan of tenants.cloning; a template holding objects the plan does not
    copy is cloned by django-tenants' clone_schema() function instead.
    """
    _refuse_a_template_holding_people(base)
    if clone_schema_fast(base, new):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        if cursor.fetchone() is None:
            install_clone_function()
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [base, new])


class TemplateNotClean(RuntimeError):
    """The template schema holds people or their sign-in data, which every clone would copy."""


def _refuse_a_template_holding_people(base: str) -> None:
    quoted = '"' + base.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        for table in ("users_user", "django_session", "api_personalaccesstoken"):
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {quoted}.{table})"  # noqa: S608 (quoted names)
            )
            if cursor.fetchone()[0]:
                raise TemplateNotClean(
                    f"The template schema {base!r} has rows in {table}; every new workspace "
                    "would get them. Empty that table in the template before provisioning."
                )


def ensure_public_tenant() -> Tenant:
    """The public site's tenant row and its domain (the bare base domain)."""
    from .models import Domain, Tenant

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
    from .models import Tenant

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
    *, slug: str, name: str, status: str = "trialing", trial_ends_at: datetime | None = None
) -> Tenant:
    """Create the tenant row, its schema (cloned from the template) and its primary domain.

    Runs in the caller's transaction when there is one: PostgreSQL DDL is transactional, so a
    rollback removes the schema along with the rows.
    """
    from .models import Domain, Tenant

    ensure_template()
    with transaction.atomic():
        tenant = Tenant(schema_name=slug, name=name, status=status, trial_ends_at=trial_ends_at)
        tenant.save(verbosity=0)
        Domain.objects.create(
            domain=f"{slug}.{settings.GUANXI_BASE_DOMAIN}", tenant=tenant, is_primary=True
        )
    tenant_connection().set_schema_to_public()
    return tenant
