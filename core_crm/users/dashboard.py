"""What the dashboard shows a person when they sign in: their open pipeline, what closes this
month, their day's and overdue activities, quotes waiting for them. Each figure goes through
the same selectors (record security) as the pages it links to, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from core_crm.access.policy import scope_for


def my_day(user: Any) -> dict[str, Any]:
    from core_crm.activities.models import REMINDER_KINDS
    from core_crm.activities.selectors import WHEN, activity_list, involving, with_related
    from core_crm.quotes.models import QuoteStatus
    from core_crm.quotes.selectors import approval_inbox, is_approver, quote_list
    from core_crm.sales.currency import base_currency
    from core_crm.sales.models import Stage
    from core_crm.sales.selectors import opportunity_list, period_range, totals

    figures: dict[str, Any] = {"base_currency": base_currency()}
    if scope_for(user, "opportunity", "read") != "none":
        mine = opportunity_list(user).filter(owner=user, stage__outcome=Stage.Outcome.OPEN)
        figures["pipeline"] = totals(mine)
        month = period_range("this_month")
        if month is not None:
            figures["closing"] = totals(mine.filter(close_date__range=month))
        figures["overdue_deals"] = mine.filter(close_date__lt=timezone.localdate()).count()
    end_of_day = timezone.localtime().replace(hour=23, minute=59, second=59)
    moment = Q(start_at__lte=end_of_day) | Q(start_at__isnull=True, due_at__lte=end_of_day)
    # Notes and logged emails are records of what happened, not things to do.
    todo = with_related(
        activity_list(user).filter(
            involving(user), moment, done=False, kind__in=[str(k) for k in REMINDER_KINDS]
        )
    )
    figures["agenda"] = list(todo.order_by(WHEN.asc(nulls_last=True), "pk")[:10])
    start_of_day = end_of_day.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = todo.annotate(moment=WHEN).aggregate(
        all=Count("pk"), overdue=Count("pk", filter=Q(moment__lt=start_of_day))
    )
    figures["agenda_count"], figures["overdue_activities"] = counts["all"], counts["overdue"]
    if scope_for(user, "quote", "read") != "none":
        # Approvers see what waits for them; the others their own quotes in review.
        if is_approver(user):
            figures["to_approve"] = approval_inbox(user).count()
        else:
            figures["quotes_in_review"] = (
                quote_list(user).filter(owner=user, status=QuoteStatus.IN_REVIEW).count()
            )
    return figures
