from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from .models import Tenant


class TenantMiddleware(TenantMainMiddleware):
    """Selects the schema from the host. An unknown subdomain gets a friendly 404 page."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        from guanxi.context_processors import public_site_url

        return render(
            request,
            "tenants/workspace_not_found.html",
            {
                "hostname": hostname,
                "signup_url": public_site_url("/signup/"),
                "finder_url": public_site_url("/find-workspace/"),
            },
            status=404,
        )


class TenantStatusMiddleware:
    """Suspended and canceled workspaces answer with a page that says so, and nothing else;
    the template schema answers to no one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name != settings.PUBLIC_SCHEMA_NAME:
            if tenant.is_template:
                return render(request, "404.html", status=404)
            if not tenant.is_open:
                return render(
                    request, "tenants/workspace_inactive.html", {"tenant": tenant}, status=403
                )
        return self.get_response(request)
