from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.provisioning import ensure_public_tenant, ensure_template, install_clone_function


class Command(BaseCommand):
    help = (
        "Prepare the database: migrate the public schema, make sure the public site and the "
        "template schema exist, migrate every tenant schema, compile translations."
    )

    def handle(self, *args: object, **options: object) -> None:
        verbosity = int(options.get("verbosity", 1))  # type: ignore[call-overload]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        ensure_public_tenant()
        install_clone_function()
        ensure_template()
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        call_command("compile_translations", verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("Database ready."))
