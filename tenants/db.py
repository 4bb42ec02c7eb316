"""Typed access to what django-tenants adds to the connection and the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from django.db import connection
from django.http import HttpRequest

if TYPE_CHECKING:
    from .models import Tenant


class TenantConnection(Protocol):
    schema_name: str
    tenant: Tenant

    def set_schema_to_public(self) -> None: ...

    def set_tenant(self, tenant: Tenant, include_public: bool = True) -> None: ...


def tenant_connection() -> TenantConnection:
    return cast("TenantConnection", connection)


def request_tenant(request: HttpRequest) -> Tenant:
    """The tenant TenantMiddleware resolved from the request's host."""
    return cast("Tenant", request.tenant)  # type: ignore[attr-defined]
