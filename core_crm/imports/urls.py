from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.job_list, name="import_list"),
    path("imports/new/", views.job_new, name="import_new"),
    path("imports/<int:pk>/", views.job_detail, name="import_detail"),
    path("imports/<int:pk>/map/", views.job_map, name="import_map"),
    path("imports/<int:pk>/preview/", views.job_preview, name="import_preview"),
    path("imports/<int:pk>/progress/", views.job_progress, name="import_progress"),
    path("imports/<int:pk>/rejected.csv", views.job_rejected, name="import_rejected"),
    path("imports/<int:pk>/cancel/", views.job_cancel, name="import_cancel"),
]
