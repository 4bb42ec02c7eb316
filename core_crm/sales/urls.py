"""Pages of the sales app: opportunities and the board, and the pipeline settings."""

from django.urls import URLPattern, URLResolver, include, path, re_path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("opportunities/", views.opportunity_list_page, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_edit, name="opportunity_new"),
    path("opportunities/board/", views.board, name="opportunity_board"),
    path(
        "opportunities/board/column/<int:stage_id>/",
        views.board_column,
        name="opportunity_board_column",
    ),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move_view, name="opportunity_move"),
    re_path(
        r"^opportunities/(?P<pk>\d+)/(?P<part>contact-role|contact-role-remove|team|team-remove"
        r"|competitor|competitor-remove|owner|delete)/$",
        views.opportunity_part,
        name="opportunity_part",
    ),
    path("", include("core_crm.sales.settings_urls")),
]
