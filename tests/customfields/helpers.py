"""Custom fields of every type, made through the definition services."""

from __future__ import annotations

import re

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


def user_with_role(tenant, email: str, role_key: str | None, admin: bool = False) -> User:  # type: ignore[no-untyped-def]
    """A user of `tenant` with a role (created if needed)."""
    from core_crm.access.models import Role

    with tenant_context(tenant):
        role = Role.objects.get(key=role_key) if role_key else None
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password="x" * 12, full_name=email.split("@")[0].title(), role=role
            )
        user.role, user.is_workspace_admin = role, admin
        user.save()
        return user


def client_for(tenant, email: str):  # type: ignore[no-untyped-def]
    """A browser-like client of `tenant`'s host, signed in as `email`."""
    from django.test import Client

    from ..conftest import sign_in

    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    sign_in(client, tenant, email)
    return client


# --- Reading list pages -------------------------------------------------------------


def table(page: str) -> str:
    return page.split('data-testid="record-table"')[1].split("</table>")[0]


def row_names(page: str) -> list[str]:
    return re.findall(
        r'class="font-medium text-indigo-700 hover:underline" href="[^"]+">([^<]+)</a>', table(page)
    )


def headers(page: str) -> list[str]:
    return re.findall(r'data-column="([^"]+)"', table(page))
