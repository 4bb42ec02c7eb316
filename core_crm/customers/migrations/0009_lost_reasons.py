from django.db import migrations


def create_lost_reasons(apps, schema_editor):
    from core_crm.customers.defaults import PICKLIST_DEFAULTS

    PicklistValue = apps.get_model("customers", "PicklistValue")
    for position, (code, label, label_zh) in enumerate(PICKLIST_DEFAULTS["lost_reason"]):
        PicklistValue.objects.get_or_create(
            picklist="lost_reason",
            code=code,
            defaults={"label": label, "label_zh": label_zh, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_alter_picklistvalue_picklist")]
    operations = [migrations.RunPython(create_lost_reasons, migrations.RunPython.noop)]
