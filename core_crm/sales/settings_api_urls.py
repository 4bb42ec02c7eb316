"""Pipeline and currency settings routes, under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from . import settings_api

router = SimpleRouter(trailing_slash=True)
router.register("pipelines", settings_api.PipelineViewSet, basename="api-pipeline")
router.register("stages", settings_api.StageViewSet, basename="api-stage")
router.register("currencies", settings_api.CurrencyViewSet, basename="api-currency")

urlpatterns: list[URLPattern | URLResolver] = [
    path("sales-settings/", settings_api.SalesSettingsView.as_view(), name="api-sales-settings"),
    *router.urls,
]
