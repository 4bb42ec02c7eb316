"""Writes on products, price books, opportunity line items and quotes: permission check,
invariants with named field errors, audit entry, in one transaction. Pages and API both call
these; neither writes the models itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.models import Action, RecordShare, Scope, Team
from core_crm.access.policy import (
    PermissionDenied,
    can,
    may_give_to,
    require_create,
    require_workspace_admin,
    scope_for,
)
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit, diff, snapshot
from core_crm.customers.models import Contact
from core_crm.notifications.models import Kind as NotificationKind
from core_crm.notifications.services import notify
from core_crm.sales.models import Opportunity
from core_crm.sales.opportunities import opportunity_update
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    OpportunityLineItem,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    QuoteSequence,
    QuoteStatus,
    QuoteVersion,
)
from .selectors import default_book
from .totals import line_amounts, price_fingerprint, quote_totals

# --- helpers ---------------------------------------------------------------------------------


def _decimal(
    data: dict[str, Any],
    name: str,
    errors: dict[str, list[str]],
    *,
    default: Decimal | None = None,
    low: Decimal | None = None,
    high: Decimal | None = None,
    low_inclusive: bool = True,
) -> Decimal | None:
    """A decimal from `data[name]` (or `default`), with a named error when it is not one or out
    of range; None when missing without default."""
    raw = data.get(name, default)
    if raw is None or raw == "":
        if default is None:
            errors.setdefault(name, []).append(_("This field is required."))
        return default
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors.setdefault(name, []).append(_("Enter a number."))
        return None
    if not value.is_finite():
        errors.setdefault(name, []).append(_("Enter a number."))
        return None
    if low is not None and (value < low or (value == low and not low_inclusive)):
        message = (
            _("Enter a number of at least %(low)s.")
            if low_inclusive
            else _("Enter a number greater than %(low)s.")
        )
        errors.setdefault(name, []).append(message % {"low": low})
        return None
    if high is not None and value > high:
        errors.setdefault(name, []).append(
            _("Enter a number of at most %(high)s.") % {"high": high}
        )
        return None
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.setdefault(name, []).append(_("Use at most two decimal places."))
        return None
    return value


def _full_clean(obj: Model, errors: dict[str, list[str]], exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _audit_update(
    obj: Model, before: dict[str, Any], fields: list[str], actor: User, channel: str
) -> None:
    changes = diff(before, snapshot(obj, fields))
    if changes:
        audit(obj=obj, kind=AuditEntry.Kind.UPDATE, actor=actor, channel=channel, changes=changes)


def _created(obj: Model, fields: list[str], actor: User, channel: str) -> None:
    values = snapshot(obj, fields)
    audit(
        obj=obj,
        kind=AuditEntry.Kind.CREATE,
        actor=actor,
        channel=channel,
        changes={k: [None, v] for k, v in values.items() if v not in (None, "", False)},
    )


def _currency_error(code: str) -> str | None:
    from core_crm.sales.currency import rates

    if code not in rates():
        return _("“%(code)s” is not a currency of this workspace.") % {"code": code}
    return None


# --- catalogue (workspace admins) -------------------------------------------------------------

CATEGORY_FIELDS = ["name", "parent"]
PRODUCT_FIELDS = ["code", "name", "category", "unit", "description", "is_active"]
BOOK_FIELDS = ["name", "currency", "is_standard", "is_active", "description"]


def _set(obj: Model, data: dict[str, Any], fields: list[str]) -> None:
    for name in fields:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            setattr(obj, name, value)


def _save_catalogue(
    obj: Model, data: dict[str, Any], fields: list[str], actor: User, channel: str, what: str
) -> Any:
    require_workspace_admin(actor, _("Only workspace admins can change %(what)s.") % {"what": what})
    creating = obj.pk is None
    with transaction.atomic():
        before = snapshot(obj, fields) if not creating else {}
        _set(obj, data, fields)
        errors: dict[str, list[str]] = {}
        check = getattr(obj, "_check", None)
        if callable(check):
            check(errors)
        if isinstance(obj, PriceBook) and obj.is_standard and not errors:
            # One standard book: this one takes the mark from the other (rolled back on error).
            PriceBook.objects.filter(is_standard=True).exclude(pk=obj.pk).update(is_standard=False)
        _full_clean(obj, errors)
        obj.save()
        if creating:
            _created(obj, fields, actor, channel)
        else:
            _audit_update(obj, before, fields, actor, channel)
    return obj


def _check_category(category: ProductCategory, errors: dict[str, list[str]]) -> None:
    seen, parent = {category.pk}, category.parent
    while parent is not None:
        if parent.pk in seen:
            errors.setdefault("parent", []).append(
                _("A category cannot be inside itself, directly or through others.")
            )
            return
        seen.add(parent.pk)
        parent = parent.parent


def category_save(
    *, actor: User, data: dict[str, Any], channel: str, category: ProductCategory | None = None
) -> ProductCategory:
    category = category or ProductCategory()
    category._check = lambda errors: _check_category(category, errors)  # type: ignore[attr-defined]
    return _save_catalogue(category, data, CATEGORY_FIELDS, actor, channel, _("product categories"))


def product_save(
    *, actor: User, data: dict[str, Any], channel: str, product: Product | None = None
) -> Product:
    """Create or change a product; the code (SKU) is unique, case-insensitively."""
    product = product or Product()

    def check(errors: dict[str, list[str]]) -> None:
        code = (product.code or "").strip()
        others = Product.objects.exclude(pk=product.pk).exclude(code=code)  # exact: Django's
        if code and others.filter(code__iexact=code).exists():
            errors.setdefault("code", []).append(
                _("Another product already has the code “%(code)s”.") % {"code": code}
            )

    product._check = check  # type: ignore[attr-defined]
    return _save_catalogue(product, data, PRODUCT_FIELDS, actor, channel, _("products"))


def price_book_save(
    *, actor: User, data: dict[str, Any], channel: str, book: PriceBook | None = None
) -> PriceBook:
    """Create or change a price book. Making one the standard book takes it from the other."""
    book = book or PriceBook()
    if "currency" in data and isinstance(data["currency"], str):
        data = {**data, "currency": data["currency"].strip().upper()}

    def check(errors: dict[str, list[str]]) -> None:
        if book.currency and (message := _currency_error(book.currency)):
            errors.setdefault("currency", []).append(message)
        if (
            book.pk
            and "currency" in data
            and PriceBook.objects.filter(pk=book.pk).exclude(currency=book.currency).exists()
            and OpportunityLineItem.objects.filter(price_book=book).exists()
        ):
            errors.setdefault("currency", []).append(
                _("Opportunities are priced from this book; its currency cannot change.")
            )
        if book.is_standard and not book.is_active:
            errors.setdefault("is_active", []).append(
                _("The standard price book stays active; make another book standard first.")
            )
        name = (book.name or "").strip()
        if (
            PriceBook.objects.filter(name__iexact=name)
            .exclude(pk=book.pk)
            .exclude(name=name)
            .exists()
        ):
            errors.setdefault("name", []).append(_("Another price book has this name."))

    book._check = check  # type: ignore[attr-defined]
    return _save_catalogue(book, data, BOOK_FIELDS, actor, channel, _("price books"))


def price_set(
    *,
    actor: User,
    book: PriceBook,
    product: Product,
    unit_price: Any,
    channel: str,
    is_active: bool = True,
) -> PriceBookEntry:
    """Set a product's unit price in a book (adding the product to the book if needed)."""
    require_workspace_admin(actor, _("Only workspace admins can change price books."))
    errors: dict[str, list[str]] = {}
    price = _decimal({"unit_price": unit_price}, "unit_price", errors, low=Decimal(0))
    if errors or price is None:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = (
            PriceBookEntry.objects.select_for_update()
            .filter(price_book=book, product=product)
            .first()
        )
        if entry is None:
            entry = PriceBookEntry.objects.create(
                price_book=book, product=product, unit_price=price, is_active=is_active
            )
            _created(entry, ["price_book", "product", "unit_price", "is_active"], actor, channel)
        else:
            before = snapshot(entry, ["unit_price", "is_active"])
            entry.unit_price, entry.is_active = price, is_active
            entry.save()
            _audit_update(entry, before, ["unit_price", "is_active"], actor, channel)
    return entry


