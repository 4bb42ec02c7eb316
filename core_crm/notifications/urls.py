"""Pages of this app."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/count/", views.count, name="notification_count"),
    path("notifications/dropdown/", views.dropdown, name="notification_dropdown"),
    path("notifications/read-all/", views.read_all, name="notification_read_all"),
    path("notifications/<int:pk>/open/", views.open_note, name="notification_open"),
    path("notifications/<int:pk>/read/", views.read, name="notification_read"),
    path("settings/notifications/", views.preferences, name="notification_preferences"),
]
