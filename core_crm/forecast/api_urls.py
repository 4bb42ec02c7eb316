"""REST API routes of this app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=True)
router.register("quotas", api.QuotaViewSet, basename="api-quota")

urlpatterns: list[URLPattern | URLResolver] = [
    path("forecast/", api.ForecastView.as_view(), name="api-forecast"),
    path(
        "forecast/opportunities/",
        api.ForecastOpportunitiesView.as_view(),
        name="api-forecast-opportunities",
    ),
    path("reports/pipeline/", api.PipelineReportView.as_view(), name="api-report-pipeline"),
    path("reports/win-loss/", api.WinLossReportView.as_view(), name="api-report-win-loss"),
    *router.urls,
]
