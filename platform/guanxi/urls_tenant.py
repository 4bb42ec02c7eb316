"""URLs of a workspace (<slug>.<base domain>), served in the tenant's schema."""

from django.urls import include, path

from core_crm.api import pages as api_pages

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("api/", include("core_crm.api.urls")),
    path("settings/api-tokens/", api_pages.tokens, name="api_tokens"),
    path("settings/api-tokens/<int:token_id>/revoke/", api_pages.revoke, name="api_token_revoke"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("core_crm.customfields.urls")),
    path("", include("core_crm.savedviews.urls")),
    path("", include("core_crm.imports.urls")),
    path("", include("core_crm.sales.urls")),
    path("", include("core_crm.quotes.urls")),
    path("", include("core_crm.activities.urls")),
    path("", include("core_crm.forecast.urls")),
    path("", include("core_crm.notifications.urls")),
    path("", include("core_crm.customers.merge_views")),
    path("", include("core_crm.customers.conversion_views")),
    path("", include("core_crm.customers.views")),
    path("", include("core_crm.access.urls")),
    path("", include("core_crm.users.urls")),
]

handler403 = "tenants.views.permission_denied"
handler404 = "tenants.views.page_not_found"
