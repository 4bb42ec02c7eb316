from django.urls import include, path

from core_crm.customers import picklists

from . import views

urlpatterns = [
    path("settings/", views.settings_home, name="settings"),
    path("settings/users/", views.users, name="settings_users"),
    path("settings/users/<int:user_id>/access/", views.user_access, name="settings_user_access"),
    path(
        "settings/users/<int:user_id>/deactivate/",
        views.user_deactivate,
        name="settings_user_deactivate",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="settings_invitation_revoke",
    ),
    path("settings/roles/", views.roles, name="settings_roles"),
    path("settings/roles/new/", views.role_new, name="settings_role_new"),
    path("settings/roles/<int:role_id>/", views.role_edit, name="settings_role"),
    path("settings/roles/<int:role_id>/delete/", views.role_delete, name="settings_role_delete"),
    path("settings/picklists/", include(picklists.urlpatterns)),
    path("invite/<str:token>/", views.accept_invitation, name="invitation_accept"),
]
