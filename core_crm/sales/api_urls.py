"""REST API routes of the sales app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from .api import OpportunityViewSet

router = SimpleRouter()
router.register("opportunities", OpportunityViewSet, basename="opportunity")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    path("", include("core_crm.sales.settings_api_urls")),
]
