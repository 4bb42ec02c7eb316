"""REST API of notifications: each person's own notifications and channel preferences."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.api.params import flag
from core_crm.api.views import Pagination
from core_crm.users.models import User

from . import services
from .models import Kind, Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    unread = serializers.SerializerMethodField()
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "actor", "actor_name", "created_at"]
        fields += ["read_at", "unread", "emailed_at"]
        read_only_fields = fields

    def get_unread(self, obj: Notification) -> bool:
        return obj.read_at is None

    def get_actor_name(self, obj: Notification) -> str:
        return (obj.actor.full_name or obj.actor.email) if obj.actor else ""


class NotificationPagination(Pagination):
    ordering = "-created_at"


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's own in-app notifications, newest first; someone else's answers 404."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation has no caller
            return Notification.objects.none()
        user = cast(User, self.request.user)  # IsAuthenticated has let only users through
        # The same inbox as the pages; the cursor pagination orders it newest first.
        queryset = services.inbox(user)
        unread = flag(self.request.query_params, "unread")
        if unread is not None:
            queryset = queryset.filter(read_at__isnull=unread)
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "unread", bool, description="true: only unread; false: only read ones."
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark one notification read (again is harmless)."""
        note = services.mark_read(request.user, pk)
        return Response(NotificationSerializer(note).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark all of the caller's notifications read; says how many were unread."""
        return Response({"marked": services.mark_all_read(request.user)})


class PreferenceSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=Kind.choices)
    # The stubs read a field named like a Field attribute (`label`) as overriding it; DRF's
    # serializer metaclass takes declared fields off the class (typeddjango/
    # djangorestframework-stubs#78).
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesView(APIView):
    """The caller's channels for each kind of notification. PUT or PATCH a list of
    {kind, in_app, email}; kinds left out keep their channels. All or nothing."""

    serializer_class = PreferenceSerializer

    @extend_schema(responses=PreferenceSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(services.preference_grid(request.user))

    @extend_schema(
        request=PreferenceSerializer(many=True), responses=PreferenceSerializer(many=True)
    )
    def put(self, request: Request) -> Response:
        return self._save(request)

    @extend_schema(
        request=PreferenceSerializer(many=True), responses=PreferenceSerializer(many=True)
    )
    def patch(self, request: Request) -> Response:
        return self._save(request)

    def _save(self, request: Request) -> Response:
        if not isinstance(request.data, list):
            raise ValidationError({"non_field_errors": ["Send a list of {kind, in_app, email}."]})
        serializer = PreferenceSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        choices = {
            row["kind"]: {"in_app": row["in_app"], "email": row["email"]}
            for row in serializer.validated_data
        }
        try:
            return Response(services.preferences_set(request.user, choices))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
