from __future__ import annotations

from typing import Any, ClassVar, cast

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from core_crm.access.models import Action
from core_crm.access.policy import access_or_404, require_create
from core_crm.customers import selectors, services
from core_crm.customers.conversion import (
    Conversion,
    conversion_decide,
    conversion_request,
    lead_convert,
)
from core_crm.customers.duplicates import find_duplicates
from core_crm.customers.models import Account, Contact, ConversionRequest, Lead, PicklistValue
from core_crm.customfields import filters as custom_filters
from core_crm.users.models import User

from .serializers import (
    AccountSerializer,
    ContactSerializer,
    DuplicateCheckSerializer,
    LeadSerializer,
    PicklistValueSerializer,
)

BULK_LIMIT = 500
LIST_DESCRIPTION = (
    "Records the caller may read, newest first (cursor pagination). Besides the filters "
    "listed, custom fields filter by key: `cf_<key>=value` (text, URL, email: contains, "
    "case-insensitive; whole number, decimal, date: equals; yes/no: true or false; choice: "
    "the code; multiple choice: has the code) and, for whole numbers, decimals and dates, "
    "`cf_<key>__gte=value` and `cf_<key>__lte=value`. An unknown key or a value of the wrong "
    "type answers 400 naming the parameter."
)


class Pagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


