from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "core_crm.activities"
    label = "activities"
    default_auto_field = "django.db.models.BigAutoField"
