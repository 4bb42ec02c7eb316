"""Request and response bodies of the workspace administration API (picklists, roles,
people) and of merging records. The services check the values; these describe their shape
for validation of types and for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core_crm.access.models import Role, Team
from core_crm.customers.models import PicklistValue
from core_crm.users.models import User

from .serializers import ObjectField

# --- Picklists --------------------------------------------------------------------------------


class PicklistValueAdminSerializer(serializers.ModelSerializer):
    used = serializers.SerializerMethodField(
        help_text="How many records use this value (it can only be deleted when 0)."
    )

    class Meta:
        model = PicklistValue
        fields = ("id", "picklist", "code", "label", "label_zh", "position", "is_active", "used")
        read_only_fields = fields

    def get_used(self, value: PicklistValue) -> int:
        usage = self.context.get("usage")
        return int(usage[value.pk]) if usage is not None else 0


class PicklistSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='The picklist, e.g. "industry".')
    label = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.label
        help_text="Its name, in the caller's language."
    )
    values = PicklistValueAdminSerializer(
        many=True, help_text="Every value in list order, retired ones included."
    )


class PicklistValueCreateSerializer(serializers.Serializer):
    # Not required here: the service names a missing label in the same words for every caller.
    label = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, default=""
    )
    label_zh = serializers.CharField(required=False, allow_blank=True, default="")


class PicklistValueUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, help_text="Left out: unchanged."
    )
    label_zh = serializers.CharField(
        required=False, allow_blank=True, help_text="Left out: unchanged."
    )


class PicklistMoveSerializer(serializers.Serializer):
    offset = serializers.IntegerField(
        help_text="Places to move: negative moves up the list, positive down; the ends stay put."
    )


class PicklistReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every value id of the list, once, in the new order.",
    )


# --- Roles ------------------------------------------------------------------------------------

PERMISSIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Object type (account, contact, lead) -> action (create, read, edit, delete, export) "
        "-> scope. Create takes all or none; the others all, team, own or none. Edit, delete "
        "and export reach no further than read. Errors name the cell, e.g. `account.edit`."
    ),
    "additionalProperties": {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": ["all", "team", "own", "none"]},
    },
    "example": {
        "account": {
            "create": "all",
            "read": "team",
            "edit": "own",
            "delete": "none",
            "export": "none",
        }
    },
}


@extend_schema_field(PERMISSIONS_SCHEMA)
class PermissionsField(ObjectField):
    """The permission grid as one JSON object; the role services check each cell."""

    default_error_messages = {
        "not_object": "Send an object of object types, each an object of actions and scopes."
    }


class RoleSerializer(serializers.ModelSerializer):
    permissions = PermissionsField(read_only=True)
    holders = serializers.IntegerField(read_only=True, help_text="Active people holding the role.")

    class Meta:
        model = Role
        fields = ("id", "key", "name", "is_system", "permissions", "holders")
        read_only_fields = fields


class RoleCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="")
    copy_from = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of a role whose permissions the new role starts from; left out: no rights.",
    )
    permissions = PermissionsField(
        required=False, help_text="Cells to set after copying; cells left out keep their scope."
    )


class RoleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, help_text="Left out: unchanged.")
    permissions = PermissionsField(
        required=False, help_text="Cells to change; cells left out keep their scope."
    )


# --- People (read-only reference for role and owner ids) -------------------------------------


class TeamRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ("id", "name")
        read_only_fields = fields


class UserRefSerializer(serializers.ModelSerializer):
    role: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    teams = TeamRefSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "is_active", "is_workspace_admin", "role", "teams")
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    members: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Team
        fields = ("id", "name", "members")
        read_only_fields = fields


# --- Merge ------------------------------------------------------------------------------------


class MergeRequestSerializer(serializers.Serializer):
    other = serializers.IntegerField(
        help_text="Id of the record merged away into the one in the path (the survivor)."
    )
    values = serializers.DictField(
        child=serializers.ChoiceField(choices=["survivor", "other"]),
        required=False,
        default=dict,
        help_text=(
            "Field name (or `custom_fields.<key>`) -> whose value the survivor keeps. Fields "
            "left out keep the survivor's value unless it is empty."
        ),
    )


class MovedRowsSerializer(serializers.Serializer):
    relation = serializers.CharField(
        help_text='What points at the record, e.g. "customers.contact.account" (contacts).'
    )
    count = serializers.IntegerField()


class MergeResultSerializer(serializers.Serializer):
    record = serializers.JSONField(help_text="The survivor, as its detail endpoint answers it.")
    merged_away = serializers.IntegerField(help_text="Id of the record merged away.")
    merge_entry = serializers.IntegerField(
        help_text="Id of the merge's audit entry: POST /api/v1/merges/{id}/undo/ undoes it."
    )
    moved = MovedRowsSerializer(many=True, help_text="Related rows moved to the survivor.")
    removed = serializers.IntegerField(
        help_text="Related rows the survivor already had a twin of, removed (undo restores them)."
    )


class UndoResultSerializer(serializers.Serializer):
    record = serializers.JSONField(help_text="The record kept by the merge, as it is again.")
    restored = serializers.JSONField(help_text="The record merged away, recreated with its id.")
    undo_entry = serializers.IntegerField(help_text="Id of the audit entry of the undo.")
