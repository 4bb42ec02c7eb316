from django.apps import AppConfig


class SavedViewsConfig(AppConfig):
    name = "core_crm.savedviews"
    label = "savedviews"
    default_auto_field = "django.db.models.BigAutoField"
