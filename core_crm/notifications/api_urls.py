"""REST API routes of this app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=True)
router.register("notifications", api.NotificationViewSet, basename="notification")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "notification-preferences/",
        api.PreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path("", include(router.urls)),
]
