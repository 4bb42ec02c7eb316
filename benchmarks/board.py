"""The pipeline board with thousands of opportunities: what a person waits for when the board
opens (the board and the first page of every column, which is what lazily loaded columns fetch)
against loading every card of the pipeline; and the other sales pages on the same data.

    make bench                           (all benchmarks)
    python benchmarks/board.py --opportunities 20000

Runs in a scratch database `guanxi_bench_board` (created and dropped here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import bench_workspace, prepare_platform, scratch_database

BENCH_DB = "guanxi_bench_board"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args, _unknown = parser.parse_known_args()  # `make bench` passes every script the same
    with scratch_database(BENCH_DB):
        return _run(args)


def _seed(tenant: Any, admin: Any, count: int) -> Any:
    """`count` opportunities of 20 reps in two teams over every stage of New business, with
    their stage history, as the services would leave them; returns a team manager."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from core_crm.access.models import Role, Team
    from core_crm.customers.models import Account
    from core_crm.sales.models import Opportunity, Pipeline, Stage, StageChange
    from core_crm.users.models import User

    rng = random.Random(11)
    with tenant_context(tenant):
        rep_role = Role.objects.get(key="sales_rep")
        manager = User.objects.create_user(
            email="manager@bench.test",
            password="x" * 12,
            full_name="Manager",
            role=Role.objects.get(key="sales_manager"),
        )
        reps = [
            User.objects.create_user(
                email=f"rep{i}@bench.test", password="x" * 12, full_name=f"Rep {i}", role=rep_role
            )
            for i in range(20)
        ]
        east, _ = Team.objects.get_or_create(name="East")
        east.members.add(manager, *reps[:10])
        west, _ = Team.objects.get_or_create(name="West")
        west.members.add(*reps[10:])
        accounts = Account.objects.bulk_create(
            Account(owner=rng.choice(reps), name=f"Customer {i}") for i in range(count // 4)
        )
        pipeline = Pipeline.objects.get(key="new-business")
        stages = list(Stage.objects.filter(pipeline=pipeline, is_active=True))
        today = timezone.localdate()
        opportunities = []
        for i in range(count):
            stage = rng.choice(stages)
            amount = Decimal(rng.randrange(1_000, 500_000))
            opportunities.append(
                Opportunity(
                    owner=rng.choice(reps),
                    account=rng.choice(accounts),
                    name=f"Deal {i}",
                    pipeline=pipeline,
                    stage=stage,
                    amount=amount,
                    currency="CNY",
                    amount_base=amount,
                    probability=stage.probability,
                    forecast_category={"won": "closed", "lost": "omitted"}.get(
                        stage.outcome, "pipeline"
                    ),
                    close_date=today + dt.timedelta(days=rng.randrange(-120, 180)),
                    closed_at=timezone.now() if stage.outcome != "open" else None,
                )
            )
        Opportunity.objects.bulk_create(opportunities, batch_size=2000)
        StageChange.objects.bulk_create(
            (
                StageChange(
                    opportunity=o,
                    to_stage=o.stage,
                    amount=o.amount,
                    currency=o.currency,
                    amount_base=o.amount_base,
                    probability=o.probability,
                    actor=o.owner,
                    channel="system",
                )
                for o in opportunities
            ),
            batch_size=2000,
        )
        return manager


def _timed(client: Any, url: str, repeat: int) -> tuple[float, int, int]:
    """Median milliseconds, queries and bytes of GET `url`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(ctx.captured_queries), len(response.content)


def _run(args: argparse.Namespace) -> int:
    prepare_platform()
    from django.test import Client
    from django_tenants.utils import tenant_context

    from core_crm.sales.models import Opportunity, Stage

    tenant, admin = bench_workspace()
    started = time.perf_counter()
    manager = _seed(tenant, admin, args.opportunities)
    print(f"seeded {args.opportunities:,} opportunities in {time.perf_counter() - started:.1f} s")
    with tenant_context(tenant):
        stages = list(
            Stage.objects.filter(pipeline__key="new-business", is_active=True).order_by("position")
        )
        visible = Opportunity.objects.filter(owner__teams__name="East").count()
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    with tenant_context(tenant):  # sessions live in the workspace's schema
        client.force_login(manager)

    rows: list[tuple[str, float, int, int]] = []

    def measure(label: str, urls: list[str]) -> float:
        total_ms, queries, size = 0.0, 0, 0
        for url in urls:
            ms, q, b = _timed(client, url, args.repeat)
            total_ms, queries, size = total_ms + ms, queries + q, size + b
        rows.append((label, total_ms, queries, size))
        return total_ms

    column_urls = [f"/opportunities/board/column/{s.pk}/" for s in stages]
    lazy = measure(
        "board opened: board + first page of each column",
        ["/opportunities/board/", *column_urls],
    )
    every_page = []
    with tenant_context(tenant):
        from core_crm.sales.views import CARDS_PER_PAGE

        for s in stages:
            count = Opportunity.objects.filter(stage=s, owner__teams__name="East").count()
            pages = max(1, -(-count // CARDS_PER_PAGE))
            every_page += [
                f"/opportunities/board/column/{s.pk}/?page={n}" for n in range(1, pages + 1)
            ]
    eager = measure(f"every card of the team ({visible:,}, {len(every_page)} pages)", every_page)
    measure("opportunity list (first page of 50)", ["/opportunities/"])
    measure("forecast (this quarter, team)", ["/forecast/"])
    measure("pipeline report", ["/reports/pipeline/"])
    with tenant_context(tenant):
        from core_crm.customers.models import Account

        busiest = (
            Account.objects.filter(owner__teams__name="East")
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
    measure("account 360° page (timeline)", [f"/customers/{busiest}/"])

    print()
    print(f"| page | ms (median of {args.repeat}) | queries | KB |")
    print("|---|---:|---:|---:|")
    for label, ms, queries, size in rows:
        print(f"| {label} | {ms:,.0f} | {queries} | {size / 1024:,.0f} |")
    print()
    print(f"lazy columns vs every card: {lazy:,.0f} ms vs {eager:,.0f} ms = {eager / lazy:.1f}x")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
