from django.db import migrations


def create_roles(apps, schema_editor):
    from core_crm.access.defaults import DEFAULT_ROLES

    Role = apps.get_model("access", "Role")
    for spec in DEFAULT_ROLES:
        Role.objects.update_or_create(
            key=spec["key"],
            defaults={"name": spec["name"], "permissions": spec["permissions"], "is_system": True},
        )


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
