"""REST API of products, product categories, price books, opportunity line items and quotes,
under /api/v1/.

The same services and selectors as the pages, so the rules, messages and audit trail are the
same (audit entries record the channel `api`):

* The catalogue (products, categories, price books and their prices) is read by anyone whose
  role reads quotes or opportunities, and kept by workspace admins (403 for anyone else).
* Line items and quotes follow record security: an opportunity or quote the caller may not
  read answers 404 exactly like one that does not exist (another team's, another
  workspace's); one they may read but not change answers 403 saying so.
* Quotes keep the pages' rules: product lines are priced from the quote's price book,
  discounts above the workspace's limit need a manager's approval before sending, each send
  freezes a numbered version that later edits leave alone, and a customer's answer is final.
  Every write is one transaction: a request that fails changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.access.models import Action, Scope
from core_crm.access.policy import PermissionDenied, scope_for, visible
from core_crm.api.params import flag, int_param
from core_crm.api.views import Pagination
from core_crm.audit.models import Channel
from core_crm.sales.models import Opportunity
from core_crm.users.models import User

from . import selectors, services
from .api_serializers import (
    LineItemInputSerializer,
    LineItemSerializer,
    LineItemsSerializer,
    PriceBookEntrySerializer,
    PriceBookInputSerializer,
    PriceBookSerializer,
    PriceChangeSerializer,
    PriceInputSerializer,
    ProductCategoryInputSerializer,
    ProductCategorySerializer,
    ProductInputSerializer,
    ProductSerializer,
    QuoteCommentSerializer,
    QuoteCreateSerializer,
    QuoteDetailSerializer,
    QuoteEventSerializer,
    QuoteHeaderSerializer,
    QuoteLineInputSerializer,
    QuoteLineSerializer,
    QuoteSerializer,
    QuoteVersionDetailSerializer,
    QuoteVersionSerializer,
)
from .models import (
    OpportunityLineItem,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteVersion,
)
from .pdf import version_pdf

API = Channel.API
ERROR = OpenApiResponse(
    description='Bad input: `{"<field>": ["..."]}` naming each field (`{"status": [...]}` '
    "when the quote's state does not allow it)."
)
FORBIDDEN = OpenApiResponse(description='The caller\'s role does not allow it: `{"detail": ...}`.')
NOT_FOUND = OpenApiResponse(description="No such id, or not one the caller may read.")
ADMINS_ONLY = OpenApiResponse(description='Not a workspace admin: `{"detail": ...}`.')


def _actor(request: Request) -> User:
    return cast(User, request.user)  # IsAuthenticated has let only users through


def _pick(model: Any, pk: Any, field: str, message: str) -> Any:
    """The row `pk` of `model` (None stays None); a 400 naming `field` when there is none."""
    if pk is None:
        return None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise ValidationError({field: [message]})
    return row


# --- The catalogue ---------------------------------------------------------------------------


def may_read_catalogue(user: User) -> bool:
    """Products and price books are read by whoever works with quotes or opportunities."""
    return user.is_active and (
        user.is_workspace_admin
        or any(
            scope_for(user, kind, Action.READ) != Scope.NONE for kind in ("quote", "opportunity")
        )
    )


class CatalogueAccess(permissions.BasePermission):
    """Reads for people who read quotes or opportunities; writes for workspace admins (403
    with a message for anyone else, like the settings pages)."""

    message = ""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            if may_read_catalogue(cast(User, user)):
                return True
            self.message = _(
                "Your role reads neither quotes nor opportunities, so the catalogue is not "
                "open to you."
            )
            return False
        if user.is_active and getattr(user, "is_workspace_admin", False):
            return True
        self.message = _("Only workspace admins can maintain products and price books.")
        return False


class CatalogueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, CatalogueAccess]
    pagination_class = Pagination

    @property
    def actor(self) -> User:
        return _actor(self.request)


def _category(pk: Any, field: str = "category") -> ProductCategory | None:
    return cast(
        ProductCategory | None,
        _pick(ProductCategory, pk, field, _("There is no such product category.")),
    )


def _products() -> QuerySet[Product]:
    prices = PriceBookEntry.objects.select_related("price_book").order_by("price_book__name", "pk")
    return Product.objects.select_related("category").prefetch_related(
        Prefetch("prices", queryset=prices)
    )


PRODUCT_FILTERS = [
    OpenApiParameter("active", bool, description="true: on sale; false: retired ones."),
    OpenApiParameter("category", int, description="Products of this category id."),
    OpenApiParameter("price_book", int, description="Products with an active price in this book."),
    OpenApiParameter("q", str, description="Part of the code or the name."),
]


@extend_schema_view(
    list=extend_schema(
        summary="Products, newest first, with their prices in each book",
        parameters=PRODUCT_FILTERS,
        tags=["products"],
    ),
    retrieve=extend_schema(
        summary="One product with its prices",
        responses={200: ProductSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["products"],
    ),
)
class ProductViewSet(CatalogueViewSet):
    """Products of the workspace, retired ones included (`is_active` false)."""

    serializer_class = ProductSerializer

    def get_queryset(self) -> QuerySet[Product]:
        return _products()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        params = self.request.query_params
        active = flag(params, "active")
        if active is not None:
            queryset = queryset.filter(is_active=active)
        if (category := int_param(params, "category")) is not None:
            queryset = queryset.filter(category_id=category)
        if (book := int_param(params, "price_book")) is not None:
            queryset = queryset.filter(
                pk__in=PriceBookEntry.objects.filter(price_book_id=book, is_active=True).values(
                    "product_id"
                )
            )
        if term := params.get("q", "").strip():
            queryset = queryset.filter(Q(code__icontains=term) | Q(name__icontains=term))
        return queryset

    def _body(self, pk: int) -> dict[str, Any]:
        return dict(ProductSerializer(_products().get(pk=pk)).data)

    def _save(self, data: dict[str, Any], product: Product | None = None) -> Product:
        if "category" in data:
            data["category"] = _category(data["category"])
        return services.product_save(actor=self.actor, data=data, channel=API, product=product)

    @extend_schema(
        summary="Add a product (admins)",
        request=ProductInputSerializer,
        responses={201: ProductSerializer, 400: ERROR, 403: ADMINS_ONLY},
        tags=["products"],
    )
    def create(self, request: Request) -> Response:
        body = ProductInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        product = self._save(dict(body.validated_data))
        return Response(self._body(product.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a product (admins)",
        request=ProductInputSerializer,
        responses={200: ProductSerializer, 400: ERROR, 403: ADMINS_ONLY, 404: NOT_FOUND},
        tags=["products"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        product = self.get_object()
        body = ProductInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        self._save(dict(body.validated_data), product)
        return Response(self._body(product.pk))

    @extend_schema(
        summary="Retire a product (admins)",
        description="No longer offered for new lines; opportunities and quotes that have it "
        "keep it. Products are never deleted.",
        request=None,
        responses={200: ProductSerializer, 403: ADMINS_ONLY, 404: NOT_FOUND},
        tags=["products"],
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        product = self._save({"is_active": False}, self.get_object())
        return Response(self._body(product.pk))

    @extend_schema(
        summary="Offer a retired product again (admins)",
        request=None,
        responses={200: ProductSerializer, 403: ADMINS_ONLY, 404: NOT_FOUND},
        tags=["products"],
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str) -> Response:
        product = self._save({"is_active": True}, self.get_object())
        return Response(self._body(product.pk))


@extend_schema_view(
    list=extend_schema(summary="Product categories", tags=["products"]),
    retrieve=extend_schema(
        summary="One product category",
        responses={200: ProductCategorySerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["products"],
    ),
)
class ProductCategoryViewSet(CatalogueViewSet):
    serializer_class = ProductCategorySerializer

    def get_queryset(self) -> QuerySet[ProductCategory]:
        return ProductCategory.objects.select_related("parent__parent")

    def _body(self, pk: int) -> dict[str, Any]:
        return dict(ProductCategorySerializer(ProductCategory.objects.get(pk=pk)).data)

    def _save(self, data: dict[str, Any], category: ProductCategory | None = None) -> Any:
        if "parent" in data:
            data["parent"] = _category(data["parent"], "parent")
        return services.category_save(actor=self.actor, data=data, channel=API, category=category)

    @extend_schema(
        summary="Add a product category (admins)",
        request=ProductCategoryInputSerializer,
        responses={201: ProductCategorySerializer, 400: ERROR, 403: ADMINS_ONLY},
        tags=["products"],
    )
    def create(self, request: Request) -> Response:
        body = ProductCategoryInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = self._save(dict(body.validated_data))
        return Response(self._body(category.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a product category or move it under another (admins)",
        request=ProductCategoryInputSerializer,
        responses={200: ProductCategorySerializer, 400: ERROR, 403: ADMINS_ONLY, 404: NOT_FOUND},
        tags=["products"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        category = self.get_object()
        body = ProductCategoryInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        self._save(dict(body.validated_data), category)
        return Response(self._body(category.pk))


def _entries(book: PriceBook) -> QuerySet[PriceBookEntry]:
    return book.entries.select_related("product")


@extend_schema_view(
    list=extend_schema(summary="Price books, the standard one first", tags=["price books"]),
    retrieve=extend_schema(
        summary="One price book",
        responses={200: PriceBookSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["price books"],
    ),
)
class PriceBookViewSet(CatalogueViewSet):
    """Price books: unit prices of products in one currency."""

    serializer_class = PriceBookSerializer

    def get_queryset(self) -> QuerySet[PriceBook]:
        return PriceBook.objects.annotate(products=Count("entries"))

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        active = flag(self.request.query_params, "active")
        if active is not None:
            queryset = queryset.filter(is_active=active)
        if currency := self.request.query_params.get("currency", "").strip().upper():
            queryset = queryset.filter(currency=currency)
        return queryset

    def _body(self, pk: int) -> dict[str, Any]:
        return dict(PriceBookSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(
        summary="Add a price book (admins)",
        request=PriceBookInputSerializer,
        responses={201: PriceBookSerializer, 400: ERROR, 403: ADMINS_ONLY},
        tags=["price books"],
    )
    def create(self, request: Request) -> Response:
        body = PriceBookInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        book = services.price_book_save(
            actor=self.actor, data=dict(body.validated_data), channel=API
        )
        return Response(self._body(book.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a price book (admins)",
        description="`is_standard: true` takes the mark from the current standard book; the "
        "standard book stays active; the currency is fixed once opportunities are priced "
        "from the book.",
        request=PriceBookInputSerializer,
        responses={200: PriceBookSerializer, 400: ERROR, 403: ADMINS_ONLY, 404: NOT_FOUND},
        tags=["price books"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        book = self.get_object()
        body = PriceBookInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.price_book_save(
            actor=self.actor, data=dict(body.validated_data), channel=API, book=book
        )
        return Response(self._body(book.pk))

    @extend_schema(
        summary="The book's prices, newest first",
        parameters=[OpenApiParameter("product", int, description="Only this product's price.")],
        responses={200: PriceBookEntrySerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["price books"],
    )
    @action(detail=True, methods=["get"])
    def prices(self, request: Request, pk: str) -> Response:
        entries = _entries(self.get_object())
        if (product := int_param(request.query_params, "product")) is not None:
            entries = entries.filter(product_id=product)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(PriceBookEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Set a product's price in the book (admins)",
        description="Adds the product to the book, or changes its price there (201 when added, "
        "200 when changed). Opportunities and quotes keep the prices they took.",
        request=PriceInputSerializer,
        responses={
            200: PriceBookEntrySerializer,
            201: PriceBookEntrySerializer,
            400: ERROR,
            403: ADMINS_ONLY,
            404: NOT_FOUND,
        },
        tags=["price books"],
    )
    @prices.mapping.post
    def price_set(self, request: Request, pk: str) -> Response:
        book = self.get_object()
        body = PriceInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        product = _pick(
            Product, body.validated_data["product"], "product", _("There is no such product.")
        )
        existed = book.entries.filter(product=product).exists()
        entry = services.price_set(
            actor=self.actor,
            book=book,
            product=product,
            unit_price=body.validated_data["unit_price"],
            is_active=body.validated_data["is_active"],
            channel=API,
        )
        return Response(
            PriceBookEntrySerializer(_entries(book).get(pk=entry.pk)).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    def _entry(self, entry_id: str) -> PriceBookEntry:
        return get_object_or_404(_entries(self.get_object()), pk=entry_id)

    @extend_schema(
        summary="Change a price or switch it off (admins)",
        request=PriceChangeSerializer,
        responses={200: PriceBookEntrySerializer, 400: ERROR, 403: ADMINS_ONLY, 404: NOT_FOUND},
        parameters=[OpenApiParameter("entry_id", int, OpenApiParameter.PATH)],
        tags=["price books"],
    )
    @action(detail=True, methods=["patch"], url_path=r"prices/(?P<entry_id>\d+)")
    def price_change(self, request: Request, pk: str, entry_id: str) -> Response:
        entry = self._entry(entry_id)
        body = PriceChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.price_set(
            actor=self.actor,
            book=entry.price_book,
            product=entry.product,
            unit_price=body.validated_data.get("unit_price", entry.unit_price),
            is_active=body.validated_data.get("is_active", entry.is_active),
            channel=API,
        )
        return Response(PriceBookEntrySerializer(_entries(entry.price_book).get(pk=entry.pk)).data)

    @extend_schema(
        summary="Take a product out of the book (admins)",
        request=None,
        responses={204: None, 403: ADMINS_ONLY, 404: NOT_FOUND},
        parameters=[OpenApiParameter("entry_id", int, OpenApiParameter.PATH)],
        tags=["price books"],
    )
    @price_change.mapping.delete
    def price_remove(self, request: Request, pk: str, entry_id: str) -> Response:
        services.price_remove(actor=self.actor, entry=self._entry(entry_id), channel=API)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Opportunity line items ------------------------------------------------------------------


def _line_items(opp: Opportunity) -> list[OpportunityLineItem]:
    return list(opp.line_items.select_related("product", "price_book"))


def _product(pk: Any) -> Product | None:
    return cast(Product | None, _pick(Product, pk, "product", _("There is no such product.")))


def _price_book(pk: Any) -> PriceBook | None:
    return cast(
        PriceBook | None, _pick(PriceBook, pk, "price_book", _("There is no such price book."))
    )


def _line_item_data(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "product" in data:
        data["product"] = _product(data["product"])
    if "price_book" in data:
        data["price_book"] = _price_book(data["price_book"])
    return data


class OpportunityProductsView(APIView):
    """An opportunity's products (line items): read by whoever may read the opportunity,
    changed by whoever may edit it. The opportunity's amount follows their total."""

    @extend_schema(
        operation_id="v1_opportunities_products_list",
        summary="The opportunity's products and their total",
        responses={200: LineItemsSerializer, 404: NOT_FOUND},
        tags=["opportunities"],
    )
    def get(self, request: Request, pk: int) -> Response:
        opp = selectors.access_opportunity(_actor(request), pk)
        items = _line_items(opp)
        book = selectors.default_book(opp, items) if items else None
        return Response(
            LineItemsSerializer(
                {
                    "opportunity": opp.pk,
                    "currency": opp.currency,
                    "price_book": book.pk if book else None,
                    "total": sum((i.net for i in items), Decimal("0.00")),
                    "items": items,
                }
            ).data
        )

    @extend_schema(
        operation_id="v1_opportunities_products_create",
        summary="Add a product at its price-book price",
        description="All products of an opportunity come from one active price book in the "
        "opportunity's currency; the opportunity's amount becomes the total of its products.",
        request=LineItemInputSerializer,
        responses={201: LineItemSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["opportunities"],
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = _actor(request)
        opp = selectors.access_opportunity(actor, pk)
        body = LineItemInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = _line_item_data(body.validated_data)
        if "price_book" not in data:
            data["price_book"] = selectors.default_book(opp)
        item = services.line_item_save(opp, actor=actor, data=data, channel=API)
        return Response(LineItemSerializer(item).data, status=status.HTTP_201_CREATED)


class OpportunityProductView(APIView):
    def _item(self, request: Request, pk: int, item_id: int) -> OpportunityLineItem:
        opp = selectors.access_opportunity(_actor(request), pk)
        return get_object_or_404(
            OpportunityLineItem.objects.select_related("opportunity", "product", "price_book"),
            pk=item_id,
            opportunity=opp,
        )

    @extend_schema(
        summary="Change a product's quantity, discount, description (or product)",
        description="Left-out fields are unchanged. A new product or book takes the book's "
        "price; otherwise the item keeps the price it has.",
        request=LineItemInputSerializer(partial=True),
        responses={200: LineItemSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["opportunities"],
    )
    def patch(self, request: Request, pk: int, item_id: int) -> Response:
        item = self._item(request, pk, item_id)
        body = LineItemInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        item = services.line_item_save(
            item.opportunity,
            actor=_actor(request),
            data=_line_item_data(body.validated_data),
            channel=API,
            item=item,
        )
        return Response(LineItemSerializer(item).data)

    @extend_schema(
        summary="Remove a product from the opportunity",
        request=None,
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["opportunities"],
    )
    def delete(self, request: Request, pk: int, item_id: int) -> Response:
        services.line_item_delete(
            self._item(request, pk, item_id), actor=_actor(request), channel=API
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Quotes ----------------------------------------------------------------------------------


class PDFRenderer(BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the PDF itself is sent as is."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()  # an error answered to a client asking for PDF


class ApprovalPagination(Pagination):
    # Oldest request first, like the approvals page.
    ordering = ("submitted_at", "id")  # type: ignore[assignment]


QUOTE_FILTERS = [
    OpenApiParameter("account", int, description="Quotes on this account."),
    OpenApiParameter("opportunity", int, description="Quotes on this opportunity."),
    OpenApiParameter("owner", int, description="Quotes owned by this user id."),
    OpenApiParameter("status", str, enum=QuoteStatus.values),
    OpenApiParameter("q", str, description="Part of the number, title or account name."),
]
NUMBER = OpenApiParameter("number", int, OpenApiParameter.PATH, description="Version number.")
LINE_ID = OpenApiParameter("line_id", int, OpenApiParameter.PATH)


def _lines_error(errors: list[dict[str, Any]]) -> ValidationError:
    return ValidationError({"lines": errors})


def _messages(exc: DjangoValidationError) -> dict[str, Any]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


def _quote_line_data(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "product" in data:
        data["product"] = _product(data["product"])
    return data


@extend_schema_view(
    list=extend_schema(
        summary="Quotes the caller may read, newest first",
        parameters=QUOTE_FILTERS,
        tags=["quotes"],
    ),
    retrieve=extend_schema(
        summary="One quote with its lines, totals and sent versions",
        responses={200: QuoteDetailSerializer, 404: NOT_FOUND},
        tags=["quotes"],
    ),
)
class QuoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quotes under record security: one the caller may not read answers 404 like a missing
    one; changing needs the role's edit right on it (403 saying so)."""

    pagination_class = Pagination

    @property
    def actor(self) -> User:
        return _actor(self.request)

    def get_serializer_class(self) -> Any:
        return QuoteDetailSerializer if self.action == "retrieve" else QuoteSerializer

    def get_queryset(self) -> QuerySet[Quote]:
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation has no caller
            return Quote.objects.none()
        return selectors.quote_list(self.actor)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        params = self.request.query_params
        for name in ("account", "opportunity", "owner"):
            if (value := int_param(params, name)) is not None:
                queryset = queryset.filter(**{f"{name}_id": value})
        if wanted := params.get("status", ""):
            if wanted not in QuoteStatus.values:
                raise ValidationError(
                    {"status": [_("One of: %(s)s.") % {"s": ", ".join(QuoteStatus.values)}]}
                )
            queryset = queryset.filter(status=wanted)
        if term := params.get("q", "").strip():
            queryset = queryset.filter(
                Q(number__icontains=term)
                | Q(title__icontains=term)
                | Q(account__name__icontains=term)
            )
        return queryset

    def get_object(self) -> Quote:
        return selectors.access_quote(self.actor, self.kwargs["pk"])

    def _detail(
        self, pk: int, code: int = status.HTTP_200_OK, quote: Quote | None = None
    ) -> Response:
        """The quote as QuoteDetailSerializer gives it, its lines and versions read once;
        `quote`: the caller's already checked copy (else it is read again, after a write)."""
        if quote is None:
            quote = get_object_or_404(selectors.quote_list(self.actor), pk=pk)
        prefetch_related_objects(
            [quote],
            Prefetch("lines", queryset=QuoteLine.objects.select_related("product")),
            Prefetch("versions", queryset=QuoteVersion.objects.select_related("sent_by")),
        )
        return Response(QuoteDetailSerializer(quote, context={"request": self.request}).data, code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quote = self.get_object()
        return self._detail(quote.pk, quote=quote)

    # --- create and edit -------------------------------------------------------------------

    def _header(self, validated: dict[str, Any]) -> dict[str, Any]:
        """The header fields as the services take them (the service checks the contact and
        the price book)."""
        data = {k: v for k, v in validated.items() if k not in ("opportunity", "lines")}
        if "price_book" in data:
            data["price_book"] = _price_book(data["price_book"])
        return data

    @extend_schema(
        summary="Make a quote from an opportunity",
        description="A draft numbered Q-<year>-<n>, owned by the opportunity's owner when the "
        "caller may give it to them (else by the caller), with the workspace's default tax rate "
        "and validity unless given, the opportunity's products as its first lines and then "
        "`lines`. An opportunity with products is quoted from their price book.",
        request=QuoteCreateSerializer,
        responses={201: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["quotes"],
    )
    def create(self, request: Request) -> Response:
        body = QuoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        opp = (
            visible(self.actor, Opportunity.objects.all(), "opportunity")
            .filter(pk=body.validated_data["opportunity"])
            .first()
        )
        if opp is None:
            raise ValidationError({"opportunity": [_("Choose an opportunity that you can see.")]})
        data = self._header(body.validated_data)
        lines = body.validated_data.get("lines", [])
        with transaction.atomic():
            quote = services.quote_create(opp, actor=self.actor, data=data, channel=API)
            errors: list[dict[str, Any]] = []
            for validated in lines:
                try:
                    line_data = _quote_line_data(validated)
                    services.quote_line_save(quote, actor=self.actor, data=line_data, channel=API)
                except ValidationError as exc:
                    errors.append(cast(dict[str, Any], exc.detail))
                except DjangoValidationError as exc:
                    errors.append(_messages(exc))
                else:
                    errors.append({})
            if any(errors):
                raise _lines_error(errors)  # leaving the block undoes the quote and its lines
        return self._detail(quote.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change the header: title, contact, price book, tax rate, validity, terms",
        description="A sent or expired quote becomes a draft again for the next version; the "
        "sent versions stay as they were. A quote the customer answered no longer changes.",
        request=QuoteHeaderSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        body = QuoteHeaderSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = self._header(body.validated_data)
        services.quote_update(quote, actor=self.actor, data=data, channel=API)
        return self._detail(quote.pk)

    @extend_schema(
        summary="The quote's lines",
        responses={200: QuoteLineSerializer(many=True), 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def lines(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        return Response(QuoteLineSerializer(quote.lines.select_related("product"), many=True).data)

    @extend_schema(
        summary="Add a line",
        description="A product line takes its list price from the quote's price book; a line "
        "without a product needs a description and a list price, and makes the quote need a "
        "manager's approval before it is sent. Totals follow; a quote in review, approved, sent "
        "or expired becomes a draft again.",
        request=QuoteLineInputSerializer,
        responses={201: QuoteLineSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @lines.mapping.post
    def line_add(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        body = QuoteLineInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        line = services.quote_line_save(
            quote,
            actor=self.actor,
            data=_quote_line_data(body.validated_data),
            channel=API,
        )
        return Response(QuoteLineSerializer(line).data, status=status.HTTP_201_CREATED)

    def _line(self, quote: Quote, line_id: str) -> QuoteLine:
        return get_object_or_404(
            QuoteLine.objects.select_related("product"), pk=line_id, quote=quote
        )

    @extend_schema(
        summary="Change a line: product, description, quantity, discount (list price of lines "
        "without a product)",
        description="Left-out fields are unchanged.",
        request=QuoteLineInputSerializer(partial=True),
        responses={200: QuoteLineSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        parameters=[LINE_ID],
        tags=["quotes"],
    )
    @action(detail=True, methods=["patch"], url_path=r"lines/(?P<line_id>\d+)")
    def line_change(self, request: Request, pk: str, line_id: str) -> Response:
        quote = self.get_object()
        line = self._line(quote, line_id)
        body = QuoteLineInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        line = services.quote_line_save(
            quote,
            actor=self.actor,
            data=_quote_line_data(body.validated_data),
            channel=API,
            line=line,
        )
        return Response(QuoteLineSerializer(line).data)

    @extend_schema(
        summary="Remove a line",
        request=None,
        responses={204: None, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        parameters=[LINE_ID],
        tags=["quotes"],
    )
    @line_change.mapping.delete
    def line_remove(self, request: Request, pk: str, line_id: str) -> Response:
        quote = self.get_object()
        services.quote_line_delete(self._line(quote, line_id), actor=self.actor, channel=API)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- the quote's life ------------------------------------------------------------------

    def _comment(self, request: Request) -> str:
        body = QuoteCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return str(body.validated_data["comment"])

    @extend_schema(
        summary="Submit for approval",
        description="For a draft with a discount above the workspace's limit or a line without "
        "a product (priced by hand): it goes into review and every manager who may decide is "
        "notified. 400 under `status` when neither applies or the prices are already approved "
        "(send it instead).",
        request=QuoteCommentSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_submit(quote, actor=self.actor, channel=API, comment=self._comment(request))
        return self._detail(quote.pk)

    @extend_schema(
        summary="Approve the discounts and hand-set prices (managers)",
        description="By a workspace admin or a manager over the owner, never the owner: "
        "others get 403. The approval holds while the prices stay as approved.",
        request=QuoteCommentSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_approve(quote, actor=self.actor, channel=API, comment=self._comment(request))
        return self._detail(quote.pk)

    @extend_schema(
        summary="Refuse the discounts and hand-set prices (managers)",
        description="The quote goes back to its owner as a draft; `comment` (why) is required.",
        request=QuoteCommentSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_decline(quote, actor=self.actor, channel=API, comment=self._comment(request))
        return self._detail(quote.pk)

    @extend_schema(
        summary="Send: freeze the next numbered version",
        description="Refused (400 under `status`, saying why) without lines, past the validity "
        "date, or with a discount above the limit or a line without a product that no manager "
        "approved. The version holds "
        "the whole quote as it is now; later edits make a draft for the next version.",
        request=None,
        responses={201: QuoteVersionSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str) -> Response:
        version = services.quote_send(self.get_object(), actor=self.actor, channel=API)
        return Response(QuoteVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record the customer's acceptance of the last sent version",
        request=QuoteCommentSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_accept(quote, actor=self.actor, channel=API, note=self._comment(request))
        return self._detail(quote.pk)

    @extend_schema(
        summary="Record the customer's rejection",
        request=QuoteCommentSerializer,
        responses={200: QuoteDetailSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        quote = self.get_object()
        services.quote_reject(quote, actor=self.actor, channel=API, note=self._comment(request))
        return self._detail(quote.pk)

    @extend_schema(
        summary="The quote's history, newest first",
        responses={200: QuoteEventSerializer(many=True), 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk: str) -> Response:
        events = self.get_object().events.select_related("actor")[:500]
        return Response(QuoteEventSerializer(events, many=True).data)

    @extend_schema(
        summary="Quotes waiting for the caller's approval, oldest request first",
        description="For workspace admins and managers (403 for others); never their own.",
        responses={200: QuoteSerializer(many=True), 403: FORBIDDEN},
        tags=["quotes"],
    )
    @action(detail=False, methods=["get"])
    def approvals(self, request: Request) -> Response:
        if not selectors.is_approver(self.actor):
            raise PermissionDenied(
                _("Only managers and workspace admins decide on quote discounts.")
            )
        paginator = ApprovalPagination()
        page = paginator.paginate_queryset(selectors.approval_inbox(self.actor), request, self)
        return paginator.get_paginated_response(QuoteSerializer(page, many=True).data)

    # --- versions ------------------------------------------------------------------------

    @extend_schema(
        summary="The sent versions, oldest first",
        responses={200: QuoteVersionSerializer(many=True), 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request: Request, pk: str) -> Response:
        versions = self.get_object().versions.select_related("sent_by").order_by("number")
        return Response(QuoteVersionSerializer(versions, many=True).data)

    def _version(self, number: str) -> QuoteVersion:
        quote = self.get_object()
        return get_object_or_404(
            QuoteVersion.objects.select_related("sent_by"), quote=quote, number=number
        )

    @extend_schema(
        summary="One sent version, with everything it froze",
        parameters=[NUMBER],
        responses={200: QuoteVersionDetailSerializer, 404: NOT_FOUND},
        tags=["quotes"],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request: Request, pk: str, number: str) -> Response:
        return Response(QuoteVersionDetailSerializer(self._version(number)).data)

    @extend_schema(
        summary="A sent version as PDF",
        parameters=[NUMBER],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            404: NOT_FOUND,
        },
        tags=["quotes"],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<number>\d+)/pdf",
        renderer_classes=[JSONRenderer, PDFRenderer],
    )
    def version_pdf(self, request: Request, pk: str, number: str) -> HttpResponse:
        version = self._version(number)
        response = HttpResponse(version_pdf(version), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{version.snapshot['number']}-v{version.number}.pdf"
        )
        return response
