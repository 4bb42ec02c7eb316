from django.urls import path

from . import views

urlpatterns = [
    path("views/new/", views.view_create, name="saved_view_create"),
    path("views/<int:pk>/", views.view_open, name="saved_view"),
    path("views/<int:pk>/edit/", views.view_edit, name="saved_view_edit"),
    path("views/<int:pk>/delete/", views.view_delete, name="saved_view_delete"),
]
