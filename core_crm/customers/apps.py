from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "core_crm.customers"
    label = "customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import account360  # noqa: F401  (registers the Contacts tab and Changes timeline)
