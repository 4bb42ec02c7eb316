from django.conf import settings
from django.http import HttpRequest

from tenants.db import tenant_connection


def guanxi(request: HttpRequest) -> dict[str, object]:
    """What every page needs: the current workspace (None on the public site) and its links."""
    tenant = getattr(request, "tenant", None)
    is_public = tenant is None or tenant_connection().schema_name == settings.PUBLIC_SCHEMA_NAME
    return {
        "workspace": None if is_public else tenant,
        "module_nav": [] if is_public else _module_navigation(tenant),
        "crm_nav": [] if is_public else _crm_navigation(request),
        "public_site_url": public_site_url(),
        "base_domain": settings.GUANXI_BASE_DOMAIN,
    }


def public_site_url(path: str = "/") -> str:
    port = f":{settings.GUANXI_URL_PORT}" if settings.GUANXI_URL_PORT else ""
    return f"{settings.GUANXI_URL_SCHEME}://{settings.GUANXI_BASE_DOMAIN}{port}{path}"


def _module_navigation(tenant: object) -> list[dict[str, str]]:
    """Menu entries contributed by the industry modules the tenant switched on."""
    from plugins.manager import hooks_for

    results = hooks_for(tenant).crm_navigation_items(tenant=tenant)
    return [item for items in results for item in items]


def _crm_navigation(request: HttpRequest) -> list[dict[str, object]]:
    """The object lists the signed-in user's role lets them read."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    from django.urls import NoReverseMatch, reverse

    from core_crm.access.policy import scope_for
    from core_crm.customers.views import PAGES
    from core_crm.workspace.navigation import SALES_NAV

    current = request.path
    items: list[dict[str, object]] = [
        {"label": pages.plural, "url": f"/{slug}/", "active": current.startswith(f"/{slug}/")}
        for slug, pages in PAGES.items()
        if scope_for(user, pages.object_type, "read") != "none"
    ]
    for url_name, label, object_type in SALES_NAV:
        if scope_for(user, object_type, "read") == "none":
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": current.startswith(url)})
    return items
