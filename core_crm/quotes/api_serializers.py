"""Serializers of the quotes API: what products, price books, line items, quotes and their
versions look like over the wire, and the bodies the endpoints take.

Output serializers are read-only. Input serializers check types only (numbers, dates, ids);
the services check the rules (prices from the book, discount limits, currencies) and name the
field, so the API and the pages answer in the same words."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core_crm.access.models import Action
from core_crm.access.policy import can

from . import services
from .models import (
    OpportunityLineItem,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    QuoteStatus,
    QuoteVersion,
)
from .totals import line_amounts


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def quantity(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def percent(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, **kwargs)


def _name(user: Any) -> str:
    return (user.full_name or user.email) if user is not None else ""


# --- Catalogue -----------------------------------------------------------------------------------


class ProductCategorySerializer(serializers.ModelSerializer[ProductCategory]):
    path = serializers.SerializerMethodField(
        help_text="The names from the top category down to this one."
    )

    class Meta:
        model = ProductCategory
        fields = ("id", "name", "parent", "path")
        read_only_fields = fields

    def get_path(self, obj: ProductCategory) -> str:
        return obj.path()


class ProductCategoryInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)
    parent = serializers.IntegerField(  # type: ignore[assignment]  # Field.parent, popped by DRF
        required=False, allow_null=True, help_text="Id of the parent category; null: top level."
    )


class ProductPriceSerializer(serializers.ModelSerializer[PriceBookEntry]):
    """A product's price in one book, seen from the product."""

    price_book_name = serializers.CharField(source="price_book.name", read_only=True)
    currency = serializers.CharField(source="price_book.currency", read_only=True)

    class Meta:
        model = PriceBookEntry
        fields = ("id", "price_book", "price_book_name", "currency", "unit_price", "is_active")
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer[Product]):
    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    prices = ProductPriceSerializer(
        many=True, read_only=True, help_text="The product's unit price in each price book."
    )

    class Meta:
        model = Product
        fields = (
            "id",
            "code",
            "name",
            "category",
            "category_name",
            "unit",
            "description",
            "is_active",
            "prices",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ProductInputSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(max_length=60, help_text="The SKU; unique, ignoring case.")
    name = serializers.CharField(max_length=200)
    category = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of a product category."
    )
    unit = serializers.CharField(max_length=30, required=False, help_text='Default "pcs".')
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="false: retired, no longer offered for new lines."
    )


class PriceBookSerializer(serializers.ModelSerializer[PriceBook]):
    products = serializers.IntegerField(
        read_only=True, help_text="How many products have a price in the book."
    )

    class Meta:
        model = PriceBook
        fields = ("id", "name", "currency", "is_standard", "is_active", "description", "products")
        read_only_fields = fields


class PriceBookInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)
    currency = serializers.CharField(
        max_length=3, help_text="A currency of the workspace; fixed once opportunities use it."
    )
    is_standard = serializers.BooleanField(
        required=False, help_text="true takes the mark from the current standard book."
    )
    is_active = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PriceBookEntrySerializer(serializers.ModelSerializer[PriceBookEntry]):
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = PriceBookEntry
        fields = (
            "id",
            "price_book",
            "product",
            "product_code",
            "product_name",
            "unit_price",
            "is_active",
        )
        read_only_fields = fields


class PriceInputSerializer(serializers.Serializer[dict[str, Any]]):
    product = serializers.IntegerField(help_text="Id of the product.")
    unit_price = money(help_text="In the book's currency, zero or more.")
    is_active = serializers.BooleanField(required=False, default=True)


class PriceChangeSerializer(serializers.Serializer[dict[str, Any]]):
    unit_price = money(required=False, help_text="Left out: unchanged.")
    is_active = serializers.BooleanField(required=False, help_text="Left out: unchanged.")


# --- Lines ----------------------------------------------------------------------------------------


class LineAmountsMixin(serializers.Serializer[Any]):
    """gross and discount of a line, by the rules of `totals.py`."""

    gross = serializers.SerializerMethodField(
        help_text="quantity times list price, rounded to cents."
    )
    discount = serializers.SerializerMethodField(
        help_text="gross times discount %, rounded to cents."
    )

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_gross(self, obj: Any) -> str:
        return str(line_amounts(obj.quantity, obj.list_price, obj.discount_percent).gross)

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_discount(self, obj: Any) -> str:
        return str(line_amounts(obj.quantity, obj.list_price, obj.discount_percent).discount)


