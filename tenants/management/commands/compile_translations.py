from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the project's .po catalogues to .mo (pure Python; no GNU gettext needed)."

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        # The project catalogue, then each app's own (Django merges them when translating).
        ours = [
            Path(app.path) / "locale"
            for app in apps.get_app_configs()
            if app.name.split(".")[0] in {"core_crm", "tenants", "billing", "plugins"}
        ]
        for locale_dir in [*settings.LOCALE_PATHS, *ours]:
            for po_path in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                count += 1
        if int(options.get("verbosity", 1)):  # type: ignore[call-overload]
            self.stdout.write(f"Compiled {count} translation catalogue(s).")
