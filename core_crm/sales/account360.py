"""What the sales app adds to the account 360° page: an Opportunities tab and the stage changes
of the account's opportunities on its timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from core_crm.access.policy import scope_for, visible
from core_crm.workspace.extensions import (
    TIMELINE_LIMIT,
    AccountTab,
    TimelineItem,
    register_account_tab,
    register_timeline_source,
)

from .currency import base_currency
from .models import Opportunity, Stage, StageChange


def _visible_opportunities(user: Any, account: Any) -> Any:
    return visible(user, Opportunity.objects.filter(account=account), "opportunity")


def opportunities_tab(request: Any, account: Any) -> str:
    user = request.user
    language = get_language() or "en"
    rows = list(
        _visible_opportunities(user, account)
        .select_related("stage", "owner", "pipeline")
        .order_by("stage__outcome", "close_date", "pk")[:100]
    )
    for row in rows:
        row.stage_label = row.stage.display(language)
    totals = _visible_opportunities(user, account).aggregate(
        open_total=Sum("amount_base", filter=Q(stage__outcome=Stage.Outcome.OPEN)),
        won_total=Sum("amount_base", filter=Q(stage__outcome=Stage.Outcome.WON)),
        open_count=Count("pk", filter=Q(stage__outcome=Stage.Outcome.OPEN)),
    )
    return render_to_string(
        "sales/_account_opportunities.html",
        {
            "opportunities": rows,
            "totals": totals,
            "base_currency": base_currency(),
            "account": account,
        },
        request=request,
    )


def stage_changes(account: Any, user: Any, since: dt.datetime | None) -> Iterable[TimelineItem]:
    language = get_language() or "en"
    changes = StageChange.objects.filter(
        opportunity__in=_visible_opportunities(user, account).values("pk")
    ).select_related("opportunity", "from_stage", "to_stage", "actor")
    if since is not None:
        changes = changes.filter(changed_at__gte=since)
    for change in changes.order_by("-changed_at", "-pk")[:TIMELINE_LIMIT]:
        opp = change.opportunity
        if change.from_stage is None:
            title = _("Opportunity %(name)s opened in %(stage)s") % {
                "name": opp.name,
                "stage": change.to_stage.display(language),
            }
        else:
            title = _("%(name)s moved from %(old)s to %(new)s") % {
                "name": opp.name,
                "old": change.from_stage.display(language),
                "new": change.to_stage.display(language),
            }
        yield TimelineItem(
            when=change.changed_at,
            source="stages",
            title=title,
            detail=f"{change.amount:,.2f} {change.currency} · {change.probability} %",
            url=f"/opportunities/{opp.pk}/",
            actor=change.actor.full_name if change.actor else "",
            icon="⇢",
        )


register_account_tab(
    AccountTab(
        key="opportunities",
        label=gettext_lazy("Opportunities"),
        render=opportunities_tab,
        order=20,
        visible=lambda user: scope_for(user, "opportunity", "read") != "none",
    )
)
register_timeline_source("stages", gettext_lazy("Stage changes"), stage_changes)
