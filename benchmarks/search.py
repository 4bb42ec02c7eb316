"""Global search over 100,000 contacts: with the GIN indexes, and with index scans switched off.

    make bench                       (all benchmarks)
    python benchmarks/search.py --contacts 100000

Runs in a scratch database `guanxi_bench_search` (created and dropped here).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import bench_workspace, prepare_platform, scratch_database

BENCH_DB = "guanxi_bench_search"

TERMS = [
    ("partial word", "valv"),
    ("Chinese", "食品"),
    ("phone digits", "13912345678"),
    ("email part", "mei.lin@"),
    ("no match", "zzqx"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with scratch_database(BENCH_DB):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    prepare_platform()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from core_crm.customers.models import Account, Contact
    from core_crm.customers.search import global_search

    tenant, admin = bench_workspace()
    rng = random.Random(7)
    with tenant_context(tenant):
        accounts = Account.objects.bulk_create(
            Account(
                owner=admin,
                name=rng.choice(["上海", "北京", "Ningbo", "Suzhou"])
                + rng.choice(["食品有限公司", " Valves Co.", " Trading", "机械公司"])
                + f" {i}",
            )
            for i in range(args.contacts // 10)
        )
        started = time.perf_counter()
        surnames = ["Wang", "Li", "Zhang", "Liu", "Chen", "王", "李", "张", "刘", "陈"]
        batch = []
        for i in range(args.contacts):
            batch.append(
                Contact(
                    owner=admin,
                    account=rng.choice(accounts),
                    last_name=rng.choice(surnames),
                    first_name=f"n{i}",
                    email=f"user{i}@example{i % 997}.cn",
                    mobile=f"+86 1{rng.randint(30, 99)} {rng.randint(1000, 9999)} "
                    f"{rng.randint(1000, 9999)}",
                )
            )
            if len(batch) == 5000:
                Contact.objects.bulk_create(batch)
                batch = []
        Contact.objects.bulk_create(batch)
        Contact.objects.create(
            owner=admin,
            first_name="Mei",
            last_name="Lin",
            email="mei.lin@valves.example",
            mobile="+86 139 1234 5678",
        )
        load_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        def timed(term: str) -> float:
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                global_search(admin, term, per_type=10)
                runs.append(time.perf_counter() - started)
            return statistics.median(runs) * 1000

        indexed = {label: timed(term) for label, term in TERMS}
        with connection.cursor() as cursor:
            cursor.execute("SET enable_bitmapscan = off; SET enable_indexscan = off")
        scanned = {label: timed(term) for label, term in TERMS}
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_bitmapscan; RESET enable_indexscan")

    print(
        f"\nGlobal search over {args.contacts:,} contacts and {args.contacts // 10:,} accounts "
        f"({platform.machine()}, {os.cpu_count()} cores; loaded in {load_seconds:.1f} s; "
        f"median of {args.repeat} runs, all three object types per search)\n"
    )
    print("| query        | term          | indexed (ms) | no index (ms) | speed-up |")
    print("|--------------|---------------|--------------|---------------|----------|")
    for label, term in TERMS:
        ratio = scanned[label] / indexed[label]
        print(
            f"| {label:<12} | {term:<13} | {indexed[label]:>12.1f} | {scanned[label]:>13.1f} "
            f"| {ratio:>7.1f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