def price_remove(*, actor: User, entry: PriceBookEntry, channel: str) -> None:
    """Take a product out of a book; opportunities and quotes keep the prices they took."""
    require_workspace_admin(actor, _("Only workspace admins can change price books."))
    with transaction.atomic():
        audit(
            obj=entry,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(entry, ["price_book", "product", "unit_price"]),
        )
        entry.delete()


def book_price(book: PriceBook, product: Product | None) -> Decimal | None:
    if product is None:
        return None
    entry = PriceBookEntry.objects.filter(
        price_book=book, product=product, is_active=True, product__is_active=True
    ).first()
    return entry.unit_price if entry else None


# --- opportunity line items -------------------------------------------------------------------

LINE_ITEM_FIELDS = [
    "product",
    "price_book",
    "quantity",
    "list_price",
    "discount_percent",
    "description",
]


def _require_edit_opportunity(actor: User, opp: Opportunity) -> None:
    if not can(actor, Action.EDIT, opp, "opportunity"):
        raise PermissionDenied(_("Your role does not allow editing this opportunity."))


def _opportunity_amount(opp: Opportunity, *, actor: User, total: Decimal, channel: str) -> None:
    """The opportunity's amount follows its line items, through the sales service (so its
    base amount and history stay right)."""
    if opp.amount == total:
        return
    opportunity_update(opp, actor=actor, data={"amount": total}, channel=channel)


