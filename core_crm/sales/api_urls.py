"""REST API routes of the sales app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("core_crm.sales.settings_api_urls")),
]
