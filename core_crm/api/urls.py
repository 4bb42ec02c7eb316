from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import admin_views, merge_views, views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("leads", views.LeadViewSet, basename="lead")
router.register(
    "conversion-requests", views.ConversionRequestViewSet, basename="conversion-request"
)
router.register("picklist-values", views.PicklistValueViewSet, basename="picklist-value")
router.register("roles", admin_views.RoleViewSet, basename="role")
router.register("users", admin_views.UserViewSet, basename="user")
router.register("teams", admin_views.TeamViewSet, basename="team")

picklist_value = "v1/picklists/<slug:key>/values/<int:value_id>/"
admin_urls = [
    path("v1/picklists/", admin_views.PicklistListView.as_view(), name="api-picklists"),
    path(
        "v1/picklists/<slug:key>/",
        admin_views.PicklistDetailView.as_view(),
        name="api-picklist",
    ),
    path(
        "v1/picklists/<slug:key>/values/",
        admin_views.PicklistValueCreateView.as_view(),
        name="api-picklist-values",
    ),
    path(
        "v1/picklists/<slug:key>/reorder/",
        admin_views.PicklistReorderView.as_view(),
        name="api-picklist-reorder",
    ),
    path(picklist_value, admin_views.PicklistValueDetailView.as_view(), name="api-picklist-value"),
    path(
        picklist_value + "retire/",
        admin_views.PicklistValueRetireView.as_view(),
        name="api-picklist-value-retire",
    ),
    path(
        picklist_value + "reactivate/",
        admin_views.PicklistValueReactivateView.as_view(),
        name="api-picklist-value-reactivate",
    ),
    path(
        picklist_value + "move/",
        admin_views.PicklistValueMoveView.as_view(),
        name="api-picklist-value-move",
    ),
]
merge_urls = [
    path(
        f"v1/{objects}/<int:pk>/merge/",
        merge_views.MergeView.as_view(),
        {"objects": objects},
        name=f"api-{objects}-merge",
    )
    for objects in merge_views.KINDS
] + [
    path(
        "v1/merges/<int:entry_id>/undo/", merge_views.MergeUndoView.as_view(), name="api-merge-undo"
    ),
]

urlpatterns = [
    path("v1/search/", views.SearchView.as_view(), name="api-search"),
    *admin_urls,
    *merge_urls,  # before the router, whose record routes share the prefixes
    path("v1/", include("core_crm.sales.api_urls")),
    path("v1/", include("core_crm.quotes.api_urls")),
    path("v1/", include("core_crm.activities.api_urls")),
    path("v1/", include("core_crm.forecast.api_urls")),
    path("v1/", include("core_crm.notifications.api_urls")),
    path("v1/", include(router.urls)),
    path("v1/", include("core_crm.imports.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
