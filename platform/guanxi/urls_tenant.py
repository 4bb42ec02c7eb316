"""URLs of a workspace (<slug>.<base domain>), served in the tenant's schema."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("core_crm.users.urls")),
]

handler404 = "tenants.views.page_not_found"
