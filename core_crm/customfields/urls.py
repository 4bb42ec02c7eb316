from django.urls import path

from . import views

urlpatterns = [
    path("settings/fields/", views.field_list, name="custom_fields"),
    path("settings/fields/new/", views.field_create, name="custom_field_create"),
    path("settings/fields/<int:pk>/edit/", views.field_edit, name="custom_field_edit"),
    path("settings/fields/<int:pk>/archive/", views.field_archive, name="custom_field_archive"),
    path("settings/fields/<int:pk>/move/", views.field_move, name="custom_field_move"),
]
