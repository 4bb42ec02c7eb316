"""Products, price books, opportunity line items and quotes, per workspace (tenant schema).

Money is Decimal with two places; totals are kept by the services (see `totals.py` for the
rounding rules) so lists read them without summing lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Final, TypedDict

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core_crm.customers.models import Owned


class MoneyDigits(TypedDict):
    """The digits of every money field, spread into `DecimalField(**MONEY)`."""

    max_digits: int
    decimal_places: int


MONEY: Final[MoneyDigits] = {"max_digits": 16, "decimal_places": 2}


class ProductCategory(models.Model):
    """A node of the product category tree."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent category"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        constraints = [
            models.UniqueConstraint(
                "name", "parent", name="category_name_per_parent", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return self.name

    def path(self) -> str:
        """“Parent › Child”, for choice lists."""
        names: list[str] = []
        seen: set[int] = set()
        node: ProductCategory | None = self
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))


class Product(models.Model):
    """Something the workspace sells. Products in use are retired (is_active=False)."""

    code = models.CharField(_("code (SKU)"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ProductCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    unit = models.CharField(_("unit"), max_length=30, default="pcs")
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PriceBook(models.Model):
    """A list of unit prices in one currency: the standard book, or one per segment or
    currency. Exactly one active book is the standard one."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.CharField(_("currency"), max_length=3)
    is_standard = models.BooleanField(_("standard price book"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=500, blank=True)

    class Meta:
        ordering = ["-is_standard", "name"]
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        constraints = [
            models.UniqueConstraint(
                fields=["is_standard"], condition=Q(is_standard=True), name="one_standard_book"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceBookEntry(models.Model):
    """The unit price of one product in one price book (in the book's currency)."""

    price_book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["product__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["price_book", "product"], name="price_once_per_book"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.unit_price} {self.price_book.currency}"


class LineFields(models.Model):
    """What an opportunity line item and a quote line share."""

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(_("description"), max_length=500, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    list_price = models.DecimalField(_("list price"), **MONEY)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=0
    )
    # Kept by the services: quantity × list price − discount, rounded to cents.
    net = models.DecimalField(_("net"), default=0, **MONEY)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


def _line_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=Q(quantity__gt=0), name=f"{prefix}_quantity_positive"),
        models.CheckConstraint(condition=Q(list_price__gte=0), name=f"{prefix}_price_not_negative"),
        models.CheckConstraint(
            condition=Q(discount_percent__gte=0, discount_percent__lte=100),
            name=f"{prefix}_discount_0_to_100",
        ),
    ]


class OpportunityLineItem(LineFields):
    """A product on an opportunity, priced from a price book; the opportunity's amount
    follows the total of its line items."""

    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.CASCADE, related_name="line_items"
    )
    price_book = models.ForeignKey(PriceBook, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["position", "pk"]
        constraints = _line_constraints("oli")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected by customer")
    EXPIRED = "expired", _("Expired")


# Quotes still in play: they count when warning about other quotes on the same account.
OPEN_STATUSES = (
    QuoteStatus.DRAFT,
    QuoteStatus.IN_REVIEW,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
)
# Statuses a customer's answer or a new edit no longer changes.
FINAL_STATUSES = (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED)


class Quote(Owned):
    """An offer to the customer of an opportunity, with lines, tax and a validity date.

    The working copy is edited; each send freezes a numbered `QuoteVersion`."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.PROTECT,
        related_name="quotes",
        verbose_name=_("opportunity"),
    )
    # The opportunity's account, kept so the account's quotes are one indexed query.
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="quotes", editable=False
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
    )
    price_book = models.ForeignKey(
        PriceBook,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("price book"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    subtotal = models.DecimalField(_("subtotal"), default=0, **MONEY)
    discount_total = models.DecimalField(_("discounts"), default=0, **MONEY)
    tax_total = models.DecimalField(_("tax"), default=0, **MONEY)
    grand_total = models.DecimalField(_("grand total"), default=0, **MONEY)
    # The largest line discount; above the workspace's limit the prices need approval.
    max_discount = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    # Fingerprint of the prices a manager approved; approval holds while they are unchanged.
    approved_prices = models.CharField(max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("customer answered"), null=True, blank=True)
    customer_note = models.CharField(_("customer's answer"), max_length=1000, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "valid_until"]),
            # Global search (icontains on number and title).
            GinIndex(OpClass(Upper("number"), name="gin_trgm_ops"), name="quote_number_trgm"),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="quote_title_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="quote_tax_0_to_100"
            ),
            models.CheckConstraint(
                condition=Q(grand_total__gte=0), name="quote_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def net_total(self) -> Decimal:
        return self.subtotal - self.discount_total


class QuoteLine(LineFields):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        ordering = ["position", "pk"]
        constraints = _line_constraints("quoteline")

    def __str__(self) -> str:
        return self.description or str(self.product)


class QuoteVersion(models.Model):
    """What was sent: the full quote (header, lines, totals) frozen at sending. Never changes."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["quote", "number"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "number"], name="quote_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.quote.number} v{self.number}"


class QuoteEvent(models.Model):
    """A step in a quote's life, for its history and the account timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Approval refused")
        REOPENED = "reopened", _("Back to draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted by customer")
        REJECTED = "rejected", _("Rejected by customer")
        EXPIRED = "expired", _("Expired")

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.CharField(max_length=1000, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.quote.number}: {self.kind}"


class QuoteSequence(models.Model):
    """The last quote number used per year (Q-2026-0001…), taken under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
