from django.urls import path

from . import views

urlpatterns = [
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
    path("invite/<str:token>/", views.accept_invitation, name="invitation_accept"),
]
