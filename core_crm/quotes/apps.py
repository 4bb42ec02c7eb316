from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "core_crm.quotes"
    label = "quotes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core_crm.workspace.extensions import (
            AccountTab,
            register_account_tab,
            register_timeline_source,
        )

        from . import selectors
        from .views import account_tab

        register_timeline_source("quotes", _("Quotes"), selectors.timeline)
        register_account_tab(
            AccountTab(
                key="quotes",
                label=_("Quotes"),
                render=account_tab,
                order=40,
                visible=lambda user: selectors.scope_for(user, "quote", "read") != "none",
            )
        )
