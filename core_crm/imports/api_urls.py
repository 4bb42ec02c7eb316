"""REST endpoints of imports under /api/v1/ (included by core_crm.api.urls)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
