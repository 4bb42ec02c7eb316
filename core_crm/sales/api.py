"""REST API of opportunities: /api/v1/opportunities/ with stage moves, history, contact roles,
deal team and competitors. Reads go through record security; writes through the services, so
a stage change made here lands in the stage history like one made on the board."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import filters, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core_crm.access.models import Action
from core_crm.access.policy import access_or_404
from core_crm.api.serializers import CustomFieldsField
from core_crm.api.views import LIST_DESCRIPTION, Pagination
from core_crm.customfields import filters as custom_filters
from core_crm.users.models import User

from . import opportunities as services
from .models import (
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityTeamMember,
    Stage,
    StageChange,
)
from .selectors import opportunity_list, stage_or_error


class ContactRoleSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.__str__", read_only=True)
    role_code = serializers.CharField(source="role.code", read_only=True)

    class Meta:
        model = OpportunityContact
        fields = ("id", "contact", "contact_name", "role", "role_code", "influence", "attitude")
        read_only_fields = fields


class ContactRoleInputSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    role = serializers.IntegerField(help_text="Id of a value of the contact_role picklist.")
    influence = serializers.ChoiceField(
        choices=OpportunityContact.Influence.choices, default="medium"
    )
    attitude = serializers.ChoiceField(
        choices=OpportunityContact.Attitude.choices, default="neutral"
    )


class TeamMemberSerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = OpportunityTeamMember
        fields = ("id", "user", "user_name", "role")
        read_only_fields = ("id", "user")


class TeamMemberInputSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    role = serializers.ChoiceField(choices=OpportunityTeamMember.Role.choices, default="sales")


class CompetitorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Competitor
        fields = ("id", "name", "strengths", "weaknesses")
        read_only_fields = ("id",)


class StageChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageChange
        fields = (
            "id",
            "from_stage",
            "to_stage",
            "amount",
            "currency",
            "amount_base",
            "probability",
            "actor",
            "channel",
            "changed_at",
        )
        read_only_fields = fields


class OpportunitySerializer(serializers.ModelSerializer):
    """Related records are given by id; the services check that the caller can see them."""

    owner: serializers.PrimaryKeyRelatedField[User] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    owner_name = serializers.CharField(source="owner.full_name", read_only=True)
    account = serializers.IntegerField(source="account_id")
    primary_contact = serializers.IntegerField(
        source="primary_contact_id", required=False, allow_null=True
    )
    pipeline = serializers.IntegerField(source="pipeline_id", required=False)
    stage = serializers.IntegerField(source="stage_id", required=False)
    # The stubs read a field named like a Field attribute (`source`) as overriding it; DRF's
    # serializer metaclass takes declared fields off the class (typeddjango/
    # djangorestframework-stubs#158).
    source = serializers.IntegerField(  # type: ignore[assignment]
        source="source_id", required=False, allow_null=True
    )
    source_lead = serializers.IntegerField(source="source_lead_id", required=False, allow_null=True)
    lost_reason = serializers.IntegerField(source="lost_reason_id", required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False)
    probability = serializers.IntegerField(
        required=False, allow_null=True, help_text="Empty: the stage's default."
    )
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    weighted_base = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    stage_outcome = serializers.CharField(source="stage.outcome", read_only=True)
    contact_roles = ContactRoleSerializer(many=True, read_only=True)
    team = TeamMemberSerializer(many=True, read_only=True)
    competitors = CompetitorSerializer(many=True, read_only=True)
    custom_fields = CustomFieldsField(required=False)

    class Meta:
        model = Opportunity
        fields = (
            "id",
            "name",
            "account",
            "primary_contact",
            "pipeline",
            "stage",
            "stage_outcome",
            "amount",
            "currency",
            "amount_base",
            "weighted_base",
            "close_date",
            "probability",
            "forecast_category",
            "source",
            "source_lead",
            "next_step",
            "description",
            "lost_reason",
            "lost_note",
            "closed_at",
            "contact_roles",
            "team",
            "competitors",
            "custom_fields",
            "owner",
            "owner_name",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "amount_base", "closed_at", "created_at", "updated_at")


def _service_data(validated: dict[str, Any]) -> dict[str, Any]:
    """Serializer output (`account_id`…) as the services take it (`account`…)."""
    return {name.removesuffix("_id"): value for name, value in validated.items()}


class OpportunityFilter(django_filters.FilterSet):
    close_date_after = django_filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_date_before = django_filters.DateFilter(field_name="close_date", lookup_expr="lte")
    outcome = django_filters.ChoiceFilter(
        field_name="stage__outcome", choices=Stage.Outcome.choices
    )

    class Meta:
        model = Opportunity
        fields = ["account", "owner", "pipeline", "stage", "forecast_category", "currency"]


class MoveSerializer(serializers.Serializer):
    stage = serializers.IntegerField()
    lost_reason = serializers.IntegerField(required=False, allow_null=True)
    lost_note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class OwnerSerializer(serializers.Serializer):
    owner = serializers.IntegerField()


class OpportunityViewSet(viewsets.ModelViewSet):
    """Opportunities the caller may read; out-of-scope ids answer 404 like missing ones."""

    serializer_class = OpportunitySerializer
    pagination_class = Pagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = OpportunityFilter
    ordering_fields = ["id", "close_date", "amount_base", "created_at", "updated_at"]

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Any]:
        return (
            opportunity_list(self.actor)
            .select_related("owner", "stage")
            .prefetch_related(
                "contact_roles__contact", "contact_roles__role", "team__user", "competitors"
            )
        )

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = custom_filters.filter_queryset(
                queryset, "opportunity", self.request.query_params
            )
        return queryset

    @extend_schema(description=LIST_DESCRIPTION)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Any:
        return access_or_404(
            self.actor, self.get_queryset(), self.kwargs["pk"], "opportunity", Action.READ
        )

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.opportunity_create(
            actor=self.actor, data=_service_data(dict(serializer.validated_data)), channel="api"
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.opportunity_update(
            cast(Opportunity, serializer.instance),
            actor=self.actor,
            data=_service_data(dict(serializer.validated_data)),
            channel="api",
        )

    def perform_destroy(self, instance: Any) -> None:
        services.opportunity_delete(instance, actor=self.actor, channel="api")

    def _fresh(self, opp: Opportunity) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=opp.pk)).data)

    @extend_schema(
        summary="Move to another stage",
        description="Stage rules apply (lost needs `lost_reason`; won sets 100 % and the "
        "closed category); the move is recorded in the stage history with channel api.",
        request=MoveSerializer,
        responses=OpportunitySerializer,
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stage = stage_or_error(body.validated_data["stage"])
        opp = services.opportunity_move(
            opp,
            actor=self.actor,
            stage=stage,
            lost_reason=body.validated_data.get("lost_reason"),
            lost_note=body.validated_data.get("lost_note", ""),
            channel="api",
        )
        return self._fresh(opp)

    @extend_schema(
        summary="Stage history, newest first", responses=StageChangeSerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        changes = opp.stage_changes.order_by("-changed_at", "-pk")[:500]
        return Response(StageChangeSerializer(changes, many=True).data)

    @extend_schema(
        summary="Give to another owner", request=OwnerSerializer, responses=OpportunitySerializer
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        body = OwnerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        owner = User.objects.filter(pk=body.validated_data["owner"]).first()
        if owner is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"owner": ["Choose a person of this workspace."]})
        opp = services.opportunity_assign(opp, actor=self.actor, owner=owner, channel="api")
        return self._fresh(opp)

    @extend_schema(
        summary="Add or change a contact role",
        request=ContactRoleInputSerializer,
        responses={201: ContactRoleSerializer},
    )
    @action(detail=True, methods=["post"], url_path="contact-roles")
    def contact_roles(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        body = ContactRoleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.contact_role_set(opp, actor=self.actor, channel="api", **body.validated_data)
        return Response(ContactRoleSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove a contact role", request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"contact-roles/(?P<role_id>\d+)")
    def contact_role_remove(self, request: Request, pk: str, role_id: str) -> Response:
        services.contact_role_remove(
            self.get_object(), actor=self.actor, role_id=int(role_id), channel="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add a colleague to the deal team",
        request=TeamMemberInputSerializer,
        responses={201: TeamMemberSerializer},
    )
    @action(detail=True, methods=["post"], url_path="team")
    def team_add(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        body = TeamMemberInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = User.objects.filter(pk=body.validated_data["user"]).first()
        if user is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"user": ["Choose a person of this workspace."]})
        member = services.team_member_add(
            opp, actor=self.actor, user=user, role=body.validated_data["role"], channel="api"
        )
        return Response(TeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a colleague from the deal team", request=None, responses={204: None}
    )
    @action(detail=True, methods=["delete"], url_path=r"team/(?P<member_id>\d+)")
    def team_remove(self, request: Request, pk: str, member_id: str) -> Response:
        services.team_member_remove(
            self.get_object(), actor=self.actor, member_id=int(member_id), channel="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add a competitor",
        request=CompetitorSerializer,
        responses={201: CompetitorSerializer},
    )
    @action(detail=True, methods=["post"], url_path="competitors")
    def competitor_add(self, request: Request, pk: str) -> Response:
        opp = self.get_object()
        # A JSON list or scalar body names no competitor (400), rather than failing (500).
        body = request.data if isinstance(request.data, dict) else {}
        row = services.competitor_add(
            opp,
            actor=self.actor,
            data={k: body.get(k) for k in ("name", "strengths", "weaknesses")},
            channel="api",
        )
        return Response(CompetitorSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove a competitor", request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"competitors/(?P<competitor_id>\d+)")
    def competitor_remove(self, request: Request, pk: str, competitor_id: str) -> Response:
        services.competitor_remove(
            self.get_object(), actor=self.actor, competitor_id=int(competitor_id), channel="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
