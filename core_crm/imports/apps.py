from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "core_crm.imports"
    label = "imports"
    default_auto_field = "django.db.models.BigAutoField"
