"""Opportunities for tests, written straight through the ORM (fast; no audit entries)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from core_crm.customers.models import Account
from core_crm.sales.currency import to_base
from core_crm.sales.models import Opportunity, Pipeline, Stage, StageChange


def stage(key: str = "qualification", pipeline: str = "new-business") -> Stage:
    return Stage.objects.get(pipeline__key=pipeline, key=key)


def make_opportunity(
    owner: Any,
    *,
    account: Account | None = None,
    name: str = "Deal",
    amount: Decimal | int | str = 1000,
    currency: str | None = None,
    stage_key: str = "qualification",
    pipeline_key: str = "new-business",
    close_date: dt.date | None = None,
    **extra: Any,
) -> Opportunity:
    from core_crm.sales.currency import base_currency

    st = stage(stage_key, pipeline_key)
    currency = currency or base_currency()
    account = account or Account.objects.create(name=f"{name} account", owner=owner)
    amount = Decimal(str(amount))
    closed = st.outcome != Stage.Outcome.OPEN
    fields: dict[str, Any] = {
        "name": name,
        "owner": owner,
        "account": account,
        "pipeline": Pipeline.objects.get(key=pipeline_key),
        "stage": st,
        "amount": amount,
        "currency": currency,
        "amount_base": to_base(amount, currency),
        "close_date": close_date or timezone.localdate() + dt.timedelta(days=30),
        "probability": st.probability,
        "forecast_category": {"won": "closed", "lost": "omitted"}.get(st.outcome, "pipeline"),
        "closed_at": timezone.now() if closed else None,
    }
    fields.update(extra)
    opp = Opportunity.objects.create(**fields)
    StageChange.objects.create(
        opportunity=opp,
        to_stage=st,
        amount=opp.amount,
        currency=opp.currency,
        amount_base=opp.amount_base,
        probability=opp.probability,
        actor=owner,
        channel="system",
    )
    return opp