def _line_values(
    data: dict[str, Any], errors: dict[str, list[str]], current: Any = None
) -> tuple[Decimal | None, Decimal | None]:
    quantity = _decimal(
        data,
        "quantity",
        errors,
        default=current.quantity if current else Decimal(1),
        low=Decimal(0),
        low_inclusive=False,
        high=Decimal("9999999999"),
    )
    discount = _decimal(
        data,
        "discount_percent",
        errors,
        default=current.discount_percent if current else Decimal(0),
        low=Decimal(0),
        high=Decimal(100),
    )
    return quantity, discount


def _next_position(lines: Any) -> int:
    """The position after the last of `lines` (an opportunity's items or a quote's lines)."""
    last = lines.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 1


def line_item_save(
    opp: Opportunity,
    *,
    actor: User,
    data: dict[str, Any],
    channel: str,
    item: OpportunityLineItem | None = None,
) -> OpportunityLineItem:
    """Add (or change) a product on an opportunity at its price-book price. All items of an
    opportunity come from one price book in the opportunity's currency."""
    _require_edit_opportunity(actor, opp)
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opp.pk)
        book: PriceBook | None = data.get("price_book") or (item.price_book if item else None)
        product: Product | None = data.get("product") or (item.product if item else None)
        if book is None:
            errors["price_book"] = [_("Choose a price book.")]
        elif not book.is_active and (item is None or item.price_book_id != book.pk):
            errors["price_book"] = [_("This price book is retired; choose a current one.")]
        elif book.currency != opp.currency:
            errors["price_book"] = [
                _(
                    "This price book is in %(book)s but the opportunity is in %(opp)s; choose a "
                    "%(opp)s price book or change the opportunity's currency."
                )
                % {"book": book.currency, "opp": opp.currency}
            ]
        else:
            other = opp.line_items.exclude(price_book=book)
            if item is not None:
                other = other.exclude(pk=item.pk)
            if other.exists():
                errors["price_book"] = [
                    _("This opportunity is priced from “%(name)s”; use the same price book.")
                    % {"name": other.first().price_book.name}  # type: ignore[union-attr]
                ]
        price = None
        # Only a new item, or a changed product or book, takes the book's current price; the
        # quantity or discount of an item whose product was retired can still change.
        repriced = (
            item is None
            or (product is not None and product.pk != item.product_id)
            or (book is not None and book.pk != item.price_book_id)
        )
        if product is None:
            errors["product"] = [_("Choose a product.")]
        elif not repriced:
            price = item.list_price if item is not None else None
        elif book is not None and "price_book" not in errors:
            price = book_price(book, product)
            if price is None:
                errors["product"] = [
                    _("“%(product)s” has no active price in “%(book)s”.")
                    % {"product": product.name, "book": book.name}
                ]
        quantity, discount = _line_values(data, errors, item)
        if errors:
            raise ValidationError(errors)
        creating = item is None
        if item is None:
            item = OpportunityLineItem(opportunity=opp, position=_next_position(opp.line_items))
            before: dict[str, Any] = {}
        else:
            before = snapshot(item, LINE_ITEM_FIELDS)
        assert quantity is not None and discount is not None and price is not None
        item.price_book, item.product = book, product  # type: ignore[assignment]
        item.quantity, item.discount_percent = quantity, discount
        # A changed product or book takes the book's price; otherwise the item keeps its price.
        if creating or before.get("product") != product.pk or before.get("price_book") != book.pk:  # type: ignore[union-attr]
            item.list_price = price
        if "description" in data:
            item.description = str(data["description"] or "").strip()[:500]
        item.net = line_amounts(item.quantity, item.list_price, item.discount_percent).net
        item.save()
        if creating:
            _created(item, LINE_ITEM_FIELDS, actor, channel)
        else:
            _audit_update(item, before, LINE_ITEM_FIELDS, actor, channel)
        _sync_opportunity(opp, actor=actor, channel=channel)
    return item


def line_item_delete(item: OpportunityLineItem, *, actor: User, channel: str) -> None:
    opp = item.opportunity
    _require_edit_opportunity(actor, opp)
    with transaction.atomic():
        audit(
            obj=item,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(item, LINE_ITEM_FIELDS),
        )
        item.delete()
        _sync_opportunity(opp, actor=actor, channel=channel)


def line_items_total(opp: Opportunity) -> Decimal:
    return opp.line_items.aggregate(total=Sum("net"))["total"] or Decimal("0.00")


def _sync_opportunity(opp: Opportunity, *, actor: User, channel: str) -> None:
    if opp.line_items.exists():
        opp.refresh_from_db(fields=["amount"])
        _opportunity_amount(opp, actor=actor, total=line_items_total(opp), channel=channel)


# --- quotes ---------------------------------------------------------------------------------

QUOTE_FIELDS = ["title", "contact", "price_book", "tax_rate", "valid_until", "terms"]
QUOTE_LINE_FIELDS = ["product", "description", "quantity", "list_price", "discount_percent"]


