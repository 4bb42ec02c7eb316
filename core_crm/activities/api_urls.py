"""REST API routes of this app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import DefaultRouter

from .api.views import ActivityViewSet, CalendarLinkView, FollowUpPlanViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("activities", ActivityViewSet, basename="activity")
router.register("follow-up-plans", FollowUpPlanViewSet, basename="follow-up-plan")

urlpatterns: list[URLPattern | URLResolver] = [
    path("calendar-link/", CalendarLinkView.as_view(), name="api-calendar-link"),
    path("", include(router.urls)),
]
