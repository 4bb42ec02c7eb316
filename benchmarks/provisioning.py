"""Provision N tenants by cloning the template schema and N by running migrations; compare.

    make bench                       (all benchmarks, default sizes)
    python benchmarks/provisioning.py --tenants 10

Runs against a scratch database `guanxi_bench` on the server DATABASE_URL points at (created
and dropped here), so it never touches development data.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import prepare_platform, scratch_database

BENCH_DB = "guanxi_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10, help="tenants per method")
    args = parser.parse_args()

    with scratch_database(BENCH_DB):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    prepare_platform()
    from django.db import connection
    from django.test.utils import override_settings

    from tenants.provisioning import ensure_template, provision_tenant

    started = time.perf_counter()
    ensure_template()
    template_seconds = time.perf_counter() - started

    def run(prefix: str) -> list[float]:
        times = []
        for i in range(args.tenants):
            started = time.perf_counter()
            provision_tenant(slug=f"{prefix}-{i}", name=f"{prefix} {i}")
            times.append(time.perf_counter() - started)
        return times

    clone = run("clone")
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        migrate = run("migrate")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        public_migrations = cursor.fetchone()[0]

    def row(name: str, times: list[float]) -> str:
        return (
            f"| {name:<8} | {args.tenants:>7} | {statistics.mean(times):>8.3f} | "
            f"{statistics.median(times):>8.3f} | {max(times):>7.3f} | {sum(times):>8.2f} |"
        )

    ratio = statistics.mean(migrate) / statistics.mean(clone)
    print(
        f"\nTenant provisioning ({platform.machine()}, {os.cpu_count()} cores, "
        f"{public_migrations} public migrations; template built once in "
        f"{template_seconds:.2f} s)\n"
    )
    print("| method   | tenants | mean (s) | median s | max (s) | total (s) |")
    print("|----------|---------|----------|----------|---------|-----------|")
    print(row("clone", clone))
    print(row("migrate", migrate))
    print(
        f"\nclone is {ratio:.1f}x faster than migrate per tenant "
        f"(target: >= 5x and < 1 s per tenant)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
