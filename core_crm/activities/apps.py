from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "core_crm.activities"
    label = "activities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core_crm.workspace.extensions import (
            AccountTab,
            register_account_tab,
            register_timeline_source,
        )

        from . import account360

        register_timeline_source("activities", _("Activities"), account360.timeline)
        register_account_tab(
            AccountTab(
                key="activities",
                label=_("Activities"),
                render=account360.render_tab,
                order=20,
                visible=account360.tab_visible,
            )
        )
