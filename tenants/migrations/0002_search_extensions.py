from django.db import migrations


class Migration(migrations.Migration):
    """Extensions live once per database, in the public schema, which every tenant's search
    path includes. Created from a tenant app's migration they would land in that tenant's
    schema, out of the others' reach."""

    dependencies = [("tenants", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            migrations.RunSQL.noop,
        ),
    ]