class RecordViewSet(viewsets.ModelViewSet):
    """List, retrieve, create, update and delete through the customer services and selectors.

    Reads go through record security; a record outside the caller's scope answers 404 exactly
    like a missing one. Owner, audit and id fields are read-only.
    """

    model: ClassVar[Any]  # Account, Contact or Lead
    object_type: ClassVar[str]
    list_selector: ClassVar[Any]
    search_fields_q: ClassVar[tuple[str, ...]] = ()
    pagination_class = Pagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["id", "created_at", "updated_at"]

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)  # IsAuthenticated has let only users through

    def get_queryset(self) -> QuerySet[Any]:
        queryset = type(self).list_selector(self.actor).prefetch_related("tags")
        term = self.request.query_params.get("search", "").strip()
        if term and self.search_fields_q:
            condition = Q()
            for field in self.search_fields_q:
                condition |= Q(**{f"{field}__icontains": term})
            queryset = queryset.filter(condition)
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            # cf_<key>, cf_<key>__gte, cf_<key>__lte; a bad one answers 400 naming it.
            queryset = custom_filters.filter_queryset(
                queryset, self.object_type, self.request.query_params
            )
        return queryset

    @extend_schema(description=LIST_DESCRIPTION)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Any:
        # Visible at all? Otherwise 404, whatever the action. Editing and deleting are then
        # checked by the services, which answer 403 with what the role lacks.
        return access_or_404(
            self.actor,
            self.get_queryset(),
            self.kwargs["pk"],
            self.object_type,
            Action.READ,
        )

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.record_create(
            self.model,
            actor=self.actor,
            data=dict(serializer.validated_data),
            channel="api",
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        instance: Any = serializer.instance
        serializer.instance = services.record_update(
            instance,
            actor=self.actor,
            data=dict(serializer.validated_data),
            channel="api",
        )

    def perform_destroy(self, instance: Any) -> None:
        services.record_delete(instance, actor=self.actor, channel="api")

    @extend_schema(
        summary="Check for likely duplicates before creating or changing a record",
        description=(
            "Send the same body as for a create (or, with `?exclude=<id>`, the fields of an "
            "update of that record). Answers the existing records that look like it: same "
            "email, same phone (last ten digits), or a similar name in the same city (accounts, "
            "leads) or at the same account (contacts). Matches the caller may read come with "
            "the record; the others are only counted in `hidden`. Nothing is saved, and plain "
            "creates are never blocked by duplicates."
        ),
        parameters=[
            OpenApiParameter(
                "exclude",
                int,
                required=False,
                description="The id of the record being changed, which is not its own duplicate.",
            )
        ],
        responses=DuplicateCheckSerializer,
    )
    @action(detail=False, methods=["post"])
    def duplicates(self, request: Request) -> Response:
        exclude = request.query_params.get("exclude")
        if exclude:
            # Checking a change: the caller must be able to edit that record (404 otherwise).
            access_or_404(self.actor, self.get_queryset(), exclude, self.object_type, Action.EDIT)
        else:
            require_create(self.actor, self.object_type)
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        matches = find_duplicates(
            self.model, dict(body.validated_data), user=self.actor, exclude_pk=exclude or None
        )
        readable = [m for m in matches if m.record is not None]
        records = self.get_serializer([m.record for m in readable], many=True).data
        return Response(
            {
                "matches": [
                    {"id": m.pk, "reasons": m.reasons, "record": record}
                    for m, record in zip(readable, records, strict=True)
                ],
                "hidden": len(matches) - len(readable),
            }
        )

    @extend_schema(request=None, responses=None)
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Create up to 500 records at once: all of them, or none and an error per row."""
        if not isinstance(request.data, list) or not request.data:
            raise ValidationError({"detail": ["Send a JSON array of records."]})
        if len(request.data) > BULK_LIMIT:
            raise ValidationError({"detail": [f"At most {BULK_LIMIT} records per request."]})
        serializer = self.get_serializer(data=request.data, many=True)
        if not serializer.is_valid():
            errors = serializer.errors  # a list, or {row index: errors} in recent DRF
            pairs = errors.items() if isinstance(errors, dict) else enumerate(errors)
            rows = {i: e for i, e in pairs if e}
            return Response({"rows": rows}, status=status.HTTP_400_BAD_REQUEST)
        created = []
        with transaction.atomic():
            for i, row in enumerate(serializer.validated_data):
                try:
                    created.append(
                        services.record_create(
                            self.model, actor=self.actor, data=dict(row), channel="api"
                        )
                    )
                except DjangoValidationError as exc:
                    transaction.set_rollback(True)
                    return Response(
                        {"rows": {i: exc.message_dict}}, status=status.HTTP_400_BAD_REQUEST
                    )
        out = self.get_serializer(created, many=True)
        return Response(out.data, status=status.HTTP_201_CREATED)


class AccountFilter(django_filters.FilterSet):
    industry = django_filters.CharFilter(field_name="industry__code")
    source = django_filters.CharFilter(field_name="source__code")
    status = django_filters.CharFilter(field_name="status__code")
    tag = django_filters.CharFilter(field_name="tags__name")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Account
        fields = ["kind", "value_class", "city", "country", "owner", "parent", "is_person"]


class ContactFilter(django_filters.FilterSet):
    role = django_filters.CharFilter(field_name="role__code")
    tag = django_filters.CharFilter(field_name="tags__name")

    class Meta:
        model = Contact
        fields = ["account", "owner", "do_not_email", "do_not_call", "do_not_sms"]


class LeadFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code")
    tag = django_filters.CharFilter(field_name="tags__name")

    class Meta:
        model = Lead
        fields = ["status", "rating", "owner", "city"]


class TimelineItemSerializer(serializers.Serializer[Any]):
    when = serializers.DateTimeField()
    # The stubs take a field named like a Field attribute for an override (DRF removes
    # declared fields from the class): typeddjango/djangorestframework-stubs#158.
    source = serializers.CharField(help_text="Key of the source (see `sources`).")  # type: ignore[assignment]
    title = serializers.CharField()
    detail = serializers.CharField()
    url = serializers.CharField(help_text="The record's page, when it has one.")
    actor = serializers.CharField()


class TimelineSourceSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # see TimelineItemSerializer


class TimelineSerializer(serializers.Serializer[Any]):
    source = serializers.CharField(help_text="The source applied; empty for all.")  # type: ignore[assignment]
    sources = TimelineSourceSerializer(many=True)
    items = TimelineItemSerializer(many=True)


class AccountViewSet(RecordViewSet):
    model = Account
    object_type = "account"
    list_selector = staticmethod(selectors.account_list)
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields_q = ("name", "email", "phone", "city")
    ordering_fields = [*RecordViewSet.ordering_fields, "name"]

    @extend_schema(
        summary="The account's 360° timeline",
        description="Activities, stage changes, quotes sent and answered, and record changes "
        "about the account from every app and enabled industry module, newest first (at most "
        "200), all within what the caller may read. `source` keeps one kind.",
        parameters=[OpenApiParameter("source", str, required=False)],
        responses=TimelineSerializer,
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        from core_crm.customers.account360 import merged_timeline

        account = self.get_object()
        wanted = request.query_params.get("source", "")
        items, sources, applied = merged_timeline(account, self.actor, wanted)
        if wanted and applied != wanted:
            keys = ", ".join(key for key, _label in sources)
            raise ValidationError({"source": [f"One of: {keys}."]})
        return Response(
            {
                "source": applied,
                "sources": [{"key": key, "label": label} for key, label in sources],
                "items": [
                    {
                        "when": item.when,
                        "source": item.source,
                        "title": item.title,
                        "detail": item.detail,
                        "url": item.url,
                        "actor": item.actor,
                    }
                    for item in items
                ],
            }
        )


class ContactViewSet(RecordViewSet):
    model = Contact
    object_type = "contact"
    list_selector = staticmethod(selectors.contact_list)
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields_q = ("first_name", "last_name", "email", "phone", "mobile")
    ordering_fields = [*RecordViewSet.ordering_fields, "last_name"]


class ConvertSerializer(serializers.Serializer):
    account = serializers.IntegerField(
        required=False, allow_null=True, help_text="An existing account to link (else created)."
    )
    contact = serializers.IntegerField(
        required=False, allow_null=True, help_text="An existing contact to link (else created)."
    )
    account_custom_fields = serializers.DictField(
        required=False,
        help_text="Custom values of a new account, by field key, besides those carried over "
        "from the lead's custom fields of the same key (e.g. required ones the lead lacks).",
    )
    contact_custom_fields = serializers.DictField(
        required=False, help_text="Custom values of a new contact, by field key."
    )


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionSerializer(CommentSerializer):
    approve = serializers.BooleanField()


class ConversionRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConversionRequest
        fields = (
            "id",
            "lead",
            "requested_by",
            "requested_at",
            "request_comment",
            "decision",
            "decided_by",
            "decided_at",
            "decision_comment",
        )
        read_only_fields = fields


def _conversion_body(result: Conversion | None) -> dict[str, Any]:
    if result is None:
        return {"converted": False}
    return {
        "converted": True,
        "lead": result.lead.pk,
        "account": result.account.pk,
        "contact": result.contact.pk,
    }


class LeadConversionMixin:
    """Convert a lead, or request and decide conversions where approval is required."""

    @extend_schema(request=ConvertSerializer, responses=None)
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str) -> Response:
        view: Any = self
        lead = view.get_object()
        body = ConvertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = contact = None
        if body.validated_data.get("account"):
            account = selectors.access_account(view.actor, body.validated_data["account"])
        if body.validated_data.get("contact"):
            contact = selectors.access_contact(view.actor, body.validated_data["contact"])
        result = lead_convert(
            lead,
            actor=view.actor,
            channel="api",
            account=account,
            contact=contact,
            account_values=body.validated_data.get("account_custom_fields"),
            contact_values=body.validated_data.get("contact_custom_fields"),
        )
        return Response(_conversion_body(result), status=status.HTTP_201_CREATED)

    @extend_schema(request=CommentSerializer, responses=ConversionRequestSerializer)
    @action(detail=True, methods=["post"], url_path="conversion-request")
    def conversion_request(self, request: Request, pk: str) -> Response:
        view: Any = self
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = conversion_request(
            view.get_object(), actor=view.actor, comment=body.validated_data["comment"]
        )
        return Response(ConversionRequestSerializer(created).data, status=status.HTTP_201_CREATED)


class ConversionRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Conversion requests on leads the caller can see; managers decide them."""

    serializer_class = ConversionRequestSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Any]:
        user = cast(User, self.request.user)
        return ConversionRequest.objects.filter(lead__in=selectors.lead_list(user))

    @extend_schema(request=DecisionSerializer, responses=None)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = conversion_decide(
            self.get_object(),
            actor=cast(User, request.user),
            approve=body.validated_data["approve"],
            comment=body.validated_data["comment"],
            channel="api",
        )
        return Response(_conversion_body(result))


