"""People and records of the alpha workspace for the activities tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.activities import services
from core_crm.activities.models import Activity
from core_crm.customers.models import Account
from core_crm.users.models import User

from ..customfields.helpers import client_for, user_with_role


@pytest.fixture
def other_rep(alpha) -> User:  # type: ignore[no-untyped-def]
    """A second sales rep of alpha, in no team with `rep`."""
    return user_with_role(alpha, "wang.wei@alpha.test", "sales_rep")


@pytest.fixture
def other_rep_client(alpha, other_rep):  # type: ignore[no-untyped-def]
    return client_for(alpha, other_rep.email)


def later(hours: float = 2) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(microsecond=0)


def make_account(owner: User, name: str = "Hangzhou Tea Co", **fields: Any) -> Account:
    return Account.objects.create(name=name, owner=owner, **fields)


def make_meeting(actor: User, account: Account, subject: str = "Kick-off", **data: Any) -> Activity:
    start = data.pop("start_at", later())
    return services.activity_create(
        actor=actor,
        channel="web",
        data={"kind": "meeting", "subject": subject, "account": account, "start_at": start, **data},
    )


@pytest.fixture
def alpha_ctx(alpha):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        yield alpha
