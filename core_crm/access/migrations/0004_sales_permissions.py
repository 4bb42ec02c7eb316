from django.db import migrations


def add_sales_objects(apps, schema_editor):
    """Roles made before opportunities, quotes and activities existed get the default grants of
    their kind (or none for roles a workspace made itself); existing grants are kept."""
    from core_crm.access.defaults import DEFAULT_ROLES, SALES_OBJECTS

    defaults = {spec["key"]: spec["permissions"] for spec in DEFAULT_ROLES}
    Role = apps.get_model("access", "Role")
    none = {a: "none" for a in ("create", "read", "edit", "delete", "export")}
    for role in Role.objects.all():
        permissions = dict(role.permissions)
        for obj in SALES_OBJECTS:
            if obj not in permissions:
                permissions[obj] = dict(defaults.get(role.key, {}).get(obj, none))
        role.permissions = permissions
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("access", "0003_invitation")]
    operations = [migrations.RunPython(add_sales_objects, migrations.RunPython.noop)]
