from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django_tenants.utils import schema_exists

from .models import Domain, Tenant, WorkspaceMember


def subdomain_is_taken(slug: str) -> bool:
    """Case-insensitive: 'Acme' and 'acme' are the same workspace."""
    host = f"{slug}.{settings.GUANXI_BASE_DOMAIN}"
    return (
        Tenant.objects.filter(schema_name__iexact=slug).exists()
        or Domain.objects.filter(domain__iexact=host).exists()
        # A schema without a tenant row (left behind, or not a tenant's at all) is never
        # handed to a new workspace: its data is someone else's.
        or schema_exists(slug, case_sensitive=False)
    )


def customer_tenants() -> QuerySet[Tenant]:
    """Every company workspace: not the public site, not the template."""
    return Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).exclude(is_template=True)


def workspaces_for_email(email: str) -> QuerySet[Tenant]:
    ids = WorkspaceMember.objects.filter(email__iexact=email.strip()).values("tenant_id")
    return customer_tenants().filter(pk__in=ids).order_by("name")
