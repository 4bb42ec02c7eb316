"""Writes on users. Runs in the current tenant's schema (the caller sets it)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction

from core_crm.audit.services import audit, diff, snapshot
from tenants.db import tenant_connection

from .models import User


def user_create(
    *,
    email: str,
    full_name: str,
    password: str,
    is_workspace_admin: bool = False,
    language: str = "en",
    send_verification: bool = True,
) -> User:
    """Create a user in the current tenant, record the address in the public workspace index,
    and (after commit) email them a verification link."""
    from tenants.services import workspace_member_add

    from .tasks import send_verification_email

    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name.strip(),
            is_workspace_admin=is_workspace_admin,
            language=language,
        )
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        tenant = tenant_connection().tenant
        workspace_member_add(tenant=tenant, email=email)
        if send_verification:
            schema = tenant_connection().schema_name
            transaction.on_commit(
                lambda: send_verification_email.apply_async(
                    args=(user.pk,), headers={"_schema_name": schema}
                ),
                robust=True,  # a broker outage must not fail a request whose data committed
            )
    return user


def user_set_password(*, user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


PROFILE_FIELDS = ["full_name", "language", "time_zone"]


def profile_update(user: User, *, data: dict[str, str]) -> User:
    """Save the person's own profile, audited."""
    with transaction.atomic():
        before = snapshot(user, PROFILE_FIELDS)
        for name in PROFILE_FIELDS:
            setattr(user, name, data[name])
        user.save(update_fields=PROFILE_FIELDS)
        changes = diff(before, snapshot(user, PROFILE_FIELDS))
        if changes:
            audit(obj=user, kind="update", actor=user, channel="web", changes=changes)
    return user
