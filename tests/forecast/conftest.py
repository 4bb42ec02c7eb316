"""A small sales book in alpha for the forecast and report tests, in the first quarter of 2030
(so today's date never matters).

Team North: manager Mia (sales manager), reps Ann and Ben. Team South: rep Cai.
Currencies: CNY is the base; 1 USD = 7 CNY.

 #  owner  stage (outcome)        category   amount       in CNY   close date   closed
 1  Ann    won                    closed     10,000 CNY   10,000   2030-01-10   2030-01-10
 2  Ann    negotiation (open)     commit      1,000 USD    7,000   2030-02-01
 3  Ann    proposal (open)        best_case   5,000 CNY    5,000   2030-03-31
 4  Ann    qualification (open)   pipeline    2,000 CNY    2,000   2030-03-15
 5  Ann    lost (price)           omitted     9,000 CNY    9,000   2030-02-10   2030-02-10
 6  Ann    negotiation (open)     commit      4,000 CNY    4,000   2030-04-01 (next quarter)
 7  Ann    proposal (open)        omitted     3,000 CNY    3,000   2030-02-02
 8  Ben    won                    closed        500 USD    3,500   2030-03-01   2030-03-01
 9  Ben    negotiation (open)     commit      6,000 CNY    6,000   2030-01-20
10  Ben    qualification (open)   pipeline    1,500 CNY    1,500   2030-02-20
11  Cai    won                    closed     20,000 CNY   20,000   2030-02-15   2030-02-15
12  Cai    negotiation (open)     commit      8,000 CNY    8,000   2030-03-05
13  Ben    lost (competitor)      omitted     2,000 USD   14,000   2030-03-20   2030-03-20
14  Ben    lost (no reason)       omitted     1,000 CNY    1,000   2030-01-25   2030-01-25

Quotas (CNY): Ann Q1 40,000; Ben months Jan 5,000, Feb 5,000, Mar 4,000 (no quarter quota);
Cai Q1 30,000; team North Q1 60,000; team South none.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.customers.models import PicklistValue
from core_crm.forecast.models import Quota
from core_crm.sales.models import Currency
from core_crm.users.models import User

from ..sales.factories import make_opportunity

TZ = dt.UTC


def _user(email: str, name: str, role: Role) -> User:
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password="x" * 12, full_name=name
    )
    user.role, user.full_name = role, name
    user.save()
    return user


@pytest.fixture
def book(alpha):
    with tenant_context(alpha):
        roles = {r.key: r for r in Role.objects.all()}
        Currency.objects.update_or_create(code="USD", defaults={"rate_to_base": Decimal("7")})
        mia = _user("mia@book.test", "Mia Manager", roles["sales_manager"])
        ann = _user("ann@book.test", "Ann Rep", roles["sales_rep"])
        ben = _user("ben@book.test", "Ben Rep", roles["sales_rep"])
        cai = _user("cai@book.test", "Cai Rep", roles["sales_rep"])
        north = Team.objects.create(name="North")
        south = Team.objects.create(name="South")
        north.members.add(mia, ann, ben)
        south.members.add(cai)
        reason = {v.code: v for v in PicklistValue.objects.filter(picklist="lost_reason")}

        def opp(n, owner, stage, category, amount, currency, close, closed=None, **extra):
            return make_opportunity(
                owner,
                name=f"Deal {n}",
                stage_key=stage,
                forecast_category=category,
                amount=amount,
                currency=currency,
                close_date=close,
                closed_at=dt.datetime.combine(closed, dt.time(12), tzinfo=TZ) if closed else None,
                **extra,
            )

        d = dt.date
        opps = {
            1: opp(1, ann, "won", "closed", 10000, "CNY", d(2030, 1, 10), d(2030, 1, 10)),
            2: opp(2, ann, "negotiation", "commit", 1000, "USD", d(2030, 2, 1)),
            3: opp(3, ann, "proposal", "best_case", 5000, "CNY", d(2030, 3, 31)),
            4: opp(4, ann, "qualification", "pipeline", 2000, "CNY", d(2030, 3, 15)),
            5: opp(
                5,
                ann,
                "lost",
                "omitted",
                9000,
                "CNY",
                d(2030, 2, 10),
                d(2030, 2, 10),
                lost_reason=reason["price"],
            ),
            6: opp(6, ann, "negotiation", "commit", 4000, "CNY", d(2030, 4, 1)),
            7: opp(7, ann, "proposal", "omitted", 3000, "CNY", d(2030, 2, 2)),
            8: opp(8, ben, "won", "closed", 500, "USD", d(2030, 3, 1), d(2030, 3, 1)),
            9: opp(9, ben, "negotiation", "commit", 6000, "CNY", d(2030, 1, 20)),
            10: opp(10, ben, "qualification", "pipeline", 1500, "CNY", d(2030, 2, 20)),
            11: opp(11, cai, "won", "closed", 20000, "CNY", d(2030, 2, 15), d(2030, 2, 15)),
            12: opp(12, cai, "negotiation", "commit", 8000, "CNY", d(2030, 3, 5)),
            13: opp(
                13,
                ben,
                "lost",
                "omitted",
                2000,
                "USD",
                d(2030, 3, 20),
                d(2030, 3, 20),
                lost_reason=reason["competitor"],
            ),
            14: opp(14, ben, "lost", "omitted", 1000, "CNY", d(2030, 1, 25), d(2030, 1, 25)),
        }
        q1 = d(2030, 1, 1)
        Quota.objects.create(user=ann, period_kind="quarter", period_start=q1, amount=40000)
        for month, amount in ((1, 5000), (2, 5000), (3, 4000)):
            Quota.objects.create(
                user=ben, period_kind="month", period_start=d(2030, month, 1), amount=amount
            )
        Quota.objects.create(user=cai, period_kind="quarter", period_start=q1, amount=30000)
        Quota.objects.create(team=north, period_kind="quarter", period_start=q1, amount=60000)
        yield {
            "mia": mia,
            "ann": ann,
            "ben": ben,
            "cai": cai,
            "north": north,
            "south": south,
            "opps": opps,
        }
