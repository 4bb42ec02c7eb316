"""Reading opportunities: record security first, then the filters lists, the board and the
API share (owner, team, pipeline, stage, outcome, close period, search)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core_crm.access.models import Team
from core_crm.access.policy import visible

from .models import Opportunity, Stage

PERIODS = {
    "this_month": _("Closing this month"),
    "next_month": _("Closing next month"),
    "this_quarter": _("Closing this quarter"),
    "next_quarter": _("Closing next quarter"),
    "overdue": _("Overdue (open, close date passed)"),
}
OUTCOMES = {"open": _("Open"), "won": _("Won"), "lost": _("Lost")}


def opportunity_list(user: Any) -> QuerySet[Opportunity]:
    return visible(user, Opportunity.objects.all(), "opportunity")


def stage_or_error(pk: Any) -> Stage:
    """The stage a move names (the page's posted value or the API's), or a ValidationError on
    `stage` when there is none such."""
    stage = Stage.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if stage is None:
        raise ValidationError({"stage": [_("Choose a stage.")]})
    return stage


def _month_start(day: dt.date, offset: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


def period_range(period: str, today: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
    """[start, end) of a named close period."""
    today = today or timezone.localdate()
    if period == "this_month":
        return _month_start(today), _month_start(today, 1)
    if period == "next_month":
        return _month_start(today, 1), _month_start(today, 2)
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    if period == "this_quarter":
        return quarter_start, _month_start(quarter_start, 3)
    if period == "next_quarter":
        return _month_start(quarter_start, 3), _month_start(quarter_start, 6)
    return None


@dataclass
class Filters:
    owner: str = ""  # "me" or a user id
    team: str = ""
    pipeline: str = ""
    stage: str = ""
    outcome: str = ""
    period: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        return cls(**{name: str(params.get(name, "")).strip() for name in cls.__dataclass_fields__})


def apply_filters(queryset: QuerySet[Opportunity], user: Any, f: Filters) -> QuerySet[Opportunity]:
    if f.owner == "me":
        queryset = queryset.filter(owner=user)
    elif f.owner.isdigit():
        queryset = queryset.filter(owner_id=int(f.owner))
    if f.team.isdigit():
        members = Team.members.through.objects.filter(team_id=int(f.team)).values("user_id")
        queryset = queryset.filter(owner_id__in=members)
    if f.pipeline.isdigit():
        queryset = queryset.filter(pipeline_id=int(f.pipeline))
    if f.stage.isdigit():
        queryset = queryset.filter(stage_id=int(f.stage))
    if f.outcome in OUTCOMES:
        queryset = queryset.filter(stage__outcome=f.outcome)
    if f.period == "overdue":
        queryset = queryset.filter(
            stage__outcome=Stage.Outcome.OPEN, close_date__lt=timezone.localdate()
        )
    else:
        window = period_range(f.period)
        if window:
            queryset = queryset.filter(close_date__gte=window[0], close_date__lt=window[1])
    if f.q:
        queryset = queryset.filter(Q(name__icontains=f.q) | Q(account__name__icontains=f.q))
    return queryset


WEIGHTED = ExpressionWrapper(
    F("amount_base") * F("probability") / Decimal(100),
    output_field=DecimalField(max_digits=20, decimal_places=4),
)


def totals(queryset: QuerySet[Opportunity]) -> dict[str, Any]:
    """Count, total and weighted total in the base currency, in one query."""
    zero = Decimal(0)
    return queryset.aggregate(
        count=Count("pk"),
        total=Coalesce(Sum("amount_base"), zero, output_field=DecimalField()),
        weighted=Coalesce(Sum(WEIGHTED), zero, output_field=DecimalField()),
    )


def stage_totals(queryset: QuerySet[Opportunity]) -> dict[int, dict[str, Any]]:
    """{stage id: count, total, weighted} in one GROUP BY query."""
    rows = (
        queryset.order_by()
        .values("stage_id")
        .annotate(count=Count("pk"), total=Sum("amount_base"), weighted=Sum(WEIGHTED))
    )
    return {
        row["stage_id"]: {
            "count": row["count"],
            "total": row["total"] or Decimal(0),
            "weighted": (row["weighted"] or Decimal(0)).quantize(Decimal("0.01")),
        }
        for row in rows
    }
