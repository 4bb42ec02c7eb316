"""Pages of this app."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("forecast/opportunities/", views.drill_down_page, name="forecast_opportunities"),
    path("forecast/quotas/", views.quotas_page, name="forecast_quotas"),
    path("reports/pipeline/", views.pipeline_report_page, name="report_pipeline"),
    path("reports/win-loss/", views.win_loss_page, name="report_win_loss"),
]
