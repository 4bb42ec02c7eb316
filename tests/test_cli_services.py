"""`make run` and `make test` work on a machine with nothing configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from guanxi.cli import Services

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.xdist_group("embedded-postgres")
def test_embedded_postgres_starts_when_no_server_is_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    services = Services(for_tests=False, run_dir=tmp_path, use_local=False)
    try:
        env = services.start()
        assert "REDIS_URL" not in env  # make run falls back to files, see below
        import environ

        cfg = environ.Env.db_url_config(env["DATABASE_URL"])
        assert cfg["NAME"] == "guanxi"
        assert cfg["HOST"].startswith("/")  # a unix socket of the embedded server
        with psycopg.connect(host=cfg["HOST"], user=cfg["USER"], dbname=cfg["NAME"]) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            extensions = {
                row[0]
                for row in conn.execute("SELECT name FROM pg_available_extensions").fetchall()
            }
        assert int(version.split(".")[0]) >= 15
        assert {"pg_trgm", "unaccent", "citext"} <= extensions
    finally:
        services.stop()


def test_without_redis_the_app_uses_files_for_cache_and_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND']); print(settings.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "guanxi.settings"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    backend, broker = result.stdout.split()
    assert backend == "django.core.cache.backends.filebased.FileBasedCache"
    assert broker == "filesystem://"


def test_beat_gets_a_schedule_folder_when_no_embedded_service_made_one(tmp_path):
    """With PostgreSQL and Redis already running nothing creates .run/; beat needs it."""
    from guanxi.cli import beat_schedule_file

    run_dir = tmp_path / "fresh-checkout" / ".run"
    path = beat_schedule_file(run_dir)
    assert path == str(run_dir / "celerybeat-schedule") and run_dir.is_dir()
    import shelve

    with shelve.open(path) as schedule:  # noqa: S301  (what celery beat does first)
        schedule["entries"] = {}