LINE_FIELDS = (
    "id",
    "position",
    "product",
    "product_code",
    "product_name",
    "unit",
    "description",
    "quantity",
    "list_price",
    "discount_percent",
    "gross",
    "discount",
    "net",
)


class LineItemSerializer(LineAmountsMixin, serializers.ModelSerializer[OpportunityLineItem]):
    product_code = serializers.CharField(source="product.code", read_only=True, allow_null=True)
    product_name = serializers.CharField(source="product.name", read_only=True, allow_null=True)
    unit = serializers.CharField(source="product.unit", read_only=True, allow_null=True)

    class Meta:
        model = OpportunityLineItem
        fields = (*LINE_FIELDS[:2], "price_book", *LINE_FIELDS[2:])
        read_only_fields = fields


class LineItemInputSerializer(serializers.Serializer[dict[str, Any]]):
    price_book = serializers.IntegerField(
        required=False,
        help_text="Id of an active price book in the opportunity's currency. Left out: the "
        "book of the opportunity's other products, else the standard one of that currency.",
    )
    product = serializers.IntegerField(help_text="Id of a product with a price in the book.")
    quantity = quantity(required=False, help_text="Greater than 0; default 1.")
    discount_percent = percent(required=False, help_text="0 to 100; default 0.")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class LineItemsSerializer(serializers.Serializer[dict[str, Any]]):
    opportunity = serializers.IntegerField()
    currency = serializers.CharField()
    price_book = serializers.IntegerField(
        allow_null=True, help_text="The book the products are priced from (null: none yet)."
    )
    total = money(help_text="Sum of the items' net amounts; the opportunity's amount follows it.")
    items = LineItemSerializer(many=True)


class QuoteLineSerializer(LineAmountsMixin, serializers.ModelSerializer[QuoteLine]):
    product_code = serializers.CharField(source="product.code", read_only=True, allow_null=True)
    product_name = serializers.CharField(source="product.name", read_only=True, allow_null=True)
    unit = serializers.CharField(source="product.unit", read_only=True, allow_null=True)

    class Meta:
        model = QuoteLine
        fields = LINE_FIELDS
        read_only_fields = fields


class QuoteLineInputSerializer(serializers.Serializer[dict[str, Any]]):
    product = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of a product priced in the quote's price book; its list price comes from "
        "the book. null: a line without a product, which needs a description and a list price; "
        "its price is set by hand, so the quote needs a manager's approval before it is sent.",
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    quantity = quantity(required=False, help_text="Greater than 0; default 1.")
    list_price = money(
        required=False,
        help_text="Lines without a product only: a product line is priced from the book "
        "(give a discount instead). A quote with a line without a product needs a manager's "
        "approval before it is sent; a new price or description on such a line after the "
        "approval needs it again.",
    )
    discount_percent = percent(
        required=False,
        help_text="0 to 100; default 0. Above the workspace's limit the quote needs a manager's "
        "approval before it is sent.",
    )


# --- Quotes ---------------------------------------------------------------------------------------


