from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "core_crm.sales"
    label = "sales"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core_crm.customers.services import OBJECT_TYPE

        from .models import Opportunity

        # Custom values of opportunities are cleaned by the same record validation.
        OBJECT_TYPE[Opportunity] = "opportunity"
        from . import account360  # noqa: F401  (registers the tabs and timeline sources)
