from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "core_crm.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"
