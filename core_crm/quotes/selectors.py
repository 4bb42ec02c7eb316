"""Reads on quotes and the catalogue, always through record security for quotes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils.translation import gettext as _

from core_crm.access.models import Action, Scope
from core_crm.access.policy import access_or_404, scope_for, visible
from core_crm.sales.models import Opportunity
from core_crm.users.models import User
from core_crm.workspace.extensions import TIMELINE_LIMIT, TimelineItem

from .models import (
    OPEN_STATUSES,
    OpportunityLineItem,
    PriceBook,
    Product,
    Quote,
    QuoteEvent,
    QuoteLine,
    QuoteStatus,
    QuoteVersion,
)


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
    """Quotes waiting for approval that `user` may decide on (never their own), each with
    `hand_priced`: whether it has lines without a product (priced by hand)."""
    waiting = Quote.objects.filter(status=QuoteStatus.IN_REVIEW).exclude(owner=user)
    if not is_approver(user):
        return waiting.none()
    return (
        visible(user, waiting, "quote", Action.EDIT)
        .annotate(
            hand_priced=Exists(QuoteLine.objects.filter(quote=OuterRef("pk"), product__isnull=True))
        )
        .select_related("owner", "account", "opportunity")
        .order_by("submitted_at", "pk")
    )


def is_approver(user: User) -> bool:
    return user.is_active and (
        user.is_workspace_admin or scope_for(user, "quote", Action.EDIT) in (Scope.TEAM, Scope.ALL)
    )


def with_readable(user: User, quotes: QuerySet[Quote]) -> QuerySet[Quote]:
    """`quotes` (whoever owns them), each with `readable`: whether `user` may read it in full.
    One query, whatever the number of quotes. The others are shown only by number, owner,
    status and date — never title, amounts, lines or a link."""
    scope = scope_for(user, "quote", Action.READ)
    if scope in (Scope.ALL, Scope.NONE):
        quotes = quotes.annotate(readable=Value(scope == Scope.ALL))
    else:
        readable = visible(user, Quote.objects.filter(pk=OuterRef("pk")), "quote")
        quotes = quotes.annotate(readable=Exists(readable))
    return quotes.select_related("owner")


def account_quotes(user: User, account: Any) -> QuerySet[Quote]:
    """Every quote on the account, newest first, so no one offers the customer a second price
    unknowingly: those `user` may read in full, the others limited (see `with_readable`)."""
    return with_readable(user, Quote.objects.filter(account=account)).order_by("-created_at", "-pk")


def other_open_quotes(quote: Quote) -> QuerySet[Quote]:
    """The other open quotes (draft, in review, approved, sent) on the quote's account,
    whatever their products and whoever owns them, by number. Not filtered by record security:
    pass it through `with_readable` before showing it."""
    return (
        Quote.objects.filter(account_id=quote.account_id, status__in=OPEN_STATUSES)
        .exclude(pk=quote.pk)
        .select_related("owner")
        .order_by("number")
    )


def active_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("category")


def active_books(currency: str | None = None) -> QuerySet[PriceBook]:
    books = PriceBook.objects.filter(is_active=True)
    return books.filter(currency=currency) if currency else books


def default_book(
    opp: Opportunity, items: Sequence[OpportunityLineItem] | None = None
) -> PriceBook | None:
    """The book an opportunity's products and quotes are priced from: that of its first
    product, else the active book in its currency, the standard one first. `items`: the
    opportunity's line items when the caller has them already (saves a query)."""
    first = items[0] if items else None
    if items is None:
        first = opp.line_items.select_related("price_book").first()
    if first is not None:
        return first.price_book
    return active_books(opp.currency).order_by("-is_standard", "name").first()


TIMELINE_KINDS = (
    QuoteEvent.Kind.SENT,
    QuoteEvent.Kind.ACCEPTED,
    QuoteEvent.Kind.REJECTED,
    QuoteEvent.Kind.APPROVED,
)
ICONS = {"sent": "✉", "accepted": "✔", "rejected": "✖", "approved": "☑"}


def timeline(account: Any, user: User, since: dt.datetime | None) -> list[TimelineItem]:
    """Quote events on the account (sent, accepted, rejected, approved) of quotes the viewer
    may read, newest first, in one query. An event of a sent version (sent, and the customer's
    answer to it) shows that version's title and grand total as frozen, not the quote's
    current ones."""
    quotes = visible(user, Quote.objects.filter(account=account), "quote", Action.READ)
    version = QuoteVersion.objects.filter(quote=OuterRef("quote_id"), number=OuterRef("version"))
    events = (
        QuoteEvent.objects.filter(quote__in=quotes.values("pk"), kind__in=TIMELINE_KINDS)
        .annotate(
            sent_title=Subquery(
                version.values(title=KT("snapshot__title"))[:1], output_field=CharField()
            ),
            sent_total=Subquery(
                version.values(total=KT("snapshot__totals__grand_total"))[:1],
                output_field=CharField(),
            ),
        )
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
        sent_total: str | None = event.sent_total
        total = Decimal(sent_total) if sent_total else quote.grand_total
        title = event.sent_title or quote.title
        items.append(
            TimelineItem(
                when=event.at,
                source="quotes",
                title=titles[event.kind] % {"number": quote.number, "version": event.version or ""},
                detail=f"{title} · {total:,.2f} {quote.currency}"
                + (f" · {event.comment}" if event.comment else ""),
                url=reverse("quote_detail", args=[quote.pk]),
                actor=str(event.actor) if event.actor else "",
                icon=ICONS.get(event.kind, "•"),
            )
        )
    return items
