from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "core_crm.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI authentication extension)