class LeadViewSet(LeadConversionMixin, RecordViewSet):
    model = Lead
    object_type = "lead"
    list_selector = staticmethod(selectors.lead_list)
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    search_fields_q = ("first_name", "last_name", "company", "email", "phone")
    ordering_fields = [*RecordViewSet.ordering_fields, "last_name", "score"]


class SearchView(APIView):
    """Accounts, contacts and leads matching `q` (partial words, Chinese, phone digits), and
    opportunities (name), quotes (number, title) and activities (subject) containing it, up
    to `limit` (default 10, at most 50) of each type the caller may read."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("limit", int, required=False),
        ],
        responses=None,
    )
    def get(self, request: Request) -> Response:
        from core_crm.customers.search import global_search

        try:
            limit = max(1, min(50, int(request.query_params.get("limit", 10))))
        except ValueError:
            raise ValidationError({"limit": ["A whole number from 1 to 50."]}) from None
        term = request.query_params.get("q", "")
        from core_crm.activities.api.serializers import ActivitySerializer
        from core_crm.quotes.api_serializers import QuoteSerializer
        from core_crm.sales.api import OpportunitySerializer

        serializers_by_type: dict[str, Any] = {
            "account": AccountSerializer,
            "contact": ContactSerializer,
            "lead": LeadSerializer,
            "opportunity": OpportunitySerializer,
            "quote": QuoteSerializer,
            "activity": ActivitySerializer,
        }
        groups = global_search(cast(User, request.user), term, per_type=limit)
        return Response(
            {
                group.object_type: serializers_by_type[group.object_type](
                    group.results, many=True, context={"request": request}
                ).data
                for group in groups
            }
        )


class PicklistValueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every picklist value of the workspace (filter with ?picklist=industry)."""

    serializer_class = PicklistValueSerializer
    pagination_class = None
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_fields = ["picklist", "is_active"]
    queryset = PicklistValue.objects.all()
