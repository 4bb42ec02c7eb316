"""Custom fields of every type, made through the definition services."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from core_crm.customfields import services
from core_crm.customfields.models import CustomField
from core_crm.users.models import User

CHOICES = [
    {"code": "north", "label": "North", "label_zh": "北方"},
    {"code": "south", "label": "South", "label_zh": "南方"},
]
CHANNELS = [
    {"code": "web", "label": "Web", "label_zh": "网站"},
    {"code": "fair", "label": "Trade fair", "label_zh": "展会"},
    {"code": "phone", "label": "Phone", "label_zh": "电话"},
]
# key -> (type, extra data)
ALL_TYPES: dict[str, tuple[str, dict]] = {
    "nickname": ("text", {}),
    "background": ("long_text", {}),
    "staff": ("number", {}),
    "credit": ("decimal", {}),
    "renewal": ("date", {}),
    "vip": ("boolean", {}),
    "region": ("choice", {"choices": CHOICES}),
    "channels": ("multi_choice", {"choices": CHANNELS}),
    "portal": ("url", {}),
    "billing_email": ("email", {}),
}


def admin_of(tenant) -> User:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return User.objects.filter(is_workspace_admin=True).order_by("pk")[0]


def make_field(tenant, object_type: str, key: str, field_type: str, **data) -> CustomField:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return services.field_create(
            actor=admin_of(tenant),
            object_type=object_type,
            key=key,
            data={
                "label": data.pop("label", key.replace("_", " ").title()),
                "field_type": field_type,
                **data,
            },
        )


def make_all_types(tenant, object_type: str = "account") -> dict[str, CustomField]:  # type: ignore[no-untyped-def]
    return {
        key: make_field(tenant, object_type, key, field_type, **dict(extra))
        for key, (field_type, extra) in ALL_TYPES.items()
    }