def next_number(today: dt.date | None = None) -> str:
    """Q-<year>-<0001…>, one sequence per workspace and year, safe under concurrency."""
    year = (today or timezone.localdate()).year
    QuoteSequence.objects.get_or_create(year=year)
    seq = QuoteSequence.objects.select_for_update().get(year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"Q-{year}-{seq.last:04d}"


def _plain(value: Decimal) -> str:
    """A percentage without trailing zeros for messages: 20.00 -> "20" (not "2E+1"), 12.50 ->
    "12.5"."""
    return f"{Decimal(value).normalize():f}"


def discount_limit() -> Decimal:
    return Decimal(workspace_settings().quote_discount_limit)


@dataclass(frozen=True)
class Approval:
    """What a quote's prices need before it is sent. A manager approves a quote when a line's
    discount is above the workspace's limit (`discount`) or a line has no product, so its
    list price was set by hand rather than taken from the price book (`hand_priced`); the
    approval holds while the prices stay exactly as approved (`approved`)."""

    discount: bool
    hand_priced: bool
    approved: bool

    @property
    def asked(self) -> bool:
        """The prices are of the kind a manager approves."""
        return self.discount or self.hand_priced

    @property
    def needed(self) -> bool:
        """A manager still has to approve these prices before the quote is sent."""
        return self.asked and not self.approved


def approval(
    quote: Quote, *, lines: Sequence[QuoteLine] | None = None, limit: Decimal | None = None
) -> Approval:
    """Why the quote's prices need a manager's approval, and whether they have it. Reads the
    lines once (none when they were prefetched or given) and the workspace's limit once
    (none when given)."""
    lines = list(quote.lines.all()) if lines is None else lines
    discount = quote.max_discount > (discount_limit() if limit is None else limit)
    hand_priced = any(line.product_id is None for line in lines)
    approved = (discount or hand_priced) and quote.approved_prices == price_fingerprint(lines)
    return Approval(discount=discount, hand_priced=hand_priced, approved=approved)


def needs_approval(quote: Quote) -> bool:
    """Whether a line's discount is above the workspace's limit or a line has no product (its
    price set by hand), and no manager approved these exact prices."""
    return approval(quote).needed


def may_approve(user: User, quote: Quote) -> bool:
    """Who decides on a quote's discounts: an active workspace admin, or someone whose role
    edits quotes over the owner's records with team or all scope — never the owner themself."""
    if not user.is_active or user.pk == quote.owner_id:
        return False
    if user.is_workspace_admin:
        return True
    scope = scope_for(user, "quote", Action.EDIT)
    if scope == Scope.ALL:
        return True
    return scope == Scope.TEAM and can(user, Action.EDIT, quote, "quote")


def approvers(quote: Quote) -> list[User]:
    """Everyone `may_approve` allows on the quote. The candidates are narrowed in SQL first
    (workspace admins, roles editing every quote, the owner's teammates, people the quote is
    shared with for editing, directly or through a team), so `may_approve` runs on a short
    list rather than on every user."""
    owner_teams = Team.objects.filter(members=quote.owner_id).values("pk")
    shares = RecordShare.objects.filter(
        content_type=ContentType.objects.get_for_model(Quote), object_id=quote.pk, can_edit=True
    )
    candidates = (
        User.objects.filter(is_active=True)
        .exclude(pk=quote.owner_id)
        .filter(
            Q(is_workspace_admin=True)
            | Q(role__permissions__quote__edit=Scope.ALL)
            | Q(teams__in=owner_teams)
            | Q(pk__in=shares.values("user_id"))
            | Q(teams__in=shares.values("team_id"))
        )
        .distinct()
        .select_related("role")
    )
    return [u for u in candidates if may_approve(u, quote)]


def _require_edit(actor: User, quote: Quote) -> None:
    if not can(actor, Action.EDIT, quote, "quote"):
        raise PermissionDenied(_("Your role does not allow editing this quote."))


def _refuse(message: str) -> ValidationError:
    return ValidationError({"status": [message]})


def _event(
    quote: Quote, kind: str, actor: User | None, comment: str = "", version: int | None = None
) -> QuoteEvent:
    return QuoteEvent.objects.create(
        quote=quote, kind=kind, actor=actor, comment=comment[:1000], version=version
    )


def _status(quote: Quote, status: str, actor: User | None, channel: str, **fields: Any) -> None:
    old = quote.status
    quote.status = status
    for name, value in fields.items():
        setattr(quote, name, value)
    quote.save()
    audit(
        obj=quote,
        kind=AuditEntry.Kind.UPDATE,
        actor=actor,
        channel=channel,
        changes={"status": [old, status]},
    )


def _quote_url(quote: Quote) -> str:
    return reverse("quote_detail", args=[quote.pk])


def _retotal(quote: Quote) -> None:
    lines = list(quote.lines.all())
    totals = quote_totals(lines, quote.tax_rate)
    quote.subtotal = totals.subtotal
    quote.discount_total = totals.discount_total
    quote.tax_total = totals.tax_total
    quote.grand_total = totals.grand_total
    quote.max_discount = totals.max_discount


def _after_change(quote: Quote, *, actor: User, channel: str, prices_changed: bool) -> None:
    """After an edit: new totals; a quote in review, approved with other prices, sent or
    expired becomes a draft again (the sent versions stay as they were)."""
    _retotal(quote)
    back_to_draft = quote.status in (QuoteStatus.SENT, QuoteStatus.EXPIRED) or (
        prices_changed and quote.status in (QuoteStatus.IN_REVIEW, QuoteStatus.APPROVED)
    )
    if quote.status == QuoteStatus.APPROVED and not prices_changed:
        back_to_draft = False
    if back_to_draft:
        _event(quote, QuoteEvent.Kind.REOPENED, actor)
        _status(quote, QuoteStatus.DRAFT, actor, channel)
    else:
        quote.save()


def _editable(quote: Quote) -> None:
    if quote.status in FINAL_STATUSES:
        raise _refuse(
            _("The customer has answered this quote (%(status)s); it can no longer change.")
            % {"status": quote.get_status_display()}
        )


def _lock(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().get(pk=quote.pk)


def _clean_header(
    quote: Quote,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    actor: User,
    line_book: PriceBook | None = None,
) -> None:
    """Check and set the header fields given in `data`. The contact must be one of the
    account's that the actor may read; the price book must match the quote's currency and,
    when the quote's lines come from a book (`line_book`), be that book."""
    if "title" in data:
        quote.title = str(data["title"] or "").strip()
        if not quote.title:
            errors.setdefault("title", []).append(_("Give the quote a title."))
    if "tax_rate" in data:
        rate = _decimal(data, "tax_rate", errors, low=Decimal(0), high=Decimal(100))
        if rate is not None:
            quote.tax_rate = rate
    if "valid_until" in data:
        value = data["valid_until"]
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                value = None
        if not isinstance(value, dt.date):
            errors.setdefault("valid_until", []).append(_("Enter a date (YYYY-MM-DD)."))
        else:
            quote.valid_until = value
    if "terms" in data:
        quote.terms = str(data["terms"] or "").strip()
    if "contact" in data:
        contact = data["contact"]
        if contact is not None and not isinstance(contact, Contact):
            contact = Contact.objects.filter(pk=contact).first()
            if contact is None:
                errors.setdefault("contact", []).append(_("Choose a contact."))
        if contact is not None and (
            contact.account_id not in (None, quote.account_id)
            or not can(actor, Action.READ, contact, "contact")
        ):
            errors.setdefault("contact", []).append(
                _("Choose a contact of %(account)s.") % {"account": quote.account}
            )
        quote.contact = contact
    if "price_book" in data:
        book = data["price_book"]
        if book is not None and book.currency != quote.currency:
            errors.setdefault("price_book", []).append(
                _("Choose a price book in %(currency)s, the quote's currency.")
                % {"currency": quote.currency}
            )
        elif book is not None and not book.is_active and book.pk != quote.price_book_id:
            errors.setdefault("price_book", []).append(
                _("This price book is retired; choose a current one.")
            )
        elif line_book is not None and book is not None and book.pk != line_book.pk:
            errors.setdefault("price_book", []).append(
                _("The products come from “%(name)s”; the quote uses the same price book.")
                % {"name": line_book.name}
            )
        quote.price_book = book


def quote_create(
    opportunity: Opportunity,
    *,
    actor: User,
    data: dict[str, Any] | None = None,
    channel: str,
    owner: User | None = None,
) -> Quote:
    """A draft quote on an opportunity the actor may read: owned by the opportunity's owner
    when the actor may give it to them (else by the actor), numbered, with the workspace's
    default tax rate and validity, and the opportunity's products as its lines."""
    require_create(actor, "quote")
    if not can(actor, Action.READ, opportunity, "opportunity"):
        raise PermissionDenied(_("You can only quote on opportunities you can see."))
    data = dict(data or {})
    settings = workspace_settings()
    if owner is None:
        owner = opportunity.owner if may_give_to(actor, opportunity.owner, "quote") else actor
    elif not may_give_to(actor, owner, "quote"):
        raise ValidationError({"owner": [_("You cannot make this person the quote's owner.")]})
    with transaction.atomic():
        items = list(opportunity.line_items.select_related("price_book", "product"))
        book = default_book(opportunity, items)
        quote = Quote(
            owner=owner,
            opportunity=opportunity,
            account_id=opportunity.account_id,
            contact_id=opportunity.primary_contact_id,
            price_book=book,
            currency=opportunity.currency,
            title=opportunity.name,
            tax_rate=settings.default_tax_rate,
            valid_until=timezone.localdate() + dt.timedelta(days=settings.quote_validity_days),
        )
        errors: dict[str, list[str]] = {}
        _clean_header(
            quote, data, errors, actor=actor, line_book=items[0].price_book if items else None
        )
        if errors:
            raise ValidationError(errors)
        quote.number = next_number()
        _full_clean(quote, {}, exclude=["owner", "custom_fields", "account", "opportunity"])
        quote.save()
        QuoteLine.objects.bulk_create(
            QuoteLine(
                quote=quote,
                position=i,
                product=item.product,
                description=item.description or item.product.name
                if item.product
                else item.description,
                quantity=item.quantity,
                list_price=item.list_price,
                discount_percent=item.discount_percent,
                net=item.net,
            )
            for i, item in enumerate(items, start=1)
        )
        _retotal(quote)
        quote.save()
        _event(quote, QuoteEvent.Kind.CREATED, actor)
        _created(
            quote,
            [
                "number",
                "title",
                "opportunity",
                "owner",
                "currency",
                "tax_rate",
                "valid_until",
                "grand_total",
            ],
            actor,
            channel,
        )
    return quote


def quote_update(quote: Quote, *, actor: User, data: dict[str, Any], channel: str) -> Quote:
    """Change the header (title, contact, price book, tax rate, validity, terms). A sent or
    expired quote becomes a draft again for the next version."""
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        _editable(quote)
        before = snapshot(quote, QUOTE_FIELDS)
        errors: dict[str, list[str]] = {}
        _clean_header(quote, data, errors, actor=actor)
        if errors:
            raise ValidationError(errors)
        changes = diff(before, snapshot(quote, QUOTE_FIELDS))
        if not changes:
            return quote
        _after_change(quote, actor=actor, channel=channel, prices_changed=False)
        audit(obj=quote, kind=AuditEntry.Kind.UPDATE, actor=actor, channel=channel, changes=changes)
    return quote


def quote_line_save(
    quote: Quote,
    *,
    actor: User,
    data: dict[str, Any],
    channel: str,
    line: QuoteLine | None = None,
) -> QuoteLine:
    """Add or change a line. A product line takes its list price from the quote's price book;
    a line without a product needs a description and a list price."""
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        _editable(quote)
        errors: dict[str, list[str]] = {}
        product: Product | None = data.get("product", line.product if line else None)
        price: Decimal | None = None
        product_changed = line is None or (product.pk if product else None) != line.product_id
        if product is not None and product_changed:
            if quote.price_book is None:
                errors["product"] = [
                    _("Choose the quote's price book first, or add a line without a product.")
                ]
            else:
                price = book_price(quote.price_book, product)
                if price is None:
                    errors["product"] = [
                        _("“%(product)s” has no active price in “%(book)s”.")
                        % {"product": product.name, "book": quote.price_book.name}
                    ]
        expected = price if product_changed else line.list_price if line else None
        if product is not None and expected is not None and data.get("list_price") is not None:
            # A product line is priced from the quote's book: another list price would slip a
            # discount past the approval limit, so it is refused by name. The price the line
            # already has (or the book's, for a new product) is accepted, so a line read back
            # can be sent back.
            given = _decimal(data, "list_price", errors, default=expected)
            if given is not None and given != expected:
                errors["list_price"] = [
                    _(
                        "A product line takes its list price from the price book "
                        "(%(price)s %(currency)s); give a discount instead, or add a line "
                        "without a product."
                    )
                    % {"price": expected, "currency": quote.currency}
                ]
        elif product is None:
            price = _decimal(
                data,
                "list_price",
                errors,
                default=line.list_price if line else None,
                low=Decimal(0),
                high=Decimal("99999999999999"),
            )
        description = str(data.get("description", line.description if line else "") or "").strip()
        if product is None and not description:
            errors["description"] = [_("Describe what a line without a product is for.")]
        quantity, discount = _line_values(data, errors, line)
        if errors:
            raise ValidationError(errors)
        assert quantity is not None and discount is not None
        creating = line is None
        if line is None:
            line = QuoteLine(quote=quote, position=_next_position(quote.lines))
            before: dict[str, Any] = {}
        else:
            before = snapshot(line, QUOTE_LINE_FIELDS)
        line.product = product
        if price is not None:
            line.list_price = price
        line.description = description[:500] or (product.name if product else "")
        line.quantity, line.discount_percent = quantity, discount
        line.net = line_amounts(line.quantity, line.list_price, line.discount_percent).net
        line.save()
        after = snapshot(line, QUOTE_LINE_FIELDS)
        changes = diff(before, after)
        prices_changed = creating or any(
            k in changes for k in ("product", "quantity", "list_price", "discount_percent")
        )
        if line.product_id is None and "description" in changes and not prices_changed:
            # A manager approved this hand-set price for what the line said it was: another
            # description at the same price needs approval again.
            prices_changed = True
            quote.approved_prices = ""
        if changes:
            _after_change(quote, actor=actor, channel=channel, prices_changed=prices_changed)
            audit(
                obj=quote,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes={f"line {line.position}.{k}": v for k, v in changes.items()},
            )
    return line


def quote_line_delete(line: QuoteLine, *, actor: User, channel: str) -> None:
    quote = line.quote
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        _editable(quote)
        gone = snapshot(line, QUOTE_LINE_FIELDS)
        position = line.position
        line.delete()
        _after_change(quote, actor=actor, channel=channel, prices_changed=True)
        audit(
            obj=quote,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={f"line {position}.{k}": [v, None] for k, v in gone.items()},
        )


def quote_submit(quote: Quote, *, actor: User, channel: str, comment: str = "") -> Quote:
    """Ask for approval of discounts above the limit or of lines priced by hand (without a
    product): the quote goes into review and every approver is told."""
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        if quote.status not in (QuoteStatus.DRAFT,):
            raise _refuse(_("Only a draft can be submitted for approval."))
        if not quote.lines.exists():
            raise ValidationError({"lines": [_("Add at least one line first.")]})
        need = approval(quote)
        if not need.asked:
            raise _refuse(
                _(
                    "No discount is above %(limit)s %% and every line has a product; the quote "
                    "can be sent without approval."
                )
                % {"limit": _plain(discount_limit())}
            )
        if need.approved:
            raise _refuse(_("A manager already approved these prices; the quote can be sent."))
        _status(quote, QuoteStatus.IN_REVIEW, actor, channel, submitted_at=timezone.now())
        _event(quote, QuoteEvent.Kind.SUBMITTED, actor, comment)
        # Each approver reads the title in their own language (notify fills it in).
        if need.discount and need.hand_priced:
            title = gettext_lazy(
                "Approve quote %(number)s (discount %(discount)s %%, lines priced by hand)"
            )
        elif need.discount:
            title = gettext_lazy("Approve quote %(number)s (discount %(discount)s %%)")
        else:
            title = gettext_lazy("Approve quote %(number)s (lines priced by hand)")
        params = {"number": quote.number, "discount": _plain(quote.max_discount)}
        for person in approvers(quote):
            notify(
                person,
                NotificationKind.APPROVAL_REQUEST,
                title,
                body=comment or quote.title,
                url=_quote_url(quote),
                actor=actor,
                params=params,
            )
    return quote


def _decide(quote: Quote, *, actor: User, channel: str, approve: bool, comment: str) -> Quote:
    with transaction.atomic():
        quote = _lock(quote)
        if not may_approve(actor, quote):
            if actor.pk == quote.owner_id:
                raise PermissionDenied(_("You cannot decide on your own quote; a manager does."))
            raise PermissionDenied(
                _("Only a manager over the quote's owner or a workspace admin can decide.")
            )
        if quote.status != QuoteStatus.IN_REVIEW:
            raise _refuse(_("This quote is not waiting for approval."))
        comment = (comment or "").strip()
        if approve:
            _status(
                quote,
                QuoteStatus.APPROVED,
                actor,
                channel,
                approved_prices=price_fingerprint(quote.lines.all()),
                approved_by=actor,
                approved_at=timezone.now(),
            )
            _event(quote, QuoteEvent.Kind.APPROVED, actor, comment)
            title = gettext_lazy("Quote %(number)s approved")
        else:
            if not comment:
                raise ValidationError({"comment": [_("Say why, so the owner can revise it.")]})
            _status(quote, QuoteStatus.DRAFT, actor, channel)
            _event(quote, QuoteEvent.Kind.DECLINED, actor, comment)
            title = gettext_lazy("Quote %(number)s not approved")
        notify(
            quote.owner,
            NotificationKind.APPROVAL_DECISION,
            title,
            body=comment,
            url=_quote_url(quote),
            actor=actor,
            params={"number": quote.number},
        )
    return quote


def quote_approve(quote: Quote, *, actor: User, channel: str, comment: str = "") -> Quote:
    return _decide(quote, actor=actor, channel=channel, approve=True, comment=comment)


def quote_decline(quote: Quote, *, actor: User, channel: str, comment: str) -> Quote:
    """Refuse the discounts: the quote goes back to draft with the reason."""
    return _decide(quote, actor=actor, channel=channel, approve=False, comment=comment)


def send_blockers(
    quote: Quote,
    *,
    lines: Sequence[QuoteLine] | None = None,
    need: Approval | None = None,
    limit: Decimal | None = None,
) -> list[str]:
    """Why the quote cannot be sent now (empty when it can). A caller that has the quote's
    lines, its `approval` or the workspace's discount limit already passes them, so they are
    not read again."""
    if limit is None:
        limit = discount_limit()
    if lines is None:
        lines = list(quote.lines.all())
    if need is None:
        need = approval(quote, lines=lines, limit=limit)
    reasons = []
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT):
        reasons.append(
            _("A quote that is %(status)s cannot be sent.")
            % {"status": quote.get_status_display().lower()}
        )
    if not lines:
        reasons.append(_("Add at least one line first."))
    if quote.valid_until < timezone.localdate():
        reasons.append(_("The validity date has passed; set a new one."))
    if quote.status != QuoteStatus.IN_REVIEW and need.needed:
        if need.discount:
            reasons.append(
                _(
                    "A discount of %(discount)s %% is above the limit of %(limit)s %%: submit "
                    "the quote for approval first."
                )
                % {"discount": _plain(quote.max_discount), "limit": _plain(limit)}
            )
        if need.hand_priced:
            reasons.append(
                _(
                    "Lines without a product are priced by hand: submit the quote for approval "
                    "first."
                )
            )
    return reasons


def quote_snapshot(quote: Quote) -> dict[str, Any]:
    """The whole quote as plain JSON: what a version freezes."""
    lines = []
    for line in quote.lines.select_related("product"):
        amounts = line_amounts(line.quantity, line.list_price, line.discount_percent)
        lines.append(
            {
                "position": line.position,
                "product_id": line.product_id,
                "product_code": line.product.code if line.product else "",
                "product_name": line.product.name if line.product else "",
                "unit": line.product.unit if line.product else "",
                "description": line.description,
                "quantity": str(line.quantity),
                "list_price": str(line.list_price),
                "discount_percent": str(line.discount_percent),
                "gross": str(amounts.gross),
                "discount": str(amounts.discount),
                "net": str(amounts.net),
            }
        )
    account = quote.account
    contact = quote.contact
    return {
        "number": quote.number,
        "title": quote.title,
        "account": {"id": account.pk, "name": account.name},
        "contact": {"id": contact.pk, "name": str(contact)} if contact else None,
        "opportunity": {"id": quote.opportunity_id, "name": quote.opportunity.name},
        "owner": {"id": quote.owner_id, "name": str(quote.owner), "email": quote.owner.email},
        "currency": quote.currency,
        "price_book": quote.price_book.name if quote.price_book else "",
        "tax_rate": str(quote.tax_rate),
        "valid_until": quote.valid_until.isoformat(),
        "terms": quote.terms,
        "lines": lines,
        "totals": {
            "subtotal": str(quote.subtotal),
            "discount_total": str(quote.discount_total),
            "net_total": str(quote.net_total),
            "tax_total": str(quote.tax_total),
            "grand_total": str(quote.grand_total),
        },
        "approved_by": str(quote.approved_by) if quote.approved_by_id else "",
    }


def quote_send(quote: Quote, *, actor: User, channel: str) -> QuoteVersion:
    """Send the quote: freezes the next numbered version (v1, v2…) with everything in it."""
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        reasons = send_blockers(quote)
        if reasons:
            raise _refuse(" ".join(reasons))
        number = (
            quote.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        now = timezone.now()
        snap = quote_snapshot(quote)
        snap["version"] = number
        snap["sent_at"] = now.isoformat()
        snap["sent_by"] = str(actor)
        version = QuoteVersion.objects.create(
            quote=quote, number=number, snapshot=snap, sent_at=now, sent_by=actor
        )
        _status(quote, QuoteStatus.SENT, actor, channel, sent_at=now)
        _event(quote, QuoteEvent.Kind.SENT, actor, version=number)
    return version


def _answer(quote: Quote, *, actor: User, channel: str, accepted: bool, note: str) -> Quote:
    _require_edit(actor, quote)
    with transaction.atomic():
        quote = _lock(quote)
        if quote.status != QuoteStatus.SENT:
            raise _refuse(_("Only a sent quote can be accepted or rejected by the customer."))
        status = QuoteStatus.ACCEPTED if accepted else QuoteStatus.REJECTED
        _status(
            quote,
            status,
            actor,
            channel,
            answered_at=timezone.now(),
            customer_note=(note or "").strip()[:1000],
        )
        last = quote.versions.order_by("-number").values_list("number", flat=True).first()
        _event(
            quote,
            QuoteEvent.Kind.ACCEPTED if accepted else QuoteEvent.Kind.REJECTED,
            actor,
            note,
            version=last,
        )
    return quote


def quote_accept(quote: Quote, *, actor: User, channel: str, note: str = "") -> Quote:
    """Record that the customer accepted the last sent version."""
    return _answer(quote, actor=actor, channel=channel, accepted=True, note=note)


def quote_reject(quote: Quote, *, actor: User, channel: str, note: str = "") -> Quote:
    """Record that the customer turned the quote down."""
    return _answer(quote, actor=actor, channel=channel, accepted=False, note=note)


def expire_quotes(today: dt.date | None = None) -> int:
    """Quotes still open past their validity date become expired; returns how many."""
    today = today or timezone.localdate()
    count = 0
    with transaction.atomic():
        due = Quote.objects.select_for_update().filter(
            status__in=OPEN_STATUSES,
            valid_until__lt=today,
        )
        for quote in due:
            _status(quote, QuoteStatus.EXPIRED, None, "system")
            _event(quote, QuoteEvent.Kind.EXPIRED, None)
            count += 1
    return count
