"""REST API of activities and follow-up plans, through the same services and selectors as the
pages; audited with channel "api"."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core_crm.api.views import Pagination
from core_crm.users.models import User

from .. import services
from ..models import Activity, FollowUpPlan, Kind
from ..selectors import access_activity, activity_list, in_range, with_related
from .serializers import ActivitySerializer, CompleteSerializer, FollowUpPlanSerializer

FILTERS = [
    OpenApiParameter("account", int, description="Activities about this account."),
    OpenApiParameter("contact", int, description="Activities about this contact."),
    OpenApiParameter("lead", int, description="Activities about this lead."),
    OpenApiParameter("opportunity", int, description="Activities about this opportunity."),
    OpenApiParameter("assignee", int, description="Assigned to this user id."),
    OpenApiParameter("kind", str, enum=Kind.values),
    OpenApiParameter("done", bool),
    OpenApiParameter("overdue", bool, description="Open, and its due or start time has passed."),
    OpenApiParameter("start", str, description="ISO time: on the calendar from this moment."),
    OpenApiParameter("end", str, description="ISO time: on the calendar before this moment."),
]


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValidationError({"detail": [f"Use true or false, not “{value}”."]})


class ActivityViewSet(viewsets.ModelViewSet):
    """Activities the caller may read: their role's scope on activities (assignee = owner)
    plus those they take part in. Others answer 404 exactly like missing ones."""

    serializer_class = ActivitySerializer
    pagination_class = Pagination

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Activity]:
        return with_related(activity_list(self.actor)).prefetch_related(
            "participants", "contact_participants"
        )

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        params = self.request.query_params
        for name in ("account", "contact", "lead", "opportunity"):
            if params.get(name):
                if not params[name].isdigit():
                    raise ValidationError({name: ["Give a record id."]})
                queryset = queryset.filter(**{f"{name}_id": int(params[name])})
        if params.get("assignee"):
            if not params["assignee"].isdigit():
                raise ValidationError({"assignee": ["Give a user id."]})
            queryset = queryset.filter(owner_id=int(params["assignee"]))
        if params.get("kind"):
            if params["kind"] not in Kind.values:
                raise ValidationError({"kind": [f"One of: {', '.join(Kind.values)}."]})
            queryset = queryset.filter(kind=params["kind"])
        done = _flag(params.get("done"))
        if done is not None:
            queryset = queryset.filter(done=done)
        if _flag(params.get("overdue")):
            now = timezone.now()
            queryset = (
                queryset.filter(done=False)
                .exclude(kind__in=[Kind.NOTE, Kind.EMAIL])
                .filter(Q(due_at__lt=now) | Q(due_at__isnull=True, start_at__lt=now))
            )
        start, end = params.get("start"), params.get("end")
        if start or end:
            parsed = [parse_datetime((v or "").replace(" ", "+")) for v in (start, end)]
            if None in parsed:
                raise ValidationError({"start": ["Give both start and end as ISO times."]})
            queryset = in_range(queryset, parsed[0], parsed[1])  # type: ignore[arg-type]
        return queryset

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Activity:
        return access_activity(self.actor, self.kwargs["pk"])

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        if data.get("owner") is None:
            data.pop("owner", None)
        serializer.instance = services.activity_create(actor=self.actor, data=data, channel="api")

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        serializer.instance = services.activity_update(
            cast(Activity, serializer.instance), actor=self.actor, data=data, channel="api"
        )

    def perform_destroy(self, instance: Activity) -> None:
        services.activity_delete(instance, actor=self.actor, channel="api")

    @extend_schema(
        summary="Mark an activity done",
        description=(
            "Marks the activity done with an optional outcome. An activity of a follow-up "
            "plan plans the next one (one interval after now, same assignee), linked as "
            "`next_activity`. 400 when it is already done or a note."
        ),
        request=CompleteSerializer,
        responses=ActivitySerializer,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        activity = self.get_object()
        body = CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        activity = services.activity_complete(
            activity, actor=self.actor, outcome=body.validated_data["outcome"], channel="api"
        )
        return Response(ActivitySerializer(self.get_object(), context={"request": request}).data)


class FollowUpPlanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Follow-up plan types: everyone reads them; workspace admins create, change, delete."""

    serializer_class = FollowUpPlanSerializer
    queryset = FollowUpPlan.objects.select_related("account").order_by("name", "pk")

    def _admin(self) -> User:
        user = cast(User, self.request.user)
        if not user.is_workspace_admin:
            raise DRFPermissionDenied("Only workspace admins change follow-up plans.")
        return user

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.plan_create(
            actor=self._admin(), data=dict(serializer.validated_data), channel="api"
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.plan_update(
            cast(FollowUpPlan, serializer.instance),
            actor=self._admin(),
            data=dict(serializer.validated_data),
            channel="api",
        )

    def perform_destroy(self, instance: FollowUpPlan) -> None:
        services.plan_delete(instance, actor=self._admin(), channel="api")
