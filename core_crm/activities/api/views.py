"""REST API of activities, follow-up plans and the personal calendar link, through the same
services and selectors as the pages; audited with channel "api"."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from core_crm.api.params import flag
from core_crm.api.views import Pagination
from core_crm.users.models import User

from .. import feeds, services
from ..models import Activity, CalendarFeed, FollowUpPlan, Kind
from ..selectors import access_activity, activity_list, in_range, with_related
from .serializers import (
    ActivitySerializer,
    CalendarLinkCreatedSerializer,
    CalendarLinkSerializer,
    CompleteSerializer,
    FollowUpPlanSerializer,
    PlanStartedSerializer,
)

ERROR = OpenApiResponse(description='`{"<field>": [...]}` naming each field.')
FORBIDDEN = OpenApiResponse(description='The role does not allow it: `{"detail": ...}`.')
NOT_FOUND = OpenApiResponse(
    description="No such id in this workspace, or one the caller may not read."
)

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
                    raise ValidationError({name: [_("Give a record id.")]})
                queryset = queryset.filter(**{f"{name}_id": int(params[name])})
        if params.get("assignee"):
            if not params["assignee"].isdigit():
                raise ValidationError({"assignee": [_("Give a user id.")]})
            queryset = queryset.filter(owner_id=int(params["assignee"]))
        if params.get("kind"):
            if params["kind"] not in Kind.values:
                raise ValidationError(
                    {"kind": [_("One of: %(values)s.") % {"values": ", ".join(Kind.values)}]}
                )
            queryset = queryset.filter(kind=params["kind"])
        done = flag(params, "done")
        if done is not None:
            queryset = queryset.filter(done=done)
        if flag(params, "overdue"):
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
                raise ValidationError({"start": [_("Give both start and end as ISO times.")]})
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
        data = dict(serializer.validated_data)  # the serializer refuses a null owner here
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
        responses={200: ActivitySerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
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

    @extend_schema(
        summary="Mark a done activity open again",
        description=(
            "Clears `done` and `done_at` and re-arms the reminder (none for a time already "
            "past). An open activity is answered as it is. 403 when the caller's role may not "
            "change it (taking part is not enough)."
        ),
        request=None,
        responses={200: ActivitySerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        activity = self.get_object()
        services.activity_reopen(activity, actor=self.actor, channel="api")
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
            raise DRFPermissionDenied(_("Only workspace admins change follow-up plans."))
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

    @extend_schema(
        summary="Plan follow-ups for the accounts that have none (admins)",
        description=(
            "Like the plan page's button: for each account the plan applies to (its account, "
            "or every account of its value class) with no open activity of this plan, plans "
            "the first one for tomorrow 09:00, assigned to the account's owner (skipped when "
            "the owner is inactive). Running it again plans nothing new for those accounts. "
            "400 for a retired plan, 403 for anyone but a workspace admin."
        ),
        request=None,
        responses={200: PlanStartedSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        plan = self.get_object()
        # The service refuses anyone but a workspace admin, with its own message.
        count = services.plan_start(plan, actor=cast(User, request.user), channel="api")
        return Response(PlanStartedSerializer({"planned": count}).data)


def _link_state(user: User) -> dict[str, Any]:
    feed = CalendarFeed.objects.filter(user=user).first()
    return {
        "active": feed is not None,
        "created_at": feed.created_at if feed else None,
        "last_used_at": feed.last_used_at if feed else None,
    }


class CalendarLinkView(APIView):
    """The caller's own private calendar (ICS) link, as on the Calendar → Subscribe page: it
    holds the activities assigned to them or that they take part in, 30 days back to 90 ahead.
    Only a hash of the link is kept, so its address is answered once, when it is made."""

    @extend_schema(
        summary="Whether I have a calendar link",
        description="Never the link itself: it is shown only when made.",
        responses={200: CalendarLinkSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(CalendarLinkSerializer(_link_state(cast(User, request.user))).data)

    @extend_schema(
        summary="Make a new calendar link (the old one stops working)",
        description=(
            "Answers the new link once; store it or subscribe with it now. A link made "
            "before stops working at once."
        ),
        request=None,
        responses={201: CalendarLinkCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        token = feeds.feed_reset(user)
        url = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
        body = {
            "url": url,
            "webcal": "webcal://" + url.split("://", 1)[1],
            "created_at": _link_state(user)["created_at"],
        }
        response = Response(
            CalendarLinkCreatedSerializer(body).data, status=status.HTTP_201_CREATED
        )
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Turn my calendar link off",
        description="The link stops working. 204 also when there was none.",
        request=None,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        feeds.feed_revoke(cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
