"""Workspace administration over the API: picklists (Settings → Picklists), roles
(Settings → Roles) and a read-only list of people and teams.

Workspace admins only; anyone else gets 403 with a message (these are settings, not records,
so there is nothing to hide behind a 404). Every write goes through the same service as the
settings pages, so the rules and the audit trail are the same.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.access import services as access_services
from core_crm.access.models import OBJECT_TYPES, Action, Role, Scope, Team
from core_crm.audit.models import Channel
from core_crm.customers import picklists
from core_crm.customers.models import Picklist, PicklistValue
from core_crm.users.models import User

from .admin_serializers import (
    PicklistMoveSerializer,
    PicklistReorderSerializer,
    PicklistSerializer,
    PicklistValueAdminSerializer,
    PicklistValueCreateSerializer,
    PicklistValueUpdateSerializer,
    RoleCreateSerializer,
    RoleSerializer,
    RoleUpdateSerializer,
    TeamSerializer,
    UserRefSerializer,
)

ERROR = OpenApiResponse(description='`{"detail": ...}` or `{"<field>": [...]}`')
FORBIDDEN = OpenApiResponse(description='Not a workspace admin: `{"detail": ...}`.')
CONFLICT = OpenApiResponse(description='Refused while in use: `{"detail": ...}` says why.')


class IsWorkspaceAdmin(permissions.BasePermission):
    message = ""  # set per request, so it is in the caller's language

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if bool(user and user.is_authenticated and user.is_active and user.is_workspace_admin):
            return True
        self.message = _("Only a workspace admin can manage the workspace's settings.")
        return False


class AdminAPIView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsWorkspaceAdmin]

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)


# --- Picklists --------------------------------------------------------------------------------


def _picklist_key(key: str) -> str:
    if key not in Picklist.values:
        raise Http404
    return key


def _value(key: str, value_id: int) -> PicklistValue:
    value = PicklistValue.objects.filter(picklist=_picklist_key(key), pk=value_id).first()
    if value is None:
        raise Http404
    return value


def _picklist_bodies(keys: list[str]) -> list[dict[str, Any]]:
    """The lists with their values (in list order) and usage counts, in two queries."""
    usage = picklists.picklist_usage(keys[0] if len(keys) == 1 else None)
    by_list: dict[str, list[PicklistValue]] = {key: [] for key in keys}
    for value in PicklistValue.objects.filter(picklist__in=keys).order_by(
        "picklist", "position", "label", "pk"
    ):
        by_list[value.picklist].append(value)
    labels = dict(Picklist.choices)
    return [
        {
            "key": key,
            "label": str(labels[key]),
            "values": PicklistValueAdminSerializer(
                by_list[key], many=True, context={"usage": usage}
            ).data,
        }
        for key in keys
    ]


def _value_body(value: PicklistValue) -> dict[str, Any]:
    value.refresh_from_db()
    usage = {value.pk: picklists.value_usage(value)}
    return dict(PicklistValueAdminSerializer(value, context={"usage": usage}).data)


class PicklistListView(AdminAPIView):
    @extend_schema(
        summary="Every picklist with its values (retired ones too) and how many records use each",
        responses={200: PicklistSerializer(many=True), 403: FORBIDDEN},
        tags=["picklists"],
    )
    def get(self, request: Request) -> Response:
        return Response(_picklist_bodies(list(Picklist.values)))


class PicklistDetailView(AdminAPIView):
    @extend_schema(
        summary="One picklist with its values and usage counts",
        responses={200: PicklistSerializer, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(_picklist_bodies([_picklist_key(key)])[0])


class PicklistValueCreateView(AdminAPIView):
    @extend_schema(
        summary="Add a value at the end of the list (its code comes from the English label)",
        request=PicklistValueCreateSerializer,
        responses={201: PicklistValueAdminSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def post(self, request: Request, key: str) -> Response:
        key = _picklist_key(key)
        body = PicklistValueCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        value = picklists.picklist_value_create(
            actor=self.actor,
            picklist=key,
            label=body.validated_data["label"],
            label_zh=body.validated_data["label_zh"],
            channel=Channel.API,
        )
        return Response(_value_body(value), status=status.HTTP_201_CREATED)


class PicklistValueDetailView(AdminAPIView):
    @extend_schema(
        summary="One value with its usage count",
        responses={200: PicklistValueAdminSerializer, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def get(self, request: Request, key: str, value_id: int) -> Response:
        return Response(_value_body(_value(key, value_id)))

    @extend_schema(
        summary="Change a value's labels (its code, used by the API and imports, stays)",
        request=PicklistValueUpdateSerializer,
        responses={200: PicklistValueAdminSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def patch(self, request: Request, key: str, value_id: int) -> Response:
        value = _value(key, value_id)
        body = PicklistValueUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        value = picklists.picklist_value_update(
            actor=self.actor,
            value=value,
            label=body.validated_data.get("label", value.label),
            label_zh=body.validated_data.get("label_zh", value.label_zh),
            channel=Channel.API,
        )
        return Response(_value_body(value))

    @extend_schema(
        summary="Delete a value no record uses (a value in use can only be retired)",
        responses={204: None, 403: FORBIDDEN, 409: CONFLICT},
        tags=["picklists"],
    )
    def delete(self, request: Request, key: str, value_id: int) -> Response:
        picklists.picklist_value_delete(
            actor=self.actor, value=_value(key, value_id), channel=Channel.API
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PicklistValueRetireView(AdminAPIView):
    @extend_schema(
        summary="Retire a value: records keep it, new choices no longer offer it",
        request=None,
        responses={200: PicklistValueAdminSerializer, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def post(self, request: Request, key: str, value_id: int) -> Response:
        value = picklists.picklist_value_retire(
            actor=self.actor, value=_value(key, value_id), channel=Channel.API
        )
        return Response(_value_body(value))


class PicklistValueReactivateView(AdminAPIView):
    @extend_schema(
        summary="Offer a retired value again",
        request=None,
        responses={200: PicklistValueAdminSerializer, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def post(self, request: Request, key: str, value_id: int) -> Response:
        value = picklists.picklist_value_reactivate(
            actor=self.actor, value=_value(key, value_id), channel=Channel.API
        )
        return Response(_value_body(value))


class PicklistValueMoveView(AdminAPIView):
    @extend_schema(
        summary="Move a value up (negative offset) or down the list; answers the whole list",
        request=PicklistMoveSerializer,
        responses={200: PicklistSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def post(self, request: Request, key: str, value_id: int) -> Response:
        value = _value(key, value_id)
        body = PicklistMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        picklists.picklist_value_move(
            actor=self.actor,
            value=value,
            offset=body.validated_data["offset"],
            channel=Channel.API,
        )
        return Response(_picklist_bodies([value.picklist])[0])


class PicklistReorderView(AdminAPIView):
    @extend_schema(
        summary="Put the list's values in a new order; answers the whole list",
        request=PicklistReorderSerializer,
        responses={200: PicklistSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["picklists"],
    )
    def post(self, request: Request, key: str) -> Response:
        key = _picklist_key(key)
        body = PicklistReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        picklists.picklist_reorder(
            actor=self.actor, picklist=key, order=body.validated_data["order"], channel=Channel.API
        )
        return Response(_picklist_bodies([key])[0])


# --- Roles ------------------------------------------------------------------------------------


def _grid_shape_errors(permissions: dict[str, Any]) -> dict[str, list[str]]:
    """Cells the role services would not look at (an unknown action, an action that is not
    an object of scopes), named like the services name theirs: "account.edit"."""
    errors: dict[str, list[str]] = {}
    for obj, actions in permissions.items():
        if obj not in OBJECT_TYPES:
            errors[obj] = [_("Unknown object type “%(t)s”.") % {"t": obj}]
            continue
        if not isinstance(actions, dict):
            errors[obj] = [_("Send an object of actions and scopes.")]
            continue
        for action, scope in actions.items():
            cell = f"{obj}.{action}"
            if action not in Action.values:
                errors[cell] = [
                    _("Unknown action; use one of: %(actions)s.")
                    % {"actions": ", ".join(Action.values)}
                ]
            elif not isinstance(scope, str) or scope not in Scope.values:
                errors[cell] = [
                    _("Unknown scope; use one of: %(scopes)s.")
                    % {"scopes": ", ".join(access_services.SCOPES_FOR_ACTION[action])}
                ]
    return errors


def _grid(base: Role, changes: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """`base`'s complete matrix with the cells of `changes` set (after checking their shape)."""
    changes = changes or {}
    errors = _grid_shape_errors(changes)
    if errors:
        raise DjangoValidationError(errors)
    return {
        obj: {
            action: str(changes.get(obj, {}).get(action, base.scope(obj, action)))
            for action in Action.values
        }
        for obj in OBJECT_TYPES
    }


class RoleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Roles and their permission grids (Settings → Roles). The Administrator role keeps full
    rights; a role someone holds, or a pending invitation offers, cannot be deleted."""

    permission_classes = [permissions.IsAuthenticated, IsWorkspaceAdmin]
    serializer_class = RoleSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Role]:
        return Role.objects.annotate(
            holders=Count("users", filter=Q(users__is_active=True))
        ).order_by("name", "pk")

    def _body(self, role: Role) -> dict[str, Any]:
        return dict(RoleSerializer(self.get_queryset().get(pk=role.pk)).data)

    @extend_schema(summary="Every role with its grid and holder count", tags=["roles"])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One role", tags=["roles"])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Create a role, optionally copying another role's grid, then setting cells",
        request=RoleCreateSerializer,
        responses={201: RoleSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["roles"],
    )
    def create(self, request: Request) -> Response:
        body = RoleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source_id = body.validated_data.get("copy_from")
        source: Role | None = None
        if source_id is not None:
            source = Role.objects.filter(pk=source_id).first()
            if source is None:
                raise DjangoValidationError({"copy_from": [_("There is no role with this id.")]})
        changes = body.validated_data.get("permissions")
        role = access_services.role_create(
            actor=self.actor,
            name=body.validated_data["name"],
            copy_from=source,
            permissions=_grid(source or Role(key="", permissions={}), changes),
            channel=Channel.API,
        )
        return Response(self._body(role), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a role and/or change cells of its permission grid",
        request=RoleUpdateSerializer,
        responses={200: RoleSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["roles"],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        role = self.get_object()
        body = RoleUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        role = access_services.role_update(
            actor=self.actor,
            role=role,
            name=body.validated_data.get("name", role.name),
            permissions=_grid(role, body.validated_data.get("permissions")),
            channel=Channel.API,
        )
        return Response(self._body(role))

    @extend_schema(
        summary="Delete a role nobody holds and no pending invitation offers",
        responses={204: None, 403: FORBIDDEN, 409: CONFLICT},
        tags=["roles"],
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access_services.role_delete(actor=self.actor, role=self.get_object(), channel=Channel.API)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- People (read-only) -----------------------------------------------------------------------


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The workspace's people with their role and teams, for the ids other endpoints take."""

    permission_classes = [permissions.IsAuthenticated, IsWorkspaceAdmin]
    serializer_class = UserRefSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("name"))
        ).order_by("full_name", "email", "pk")

    @extend_schema(summary="Every person of the workspace (inactive ones too)", tags=["people"])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One person", tags=["people"])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The workspace's teams with their members' ids."""

    permission_classes = [permissions.IsAuthenticated, IsWorkspaceAdmin]
    serializer_class = TeamSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.prefetch_related("members").order_by("name", "pk")

    @extend_schema(summary="Every team with its members", tags=["people"])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One team", tags=["people"])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)
