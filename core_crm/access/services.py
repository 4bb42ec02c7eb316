"""Writes on people and their access: deactivation with reassignment of their records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import cycle

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core_crm.audit.models import AuditEntry, Channel
from core_crm.users.models import User
from guanxi.tokens import new_token, token_hash

from .models import Invitation, Role, Team
from .policy import PermissionDenied


class AccessError(Exception):
    """An action on people or access cannot be done as asked; the message says why."""


class ReassignmentError(AccessError):
    """The reassignment asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class DeactivationResult:
    moved: dict[str, int]  # object type -> records reassigned
    new_owners: Counter[int]  # user id -> records received


def user_deactivate(
    *,
    actor: User,
    user: User,
    to_user: User | None = None,
    to_team: Team | None = None,
    children_follow: bool = True,
) -> DeactivationResult:
    """Deactivate `user` and hand every record they own to `to_user`, or round-robin to the
    active members of `to_team`. With `children_follow`, contacts of a reassigned account go
    to that account's new owner. Each move is audited; the user's sessions and API tokens end.
    """
    from django.contrib.sessions.models import Session

    from core_crm.api.models import PersonalAccessToken
    from core_crm.customers.models import Account, Contact, Lead
    from tenants.db import tenant_connection
    from tenants.services import workspace_member_remove

    if not actor.is_workspace_admin:
        raise PermissionDenied(_("Only a workspace admin can deactivate users."))
    if user.pk == actor.pk:
        raise ReassignmentError(_("You cannot deactivate yourself."))
    if (to_user is None) == (to_team is None):
        raise ReassignmentError(_("Choose either a user or a team to receive the records."))
    if to_user is not None:
        if not to_user.is_active or to_user.pk == user.pk:
            raise ReassignmentError(_("Records can only go to another active user."))
        receivers = [to_user]
    else:
        assert to_team is not None
        receivers = list(to_team.members.filter(is_active=True).exclude(pk=user.pk).order_by("pk"))
        if not receivers:
            raise ReassignmentError(_("The team has no other active member."))
    next_owner = cycle(receivers)
    moved: Counter[str] = Counter()
    received: Counter[int] = Counter()
    entries: list[AuditEntry] = []

    def move(obj: Account | Contact | Lead, new_owner: User, label: str) -> None:
        entries.append(
            AuditEntry(
                content_type=ContentType.objects.get_for_model(type(obj)),
                object_id=obj.pk,
                object_repr=str(obj)[:300],
                kind=AuditEntry.Kind.REASSIGN,
                changes={"owner": [user.pk, new_owner.pk]},
                actor=actor,
                channel=Channel.WEB,
            )
        )
        obj.owner = new_owner
        obj.save(update_fields=["owner", "updated_at"])
        moved[label] += 1
        received[new_owner.pk] += 1

    with transaction.atomic():
        account_owner: dict[int, User] = {}
        for account in Account.objects.select_for_update().filter(owner=user).order_by("pk"):
            owner = next(next_owner)
            account_owner[account.pk] = owner
            move(account, owner, "account")
        for contact in Contact.objects.select_for_update().filter(owner=user).order_by("pk"):
            parent_owner = account_owner.get(contact.account_id or 0)
            owner = parent_owner if children_follow and parent_owner else next(next_owner)
            move(contact, owner, "contact")
        for lead in Lead.objects.select_for_update().filter(owner=user).order_by("pk"):
            move(lead, next(next_owner), "lead")
        AuditEntry.objects.bulk_create(entries)

        user.is_active = False
        user.save(update_fields=["is_active"])
        PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
                session.delete()
        workspace_member_remove(tenant=tenant_connection().tenant, email=user.email)
    return DeactivationResult(moved=dict(moved), new_owners=received)


INVITATION_DAYS = 7


def invitation_create(*, actor: User, email: str, role: Role, team: Team | None = None) -> str:
    """Invite `email`; the link goes out by email after commit. Returns the raw token."""
    from datetime import timedelta

    from .tasks import send_invitation

    if not actor.is_workspace_admin:
        raise PermissionDenied(_("Only a workspace admin can invite people."))
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email, is_active=True).exists():
        raise AccessError(_("%(email)s already works in this workspace.") % {"email": email})
    token = new_token()
    with transaction.atomic():
        Invitation.objects.filter(
            email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            team=team,
            invited_by=actor,
            token_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        schema = _schema_name()
        transaction.on_commit(
            lambda: send_invitation.apply_async(
                args=(invitation.pk, token), headers={"_schema_name": schema}
            ),
            robust=True,  # a broker outage must not fail a request whose data committed
        )
    return token


def _schema_name() -> str:
    from tenants.db import tenant_connection

    return tenant_connection().schema_name


def invitation_for_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.pending()
        .filter(token_hash=token_hash(token))
        .select_related("role", "team")
        .first()
    )


def invitation_accept(*, token: str, full_name: str, password: str) -> User:
    """Create the invited user with the invitation's role and team; the link proved the
    address, so it is recorded as verified."""
    from allauth.account.models import EmailAddress

    from core_crm.users.services import user_create

    with transaction.atomic():
        invitation = invitation_for_token(token)
        if invitation is None:
            raise AccessError(_("This invitation has expired, was revoked or was used."))
        Invitation.objects.select_for_update().filter(pk=invitation.pk).update(
            accepted_at=timezone.now()
        )
        user = user_create(
            email=invitation.email, full_name=full_name, password=password, send_verification=False
        )
        user.role = invitation.role
        user.save(update_fields=["role"])
        if invitation.team is not None:
            invitation.team.members.add(user)
        EmailAddress.objects.filter(user=user).update(verified=True)
    return user


def invitation_revoke(*, actor: User, invitation_id: int) -> bool:
    if not actor.is_workspace_admin:
        raise PermissionDenied(_("Only a workspace admin can revoke invitations."))
    return bool(
        Invitation.objects.filter(
            pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    )


def user_set_role(*, actor: User, user: User, role: Role, teams: list[Team]) -> None:
    if not actor.is_workspace_admin:
        raise PermissionDenied(_("Only a workspace admin can change roles."))
    with transaction.atomic():
        user.role = role
        user.save(update_fields=["role"])
        user.teams.set(teams)
