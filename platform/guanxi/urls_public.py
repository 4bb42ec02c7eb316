"""URLs of the public site (the bare base domain): landing page, signup, workspace finder,
and the platform operators' admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tenants.urls")),
]

handler403 = "tenants.views.permission_denied"
handler404 = "tenants.views.page_not_found"
