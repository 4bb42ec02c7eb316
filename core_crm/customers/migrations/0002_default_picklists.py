from django.db import migrations


def create_values(apps, schema_editor):
    from core_crm.customers.defaults import PICKLIST_DEFAULTS

    PicklistValue = apps.get_model("customers", "PicklistValue")
    for picklist, values in PICKLIST_DEFAULTS.items():
        for position, (code, label, label_zh) in enumerate(values):
            PicklistValue.objects.update_or_create(
                picklist=picklist, code=code,
                defaults={"label": label, "label_zh": label_zh, "position": position},
            )


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create_values, migrations.RunPython.noop)]
