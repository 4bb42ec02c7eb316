from django.apps import AppConfig


class CustomFieldsConfig(AppConfig):
    name = "core_crm.customfields"
    label = "customfields"
    default_auto_field = "django.db.models.BigAutoField"