class QuoteSerializer(serializers.ModelSerializer[Quote]):
    owner_name = serializers.SerializerMethodField()
    account_name = serializers.CharField(source="account.name", read_only=True)
    opportunity_name = serializers.CharField(source="opportunity.name", read_only=True)
    net_total = money(read_only=True, help_text="subtotal minus discounts.")
    max_discount = percent(read_only=True, help_text="The largest line discount, in %.")

    class Meta:
        model = Quote
        fields: tuple[str, ...] = (
            "id",
            "number",
            "title",
            "status",
            "opportunity",
            "opportunity_name",
            "account",
            "account_name",
            "contact",
            "price_book",
            "currency",
            "tax_rate",
            "valid_until",
            "terms",
            "subtotal",
            "discount_total",
            "net_total",
            "tax_total",
            "grand_total",
            "max_discount",
            "approved_by",
            "approved_at",
            "submitted_at",
            "sent_at",
            "answered_at",
            "customer_note",
            "owner",
            "owner_name",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_owner_name(self, obj: Quote) -> str:
        return _name(obj.owner)


class QuoteVersionSerializer(serializers.ModelSerializer[QuoteVersion]):
    sent_by_name = serializers.SerializerMethodField()
    grand_total = serializers.SerializerMethodField(help_text="As sent.")
    pdf = serializers.SerializerMethodField(help_text="Path of the version's PDF.")

    class Meta:
        model = QuoteVersion
        fields: tuple[str, ...] = (
            "number",
            "sent_at",
            "sent_by",
            "sent_by_name",
            "grand_total",
            "pdf",
        )
        read_only_fields = fields

    def get_sent_by_name(self, obj: QuoteVersion) -> str:
        return _name(obj.sent_by)

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_grand_total(self, obj: QuoteVersion) -> str:
        return str(obj.snapshot.get("totals", {}).get("grand_total", ""))

    def get_pdf(self, obj: QuoteVersion) -> str:
        return f"/api/v1/quotes/{obj.quote_id}/versions/{obj.number}/pdf/"


class QuoteVersionDetailSerializer(QuoteVersionSerializer):
    snapshot = serializers.JSONField(
        read_only=True,
        help_text="The whole quote as sent: header, lines and totals, as strings. Never changes.",
    )

    class Meta(QuoteVersionSerializer.Meta):
        fields = (*QuoteVersionSerializer.Meta.fields, "snapshot")
        read_only_fields = fields


class QuoteDetailSerializer(QuoteSerializer):
    """A quote with its lines, sent versions and what the caller may do with it now (the
    caller comes from the context's request)."""

    lines = QuoteLineSerializer(many=True, read_only=True)
    versions = QuoteVersionSerializer(many=True, read_only=True)
    needs_approval = serializers.SerializerMethodField(
        help_text="A discount is above the workspace's limit or a line has no product (its "
        "price set by hand), and no manager approved these exact prices."
    )
    discount_limit = serializers.SerializerMethodField(
        help_text="The workspace's discount limit, in %."
    )
    send_blockers = serializers.SerializerMethodField(
        help_text="Why the quote cannot be sent now (empty when it can)."
    )
    can_edit = serializers.SerializerMethodField()
    may_approve = serializers.SerializerMethodField(
        help_text="The caller may approve or decline it now."
    )

    class Meta(QuoteSerializer.Meta):
        fields = (
            *QuoteSerializer.Meta.fields,
            "lines",
            "versions",
            "needs_approval",
            "discount_limit",
            "send_blockers",
            "can_edit",
            "may_approve",
        )
        read_only_fields = fields

    def _actor(self) -> Any:
        return self.context["request"].user

    @cached_property
    def _limit(self) -> Decimal:
        # The workspace's settings are read once per response, not once per field.
        return services.discount_limit()

    def _approval(self, obj: Quote) -> services.Approval:
        cache: dict[int, services.Approval] = self.__dict__.setdefault("_approvals", {})
        if obj.pk not in cache:
            cache[obj.pk] = services.approval(obj, limit=self._limit)
        return cache[obj.pk]

    def get_needs_approval(self, obj: Quote) -> bool:
        return self._approval(obj).needed

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2))
    def get_discount_limit(self, obj: Quote) -> str:
        return str(self._limit)

    def get_send_blockers(self, obj: Quote) -> list[str]:
        blockers = services.send_blockers(
            obj, lines=list(obj.lines.all()), need=self._approval(obj), limit=self._limit
        )
        return [str(reason) for reason in blockers]

    def get_can_edit(self, obj: Quote) -> bool:
        return can(self._actor(), Action.EDIT, obj, "quote")

    def get_may_approve(self, obj: Quote) -> bool:
        return obj.status == QuoteStatus.IN_REVIEW and services.may_approve(self._actor(), obj)


class QuoteHeaderSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200, required=False)
    contact = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of a contact of the quote's account."
    )
    price_book = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of an active price book in the quote's currency (the opportunity's).",
    )
    tax_rate = percent(required=False, help_text="0 to 100.")
    valid_until = serializers.DateField(required=False)
    terms = serializers.CharField(required=False, allow_blank=True)


class QuoteCreateSerializer(QuoteHeaderSerializer):
    opportunity = serializers.IntegerField(
        help_text="Id of an opportunity the caller may read; its products become the first lines."
    )
    lines = QuoteLineInputSerializer(
        many=True,
        required=False,
        help_text="More lines, added after the opportunity's products. All or nothing: a bad "
        "line answers 400 under `lines`, at its index, and no quote is made.",
    )


class QuoteCommentSerializer(serializers.Serializer[dict[str, Any]]):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class QuoteEventSerializer(serializers.ModelSerializer[QuoteEvent]):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = QuoteEvent
        fields = ("id", "kind", "actor", "actor_name", "comment", "version", "at")
        read_only_fields = fields

    def get_actor_name(self, obj: QuoteEvent) -> str:
        return _name(obj.actor)
