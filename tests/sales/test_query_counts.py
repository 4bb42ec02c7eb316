"""The opportunity list, the board and its columns cost the same queries for a team manager
whatever the number of deals, owners, accounts, stages and currencies they hold."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Team
from core_crm.customers.models import Account
from core_crm.sales.models import Currency

from ..customfields.helpers import client_for, user_with_role
from .factories import make_opportunity, stage

STAGES = ["qualification", "needs-analysis", "proposal", "negotiation", "won", "lost"]


@pytest.fixture
def east(alpha, rep):  # type: ignore[no-untyped-def]
    manager = user_with_role(alpha, "east.manager@alpha.test", "sales_manager")
    second = user_with_role(alpha, "east.rep2@alpha.test", "sales_rep")
    with tenant_context(alpha):
        team, _ = Team.objects.get_or_create(name="East")
        team.members.add(manager, rep, second)
        Currency.objects.get_or_create(code="USD", defaults={"rate_to_base": Decimal("7.1")})
    return manager, [rep, second, manager], client_for(alpha, manager.email)


def _add(owners, n: int, start: int) -> None:  # type: ignore[no-untyped-def]
    cycle = itertools.cycle(owners)
    for i in range(start, start + n):
        owner = next(cycle)
        account = Account.objects.create(name=f"Customer {i}", owner=owner)
        key = STAGES[i % len(STAGES)]
        make_opportunity(
            owner,
            account=account,
            name=f"Deal {i}",
            amount=1000 + i,
            currency="USD" if i % 2 else None,
            stage_key=key,
        )


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_manager_pages_cost_fixed_queries(alpha, east):  # type: ignore[no-untyped-def]
    _manager, owners, client = east
    with tenant_context(alpha):
        _add(owners, 6, 0)
        proposal = stage("proposal")
    urls = [
        "/opportunities/",
        "/opportunities/board/",
        f"/opportunities/board/column/{proposal.pk}/",
        "/opportunities/?owner=me",
    ]
    for url in urls:
        _queries(client, url)  # warm per-process caches
    few = {url: _queries(client, url) for url in urls}
    with tenant_context(alpha):
        _add(owners, 36, 6)
    many = {url: _queries(client, url) for url in urls}
    assert many == few
