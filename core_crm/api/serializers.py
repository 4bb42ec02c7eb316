from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core_crm.customers.fields import ACCOUNT_FIELDS, CONTACT_FIELDS, LEAD_FIELDS
from core_crm.customers.models import Account, Contact, Lead, PicklistValue, Tag
from core_crm.customers.selectors import account_list, contact_list


class PicklistField(serializers.SlugRelatedField):
    """A picklist value by its code, e.g. "manufacturing". Whether a retired value may stay
    is the customer services' rule, the same for the pages."""

    def __init__(self, picklist: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(
            slug_field="code",
            queryset=PicklistValue.objects.filter(picklist=picklist),
            **kwargs,
        )


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a record the caller may read; others are reported as not existing."""

    def __init__(self, selector: Any, **kwargs: Any) -> None:
        self.selector = selector
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        return self.selector(self.context["request"].user)


class ObjectField(serializers.Field):
    """A JSON object passed whole to a service that checks its contents; anything else is
    refused with the subclass's `not_object` message."""

    default_error_messages = {"not_object": "Send a JSON object."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        return data

    def to_representation(self, value: Any) -> dict[str, Any]:
        return dict(value or {})


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "string"},
                {"type": "integer"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}},
            ],
            "nullable": True,
        },
        "description": (
            "Values of the workspace's custom fields by key (Settings → Custom fields). "
            "Text, long text, URL, email: string; whole number: integer; decimal: string "
            '("12.50"); date: "YYYY-MM-DD"; yes/no: boolean; choice: the choice code; '
            "multiple choice: list of codes. On create and update only the keys sent change; "
            "null clears a value. Errors are named custom_fields.<key>."
        ),
        "example": {"region": "north", "contract_end": "2026-06-30"},
    }
)
class CustomFieldsField(ObjectField):
    """The record's custom values as one JSON object; the customer services check each value
    (so pages, API and imports follow the same rules)."""

    default_error_messages = {"not_object": "Send an object of field keys and values, e.g. {{}}."}


class RecordSerializer(serializers.ModelSerializer):
    owner: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    owner_name = serializers.CharField(source="owner.full_name", read_only=True)
    tags = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Tag.objects.all(), required=False
    )
    custom_fields = CustomFieldsField(required=False)

    common_read_only = ("id", "owner", "owner_name", "created_at", "updated_at")
    common_tail = ("owner", "owner_name", "created_at", "updated_at")


class AccountSerializer(RecordSerializer):
    industry = PicklistField("industry")
    source = PicklistField("source")  # type: ignore[assignment]
    status = PicklistField("account_status")
    relationship = PicklistField("relationship")
    intention = PicklistField("intention")
    parent = VisibleRelatedField(account_list)  # type: ignore[assignment]

    class Meta:
        model = Account
        fields = ("id", *ACCOUNT_FIELDS, "tags", "custom_fields", *RecordSerializer.common_tail)
        read_only_fields = RecordSerializer.common_read_only


class ContactSerializer(RecordSerializer):
    role = PicklistField("contact_role")
    account = VisibleRelatedField(account_list)
    reports_to = VisibleRelatedField(contact_list)

    class Meta:
        model = Contact
        fields = ("id", *CONTACT_FIELDS, "tags", "custom_fields", *RecordSerializer.common_tail)
        read_only_fields = RecordSerializer.common_read_only


class LeadSerializer(RecordSerializer):
    source = PicklistField("source")  # type: ignore[assignment]
    disqualify_reason = PicklistField("disqualify_reason")

    class Meta:
        model = Lead
        fields = (
            "id",
            *LEAD_FIELDS,
            "tags",
            "custom_fields",
            "converted_account",
            "converted_contact",
            "converted_at",
            *RecordSerializer.common_tail,
        )
        read_only_fields = (
            *RecordSerializer.common_read_only,
            "converted_account",
            "converted_contact",
            "converted_at",
        )


class PicklistValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = PicklistValue
        fields = ("picklist", "code", "label", "label_zh", "position", "is_active")
        read_only_fields = fields


class DuplicateMatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=["email", "phone", "name"]),
        help_text="Why it looks the same: same email, same phone, similar name at the same place.",
    )
    record = serializers.JSONField(help_text="The record, as its detail endpoint answers it.")


class DuplicateCheckSerializer(serializers.Serializer):
    matches = DuplicateMatchSerializer(
        many=True, help_text="Likely duplicates the caller may read."
    )
    hidden = serializers.IntegerField(
        help_text="How many more likely duplicates exist that the caller may not read."
    )
