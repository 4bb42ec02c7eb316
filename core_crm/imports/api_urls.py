"""REST endpoints of imports under /api/v1/ (included by core_crm.api.urls)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("imports/", api.ImportListView.as_view(), name="api-import-list"),
    path("imports/<int:pk>/", api.ImportDetailView.as_view(), name="api-import-detail"),
    path(
        "imports/<int:pk>/configure/",
        api.ImportConfigureView.as_view(),
        name="api-import-configure",
    ),
    path("imports/<int:pk>/start/", api.ImportStartView.as_view(), name="api-import-start"),
    path("imports/<int:pk>/cancel/", api.ImportCancelView.as_view(), name="api-import-cancel"),
    path("imports/<int:pk>/issues/", api.ImportIssuesView.as_view(), name="api-import-issues"),
    path(
        "imports/<int:pk>/rejected.csv",
        api.ImportRejectedView.as_view(),
        name="api-import-rejected",
    ),
]
