"""The demo workspace's sales side looks alive: deals in every stage with their history,
quotes in several statuses, a week of activities and quotas, all keeping the sales rules."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.activities.models import Activity
from core_crm.customers.demo import seed_demo_data
from core_crm.customers.models import Account
from core_crm.forecast.models import PeriodKind, Quota
from core_crm.forecast.periods import quarter
from core_crm.quotes.models import OpportunityLineItem, Product, Quote, QuoteStatus
from core_crm.sales.currency import base_currency, to_base
from core_crm.sales.demo import seed_sales_demo
from core_crm.sales.models import (
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    Pipeline,
    Stage,
    StageChange,
)


def _counts() -> dict[str, int]:
    return {
        "opportunities": Opportunity.objects.count(),
        "history": StageChange.objects.count(),
        "products": Product.objects.count(),
        "quotes": Quote.objects.count(),
        "activities": Activity.objects.count(),
        "quotas": Quota.objects.count(),
    }


def test_demo_sales_data_follows_the_sales_rules_and_is_seeded_once(alpha):
    today = timezone.localdate()
    with tenant_context(alpha):
        # Given the demo workspace's people and accounts, with a small sales side
        Account.objects.all().delete()
        assert seed_demo_data(password="demo-pass-123", accounts=60)

        # Then every active stage of each pipeline has opportunities
        for pipeline in Pipeline.objects.filter(is_active=True):
            for stage in pipeline.stages.filter(is_active=True):
                assert Opportunity.objects.filter(stage=stage).exists(), stage.key
        opportunities = list(Opportunity.objects.select_related("stage"))
        assert len(opportunities) >= 30
        assert Opportunity.objects.values("owner").distinct().count() >= 4
        # won is 100 % and closed; lost has a reason, 0 % and is omitted
        for opp in opportunities:
            if opp.stage.outcome == Stage.Outcome.WON:
                assert (opp.probability, opp.forecast_category) == (100, ForecastCategory.CLOSED)
                assert opp.closed_at is not None
            elif opp.stage.outcome == Stage.Outcome.LOST:
                assert opp.lost_reason_id is not None
                assert (opp.probability, opp.forecast_category) == (0, ForecastCategory.OMITTED)
            else:
                assert opp.closed_at is None
                assert opp.forecast_category != ForecastCategory.CLOSED
            # the base amount is the amount at the currency's rate
            assert opp.amount_base == to_base(opp.amount, opp.currency)
        assert {o.currency for o in opportunities} - {base_currency()}  # other currencies too
        # deals with products cost what their products add up to
        for opp in Opportunity.objects.filter(line_items__isnull=False).distinct():
            assert opp.amount == sum(i.net for i in opp.line_items.all())
        assert OpportunityLineItem.objects.exists()
        assert OpportunityContact.objects.exists()

        # every opportunity has its history: created in the first stage, then each move,
        # with the amount and probability of the moment, in time order
        for opp in opportunities:
            moves = list(opp.stage_changes.order_by("changed_at", "pk"))
            assert moves, opp.name
            assert moves[0].from_stage_id is None
            assert moves[-1].to_stage_id == opp.stage_id
            assert moves[-1].probability == opp.probability
            assert moves[-1].amount == opp.amount
            for earlier, later in itertools.pairwise(moves):
                assert later.from_stage_id == earlier.to_stage_id
            assert moves[-1].changed_at <= timezone.now()
        assert StageChange.objects.count() > len(opportunities)  # deals moved over time
        assert StageChange.objects.filter(
            changed_at__lt=timezone.now() - dt.timedelta(days=60)
        ).exists()

        # quotes in at least four statuses; each sent quote has its frozen version
        statuses = set(Quote.objects.values_list("status", flat=True))
        assert len(statuses) >= 4, statuses
        sent = Quote.objects.filter(status__in=[QuoteStatus.SENT, QuoteStatus.ACCEPTED])
        assert sent.exists()
        for quote in sent:
            assert quote.versions.exists()
        assert Quote.objects.filter(status=QuoteStatus.IN_REVIEW).exists()

        # activities on each of the seven days around today
        days = {
            timezone.localtime(a.start_at or a.due_at).date()
            for a in Activity.objects.all()
            if a.start_at or a.due_at
        }
        for offset in range(-3, 4):
            assert today + dt.timedelta(days=offset) in days, offset
        assert Activity.objects.filter(done=True).exclude(outcome="").exists()
        assert Activity.objects.filter(done=False, reminder_at__gt=timezone.now()).exists()
        # the workspace admin, who signs in first, has a week on the calendar too, on the
        # accounts at the top of the list
        admin_days = {
            timezone.localtime(a.start_at or a.due_at).date()
            for a in Activity.objects.filter(owner__is_workspace_admin=True)
            if a.start_at or a.due_at
        }
        assert len(admin_days) >= 4

        # quotas for the current quarter, per person and per team
        this_quarter = Quota.objects.filter(
            period_kind=PeriodKind.QUARTER, period_start=quarter(today).start
        )
        assert this_quarter.filter(user__isnull=False).count() >= 6
        assert this_quarter.filter(team__isnull=False).exists()

        # When it runs again, nothing is added
        counts = _counts()
        assert seed_demo_data(password="x", accounts=60) is False
        assert seed_sales_demo() is False
        assert _counts() == counts
