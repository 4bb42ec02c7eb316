"""REST API of the sales settings: pipelines with their stages, stages, currencies and the
workspace's sales defaults.

Every signed-in user reads them (they fill the choices of opportunity forms); only workspace
admins change them: anyone else gets 403 with a message. Writes go through the same services
as Settings → Pipelines and Settings → Sales, so the rules and the audit trail are the same.
An id of another workspace answers 404 like a missing one.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.audit.models import Channel
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from . import currency_services, pipeline_services, services
from .models import Currency, Pipeline, Stage

API = Channel.API
ERROR = OpenApiResponse(description='`{"<field>": [...]}` naming each field, or `{"detail": ...}`.')
FORBIDDEN = OpenApiResponse(description='Not a workspace admin: `{"detail": ...}`.')
NOT_FOUND = OpenApiResponse(description="No such id in this workspace.")


class AdminWrites(permissions.BasePermission):
    """Reads for every signed-in user; writes for workspace admins (403 with a message)."""

    message = ""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if user.is_active and getattr(user, "is_workspace_admin", False):
            return True
        self.message = _("Only a workspace admin can change pipelines, stages and currencies.")
        return False


class SettingsViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, AdminWrites]
    pagination_class = None

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)


# --- Serializers ------------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = (
            "id",
            "pipeline",
            "key",
            "name",
            "name_zh",
            "position",
            "probability",
            "outcome",
            "is_active",
        )
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(
        many=True, read_only=True, help_text="Every stage in order, retired ones included."
    )

    class Meta:
        model = Pipeline
        fields = ("id", "key", "name", "name_zh", "position", "is_active", "stages")
        read_only_fields = fields


class PipelineCreateSerializer(serializers.Serializer):
    # Not required here: the services name what is missing in the same words for every caller.
    name = serializers.CharField(required=False, allow_blank=True, default="")
    name_zh = serializers.CharField(required=False, allow_blank=True, default="")
    first_stage = serializers.CharField(
        required=False, allow_blank=True, help_text='Name of the first open stage ("Open").'
    )
    first_stage_zh = serializers.CharField(required=False, allow_blank=True)
    first_stage_probability = serializers.IntegerField(
        required=False, help_text="Default probability of the first open stage (10)."
    )


class PipelineUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, help_text="Left out: unchanged.")
    name_zh = serializers.CharField(
        required=False, allow_blank=True, help_text="Left out: unchanged."
    )
    is_active = serializers.BooleanField(
        required=False,
        help_text="false: no longer offered for new opportunities (not the last active one).",
    )


class ReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every stage id of the pipeline, once, in the new order.",
    )


class StageCreateSerializer(serializers.Serializer):
    pipeline = serializers.IntegerField(help_text="Id of the pipeline the stage joins.")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    name_zh = serializers.CharField(required=False, allow_blank=True, default="")
    probability = serializers.IntegerField(required=False, default=0)
    outcome = serializers.ChoiceField(
        choices=Stage.Outcome.choices,
        default=Stage.Outcome.OPEN,
        help_text="open stages go after the other open ones; won and lost stages go last.",
    )


class StageUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, help_text="Left out: unchanged.")
    name_zh = serializers.CharField(
        required=False, allow_blank=True, help_text="Left out: unchanged."
    )
    probability = serializers.IntegerField(
        required=False, help_text="Open stages only; won is always 100, lost 0."
    )


class StageRetireSerializer(serializers.Serializer):
    move_to = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of an active open stage of the same pipeline; required when open "
        "opportunities are in the stage (each move is recorded in its stage history).",
    )


class StageRetiredSerializer(serializers.Serializer):
    stage = StageSerializer()
    moved = serializers.IntegerField(help_text="Open opportunities moved to `move_to`.")


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Currency
        fields = ("id", "code", "rate_to_base", "is_active", "updated_at")
        read_only_fields = fields


class CurrencyCreateSerializer(serializers.Serializer):
    code = serializers.CharField(required=False, allow_blank=True, default="")
    rate_to_base = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='Value of one unit in the base currency, as a decimal string ("7.12").',
    )


class CurrencyUpdateSerializer(serializers.Serializer):
    rate_to_base = serializers.CharField(
        required=False,
        help_text="A new rate recomputes the base amounts of OPEN opportunities in this "
        "currency; won and lost ones keep the amounts they closed at.",
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false is refused while open opportunities are in it."
    )


class SalesSettingsSerializer(serializers.Serializer):
    base_currency = serializers.CharField(
        required=False, help_text="Changes only while the workspace has no opportunities."
    )
    quote_discount_limit = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, coerce_to_string=True
    )
    default_tax_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, coerce_to_string=True
    )
    quote_validity_days = serializers.IntegerField(required=False)


# --- Views ------------------------------------------------------------------------------------


def _pipelines() -> QuerySet[Pipeline]:
    return Pipeline.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "pk"))
    ).order_by("position", "pk")


@extend_schema_view(
    list=extend_schema(summary="Pipelines with their stages in order", tags=["pipelines"]),
    retrieve=extend_schema(
        summary="One pipeline with its stages",
        responses={200: PipelineSerializer, 404: NOT_FOUND},
        tags=["pipelines"],
    ),
)
class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SettingsViewSet):
    serializer_class = PipelineSerializer

    def get_queryset(self) -> QuerySet[Pipeline]:
        return _pipelines()

    def _body(self, pk: int) -> dict[str, Any]:
        return dict(PipelineSerializer(_pipelines().get(pk=pk)).data)

    @extend_schema(
        summary="Add a pipeline with a first open stage, a won and a lost stage (admins)",
        request=PipelineCreateSerializer,
        responses={201: PipelineSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["pipelines"],
    )
    def create(self, request: Request) -> Response:
        body = PipelineCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pipeline = pipeline_services.pipeline_add(
            actor=self.actor, data=dict(body.validated_data), channel=API
        )
        return Response(self._body(pipeline.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a pipeline, or switch it off or on (admins)",
        request=PipelineUpdateSerializer,
        responses={200: PipelineSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["pipelines"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        body = PipelineUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        with transaction.atomic():
            if "name" in data or "name_zh" in data:
                pipeline_services.pipeline_rename(
                    actor=self.actor, pipeline=pipeline, data=data, channel=API
                )
            if "is_active" in data:
                pipeline_services.pipeline_set_active(
                    actor=self.actor, pipeline=pipeline, active=data["is_active"], channel=API
                )
        return Response(self._body(pipeline.pk))

    @extend_schema(
        summary="Put the pipeline's stages in a new order (admins)",
        request=ReorderSerializer,
        responses={200: PipelineSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["pipelines"],
    )
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        body = ReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.stage_reorder(
            actor=self.actor, pipeline=pipeline, order=body.validated_data["order"], channel=API
        )
        return Response(self._body(pipeline.pk))


@extend_schema_view(
    list=extend_schema(
        summary="Every stage of every pipeline, in pipeline order", tags=["pipelines"]
    ),
    retrieve=extend_schema(
        summary="One stage", responses={200: StageSerializer, 404: NOT_FOUND}, tags=["pipelines"]
    ),
)
class StageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SettingsViewSet):
    serializer_class = StageSerializer

    def get_queryset(self) -> QuerySet[Stage]:
        return Stage.objects.order_by("pipeline__position", "pipeline_id", "position", "pk")

    def _body(self, pk: int) -> dict[str, Any]:
        return dict(StageSerializer(Stage.objects.get(pk=pk)).data)

    @extend_schema(
        summary="Add a stage to a pipeline (admins)",
        request=StageCreateSerializer,
        responses={201: StageSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["pipelines"],
    )
    def create(self, request: Request) -> Response:
        body = StageCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        pipeline = Pipeline.objects.filter(pk=data.pop("pipeline")).first()
        if pipeline is None:
            raise serializers.ValidationError(
                {"pipeline": [_("There is no such pipeline in this workspace.")]}
            )
        stage = services.stage_create(
            actor=self.actor, pipeline=pipeline, data=data, outcome=data["outcome"], channel=API
        )
        return Response(self._body(stage.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a stage or change its default probability (admins)",
        request=StageUpdateSerializer,
        responses={200: StageSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["pipelines"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        stage = self.get_object()
        body = StageUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.stage_update(
            actor=self.actor, stage=stage, data=dict(body.validated_data), channel=API
        )
        return Response(self._body(stage.pk))

    @extend_schema(
        summary="Retire a stage, first moving its open opportunities to `move_to` (admins)",
        request=StageRetireSerializer,
        responses={200: StageRetiredSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["pipelines"],
    )
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        stage = self.get_object()
        body = StageRetireSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        move_to = None
        target_id = body.validated_data.get("move_to")
        if target_id is not None:
            move_to = Stage.objects.filter(pk=target_id).first()
            if move_to is None:
                raise serializers.ValidationError(
                    {"move_to": [_("There is no such stage in this workspace.")]}
                )
        moved = pipeline_services.stage_retire_moving(
            actor=self.actor, stage=stage, move_to=move_to, channel=API
        )
        return Response({"stage": self._body(stage.pk), "moved": moved})

    @extend_schema(
        summary="Offer a retired stage again (admins)",
        request=None,
        responses={200: StageSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["pipelines"],
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str) -> Response:
        stage = pipeline_services.stage_reactivate(
            actor=self.actor, stage=self.get_object(), channel=API
        )
        return Response(self._body(stage.pk))


@extend_schema_view(
    list=extend_schema(
        summary="Currencies with their rate to the base currency (the base itself is not "
        "listed: see /api/v1/sales-settings/)",
        tags=["currencies"],
    ),
    retrieve=extend_schema(
        summary="One currency",
        responses={200: CurrencySerializer, 404: NOT_FOUND},
        tags=["currencies"],
    ),
)
class CurrencyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SettingsViewSet):
    serializer_class = CurrencySerializer

    def get_queryset(self) -> QuerySet[Currency]:
        return Currency.objects.order_by("code")

    @extend_schema(
        summary="Add a currency with its rate to the base currency (admins)",
        request=CurrencyCreateSerializer,
        responses={201: CurrencySerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["currencies"],
    )
    def create(self, request: Request) -> Response:
        body = CurrencyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        currency = currency_services.currency_create(
            actor=self.actor,
            code=body.validated_data["code"],
            rate_to_base=body.validated_data["rate_to_base"],
            channel=API,
        )
        return Response(CurrencySerializer(currency).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a rate (recomputes open opportunities) or (de)activate (admins)",
        request=CurrencyUpdateSerializer,
        responses={200: CurrencySerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["currencies"],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        currency = self.get_object()
        body = CurrencyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            if "rate_to_base" in data:
                currency_services.currency_set_rate(
                    actor=self.actor,
                    currency=currency,
                    rate_to_base=data["rate_to_base"],
                    channel=API,
                )
            if "is_active" in data:
                currency_services.currency_set_active(
                    actor=self.actor, currency=currency, active=data["is_active"], channel=API
                )
        currency.refresh_from_db()
        return Response(CurrencySerializer(currency).data)


def _settings_body() -> dict[str, Any]:
    settings = workspace_settings()
    return dict(
        SalesSettingsSerializer(
            {name: getattr(settings, name) for name in currency_services.SETTING_FIELDS}
        ).data
    )


class SalesSettingsView(APIView):
    permission_classes = [permissions.IsAuthenticated, AdminWrites]

    @extend_schema(
        summary="Base currency and quote defaults",
        responses={200: SalesSettingsSerializer},
        tags=["currencies"],
    )
    def get(self, request: Request) -> Response:
        return Response(_settings_body())

    @extend_schema(
        summary="Change the base currency or quote defaults (admins); fields left out stay",
        request=SalesSettingsSerializer,
        responses={200: SalesSettingsSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["currencies"],
    )
    def patch(self, request: Request) -> Response:
        body = SalesSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        currency_services.sales_settings_update(
            actor=cast(User, request.user), data=dict(body.validated_data), channel=API
        )
        return Response(_settings_body())
