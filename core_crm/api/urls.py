from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("leads", views.LeadViewSet, basename="lead")
router.register(
    "conversion-requests", views.ConversionRequestViewSet, basename="conversion-request"
)
router.register("picklist-values", views.PicklistValueViewSet, basename="picklist-value")

urlpatterns = [
    path("v1/search/", views.SearchView.as_view(), name="api-search"),
    path("v1/", include(router.urls)),
    path("v1/", include("core_crm.imports.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
