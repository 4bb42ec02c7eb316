from django.urls import path

from . import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("find-workspace/", views.workspace_finder, name="workspace_finder"),
    path("find-workspace/sent/", views.workspace_finder_sent, name="workspace_finder_sent"),
]
