"""A scratch database for a benchmark: created empty, dropped afterwards, on the server that
DATABASE_URL points at (development data is never touched)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Yield the DATABASE_URL of a fresh database `name`, set for Django; drop it after."""
    from guanxi.cli import maintenance_connection

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guanxi")
    parts = urlsplit(url)
    # Keep everything but the database name (a socket directory may precede it in the path).
    url = urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + f"/{name}"))
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode()
    with maintenance_connection(url) as conn:
        conn.execute(drop)
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="guanxi.settings")
    os.environ.setdefault("DEBUG", "1")
    try:
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        with maintenance_connection(url) as conn:
            conn.execute(drop)
