from django.urls import path

from . import profile, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("auth/handoff/<str:token>/", views.handoff, name="signin_handoff"),
    path("settings/profile/", profile.profile, name="profile"),
]
