"""Reads on quotes and the catalogue, always through record security for quotes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from core_crm.access.models import Action, Scope
from core_crm.access.policy import access_or_404, scope_for, visible
from core_crm.sales.models import Opportunity
from core_crm.users.models import User
from core_crm.workspace.extensions import TIMELINE_LIMIT, TimelineItem

from .models import PriceBook, Product, Quote, QuoteEvent, QuoteStatus


def quote_list(user: User, action: str = Action.READ) -> QuerySet[Quote]:
    return visible(user, Quote.objects.all(), "quote", action).select_related(
        "owner", "account", "opportunity"
    )


def access_quote(user: User, pk: object, action: str = Action.READ) -> Quote:
    return access_or_404(user, quote_list(user), pk, "quote", action)


def access_opportunity(user: User, pk: object, action: str = Action.READ) -> Opportunity:
    return access_or_404(
        user, Opportunity.objects.select_related("account", "owner"), pk, "opportunity", action
    )


def approval_inbox(user: User) -> QuerySet[Quote]:
    """Quotes waiting for approval that `user` may decide on (never their own)."""
    waiting = Quote.objects.filter(status=QuoteStatus.IN_REVIEW).exclude(owner=user)
    if not user.is_workspace_admin and scope_for(user, "quote", Action.EDIT) not in (
        Scope.TEAM,
        Scope.ALL,
    ):
        return waiting.none()
    return (
        visible(user, waiting, "quote", Action.EDIT)
        .select_related("owner", "account", "opportunity")
        .order_by("submitted_at", "pk")
    )


def is_approver(user: User) -> bool:
    return user.is_active and (
        user.is_workspace_admin or scope_for(user, "quote", Action.EDIT) in (Scope.TEAM, Scope.ALL)
    )


def account_quotes(user: User, account: Any) -> QuerySet[Quote]:
    return quote_list(user).filter(account=account).order_by("-created_at", "-pk")


def active_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("category")


def active_books(currency: str | None = None) -> QuerySet[PriceBook]:
    books = PriceBook.objects.filter(is_active=True)
    return books.filter(currency=currency) if currency else books


TIMELINE_KINDS = (
    QuoteEvent.Kind.SENT,
    QuoteEvent.Kind.ACCEPTED,
    QuoteEvent.Kind.REJECTED,
    QuoteEvent.Kind.APPROVED,
)
ICONS = {"sent": "✉", "accepted": "✔", "rejected": "✖", "approved": "☑"}


def timeline(account: Any, user: User, since: dt.datetime | None) -> list[TimelineItem]:
    """Quote events on the account (sent, accepted, rejected, approved) of quotes the viewer
    may read, newest first, in one query."""
    quotes = visible(user, Quote.objects.filter(account=account), "quote", Action.READ)
    events = (
        QuoteEvent.objects.filter(quote__in=quotes.values("pk"), kind__in=TIMELINE_KINDS)
        .select_related("quote", "actor")
        .order_by("-at", "-pk")
    )
    if since is not None:
        events = events.filter(at__gte=since)
    items = []
    for event in events[:TIMELINE_LIMIT]:
        quote = event.quote
        titles = {
            "sent": _("Quote %(number)s sent (v%(version)s)"),
            "accepted": _("Quote %(number)s accepted by the customer"),
            "rejected": _("Quote %(number)s rejected by the customer"),
            "approved": _("Quote %(number)s approved"),
        }
        items.append(
            TimelineItem(
                when=event.at,
                source="quotes",
                title=titles[event.kind] % {"number": quote.number, "version": event.version or ""},
                detail=f"{quote.title} · {quote.grand_total:,.2f} {quote.currency}"
                + (f" · {event.comment}" if event.comment else ""),
                url=reverse("quote_detail", args=[quote.pk]),
                actor=str(event.actor) if event.actor else "",
                icon=ICONS.get(event.kind, "•"),
            )
        )
    return items
