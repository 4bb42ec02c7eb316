from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "core_crm.quotes"
    label = "quotes"
    default_auto_field = "django.db.models.BigAutoField"
