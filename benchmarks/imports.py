"""Spreadsheet import: rows per second for a 100,000-row file of business cards, against a
workspace that already holds contacts (so duplicate checks have something to find), side by side
with saving the same rows one by one through the record service (what an API client does).

    make bench                       (all benchmarks)
    python benchmarks/imports.py --rows 100000

Runs in a scratch database `guanxi_bench_import` (created and dropped here).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import bench_workspace, prepare_platform, scratch_database

BENCH_DB = "guanxi_bench_import"
SURNAMES = ["王", "李", "张", "刘", "陈", "Wang", "Li", "Smith", "Müller", "Tanaka"]
GIVEN = ["伟", "娜", "敏", "静", "John", "Anna", "Wei", "Mei", "Hans", "Yuki"]
COMPANIES = ["上海阀门", "北京机械", "Ningbo Pumps", "Suzhou Gears", "广州食品", "Acme Trading"]


def make_rows(rng: random.Random, count: int, start: int) -> list[list[str]]:
    rows = []
    for i in range(start, start + count):
        rows.append(
            [
                f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{i}",
                f"{rng.choice(COMPANIES)} {i % 5000}",
                rng.choice(["采购经理", "CTO", "Engineer", "销售总监"]),
                f"+86 1{rng.randint(30, 99)} {rng.randint(1000, 9999)} {i % 10000:04d}",
                f"card{i}@fair{i % 997}.cn",
                rng.choice(["VIP", "", "华东", "Expo 2026"]),
            ]
        )
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "公司", "职位", "手机", "邮箱", "标签"])
    writer.writerows(rows)
    return out.getvalue().encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=20_000)
    parser.add_argument("--one-by-one", type=int, default=2_000)
    args = parser.parse_args()
    with scratch_database(BENCH_DB):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    prepare_platform()
    from django_tenants.utils import tenant_context

    from core_crm.customers import services as record_services
    from core_crm.customers.models import Contact
    from core_crm.imports import services
    from core_crm.imports.models import ImportJob

    tenant, admin = bench_workspace()
    rng = random.Random(11)
    with tenant_context(tenant):
        # Contacts already in the workspace; 5% of the file repeats their email addresses.
        existing = make_rows(rng, args.existing, 10_000_000)
        Contact.objects.bulk_create(
            Contact(owner=admin, last_name=r[0], email=r[4], mobile=r[3]) for r in existing
        )
        rows = make_rows(rng, args.rows, 0)
        for i in range(0, args.rows, 20):
            rows[i][4] = existing[i % len(existing)][4]
        content = to_csv(rows)

        started = time.perf_counter()
        job = services.import_job_create(
            actor=admin, object_type="contact", file_name="fair.csv", content=content
        )
        services.import_job_configure(
            job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="fair", owner_mode="me"
        )
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        job = services.import_run(job.pk)
        bulk_seconds = time.perf_counter() - started
        assert job.status == "done", job.error

        sample = make_rows(rng, args.one_by_one, 20_000_000)
        started = time.perf_counter()
        for name, _company, title, mobile, email, _tag in sample:
            record_services.record_create(
                Contact,
                actor=admin,
                channel="api",
                data={"last_name": name, "title": title, "mobile": mobile, "email": email},
            )
        single_seconds = time.perf_counter() - started

    bulk_rate = args.rows / bulk_seconds
    single_rate = args.one_by_one / single_seconds
    print(
        f"\nImport of {args.rows:,} business-card rows (CSV, {len(content) / 2**20:.1f} MB) "
        f"into a workspace with {args.existing:,} contacts "
        f"({platform.machine()}, {os.cpu_count()} cores)\n"
    )
    print(
        f"created {job.created_count:,}, skipped as duplicates {job.skipped_count:,}, "
        f"rejected {job.failed_count:,}, accounts created {job.accounts_created:,}\n"
    )
    print("| path                                      | rows    | seconds | rows/s  | ratio |")
    print("|-------------------------------------------|---------|---------|---------|-------|")
    print(
        f"| import (chunks of 500, duplicate checks)  | {args.rows:>7,} | {bulk_seconds:>7.1f} "
        f"| {bulk_rate:>7.0f} | {bulk_rate / single_rate:>4.1f}x |"
    )
    print(
        f"| record_create one by one (no dup checks)  | {args.one_by_one:>7,} "
        f"| {single_seconds:>7.1f} | {single_rate:>7.0f} |  1.0x |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
