from django.db import migrations


def create_pipelines(apps, schema_editor):
    from core_crm.sales.defaults import PIPELINE_DEFAULTS

    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    for position, (key, name, name_zh, stages) in enumerate(PIPELINE_DEFAULTS):
        pipeline, _ = Pipeline.objects.update_or_create(
            key=key, defaults={"name": name, "name_zh": name_zh, "position": position}
        )
        for index, (stage_key, label, label_zh, probability, outcome) in enumerate(stages):
            Stage.objects.update_or_create(
                pipeline=pipeline,
                key=stage_key,
                defaults={
                    "name": label,
                    "name_zh": label_zh,
                    "position": index,
                    "probability": probability,
                    "outcome": outcome,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create_pipelines, migrations.RunPython.noop)]
