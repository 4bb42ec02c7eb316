"""Pages of activities, the calendar, the private calendar link and follow-up plan settings."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("activities/", views.activity_list_page, name="activity_list"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/accounts/", views.account_search, name="activity_account_search"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/complete/", views.activity_complete, name="activity_complete"),
    path("activities/<int:pk>/reopen/", views.activity_reopen, name="activity_reopen"),
    path("activities/<int:pk>/delete/", views.activity_delete, name="activity_delete"),
    path("activities/<int:pk>/reschedule/", views.activity_reschedule, name="activity_reschedule"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/events/", views.calendar_events, name="calendar_events"),
    path("calendar/subscribe/", views.calendar_subscribe, name="calendar_subscribe"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("settings/follow-up-plans/", views.plan_settings, name="follow_up_plans"),
    path("settings/follow-up-plans/<int:pk>/", views.plan_edit, name="follow_up_plan"),
]
