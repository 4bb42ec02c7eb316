"""Pipeline and currency settings routes (Settings → Pipelines, Settings → Sales)."""

from django.urls import URLPattern, URLResolver, path

from . import settings_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/pipelines/", views.pipeline_settings, name="settings_pipelines"),
    path("settings/pipelines/<int:pk>/edit/", views.pipeline_edit, name="settings_pipeline_edit"),
    path(
        "settings/pipelines/<int:pk>/<slug:state>/",
        views.pipeline_active,
        name="settings_pipeline_active",
    ),
    path(
        "settings/pipelines/<int:pk>/stages/add/",
        views.stage_add,
        name="settings_stage_add",
    ),
    path(
        "settings/pipelines/<int:pk>/stages/order/",
        views.pipeline_reorder,
        name="settings_stage_reorder",
    ),
    path("settings/stages/<int:pk>/edit/", views.stage_edit, name="settings_stage_edit"),
    path("settings/stages/<int:pk>/retire/", views.stage_retire, name="settings_stage_retire"),
    path(
        "settings/stages/<int:pk>/reactivate/",
        views.stage_reactivate,
        name="settings_stage_reactivate",
    ),
    path(
        "settings/stages/<int:pk>/move/<slug:direction>/",
        views.stage_move,
        name="settings_stage_move",
    ),
    path("settings/sales/", views.sales_settings, name="settings_sales"),
    path("settings/sales/currencies/", views.currency_add, name="settings_currency_add"),
    path(
        "settings/sales/currencies/<int:pk>/rate/",
        views.currency_rate,
        name="settings_currency_rate",
    ),
    path(
        "settings/sales/currencies/<int:pk>/<slug:state>/",
        views.currency_active,
        name="settings_currency_active",
    ),
]
