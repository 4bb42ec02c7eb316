"""Pages of the sales app: opportunities and the board, and the pipeline settings."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("core_crm.sales.settings_urls")),
]
