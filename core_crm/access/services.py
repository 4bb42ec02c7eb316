"""Writes on people and their access: invitations, roles and teams, deactivation with
reassignment of their records, and the roles' permission matrices."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import cycle

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit, audit_entry
from core_crm.users.models import User
from guanxi.tokens import new_token, token_hash

from .models import OBJECT_TYPES, SCOPE_ORDER, Action, Invitation, Role, Scope, Team
from .policy import PermissionDenied, require_workspace_admin


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
            audit_entry(
                obj=obj,
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


# --- Roles ------------------------------------------------------------------------------------

ADMIN_ROLE_KEY = "admin"
# The scope choices each action takes: `create` is allowed (all) or not (none), see
# `policy.require_create`; the others reach all, team, own or no records.
SCOPES_FOR_ACTION: dict[str, tuple[str, ...]] = {
    action: (Scope.ALL, Scope.NONE)
    if action == Action.CREATE
    else (Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE)
    for action in Action.values
}


def full_permissions() -> dict[str, dict[str, str]]:
    return {obj: {action: Scope.ALL for action in Action.values} for obj in OBJECT_TYPES}


def _require_admin(actor: User) -> None:
    require_workspace_admin(actor, _("Only a workspace admin can change roles."))


def _clean_role_name(name: str, exclude: int | None = None) -> str:
    name = (name or "").strip()
    max_length = Role._meta.get_field("name").max_length or 100
    if not name:
        raise ValidationError({"name": [_("Enter a name for the role.")]})
    if len(name) > max_length:
        raise ValidationError({"name": [_("At most %(n)d characters.") % {"n": max_length}]})
    others = Role.objects.filter(name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ValidationError(
            {"name": [_("Another role is already called “%(name)s”.") % {"name": name}]}
        )
    return name


def clean_permissions(
    role: Role, permissions: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The complete matrix (every object type and action), or a ValidationError whose keys
    name the cells ("account.edit")."""
    errors: dict[str, list[str]] = {}
    matrix: dict[str, dict[str, str]] = {}
    for obj in OBJECT_TYPES:
        given = permissions.get(obj) or {}
        matrix[obj] = {}
        for action in Action.values:
            scope = given.get(action, Scope.NONE)
            cell = f"{obj}.{action}"
            if scope not in SCOPES_FOR_ACTION[action]:
                errors[cell] = [_("Choose one of the offered scopes.")]
                continue
            matrix[obj][action] = scope
    unknown = set(permissions) - set(OBJECT_TYPES)
    if unknown:
        errors["permissions"] = [_("Unknown object type “%(t)s”.") % {"t": sorted(unknown)[0]}]
    reach = [str(scope) for scope in SCOPE_ORDER]  # narrowest first
    for obj, actions in matrix.items():
        read = actions.get(Action.READ)
        if read is None:
            continue
        for action in (Action.EDIT, Action.DELETE, Action.EXPORT):
            wider = actions.get(action)
            if wider is not None and reach.index(wider) > reach.index(read):
                errors.setdefault(f"{obj}.{action}", []).append(
                    _("Reaches further than read: people can only act on records they can read.")
                )
        if actions.get(Action.CREATE) == Scope.ALL and read == Scope.NONE:
            errors.setdefault(f"{obj}.create", []).append(
                _(
                    "Creating needs read of at least their own records, or people lose "
                    "sight of what they create."
                )
            )
    if role.key == ADMIN_ROLE_KEY and matrix != full_permissions():
        errors.setdefault("permissions", []).append(
            _(
                "The Administrator role keeps full rights on everything, so the workspace "
                "can never be locked out."
            )
        )
    if errors:
        raise ValidationError(errors)
    return matrix


def _new_role_key(name: str) -> str:
    max_length = Role._meta.get_field("key").max_length or 50
    base = slugify(name).replace("-", "_")[: max_length - 4].strip("_") or "role"
    taken = set(Role.objects.filter(key__startswith=base).values_list("key", flat=True))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def role_create(
    *,
    actor: User,
    name: str,
    copy_from: Role | None,
    permissions: dict[str, dict[str, str]] | None = None,
    channel: str = Channel.WEB,
) -> Role:
    """A new role with the permissions of `copy_from` (or none at all), changed by the cells
    of `permissions` when given; one audit entry says where it came from."""
    _require_admin(actor)
    with transaction.atomic():
        name = _clean_role_name(name)
        start = copy_from.permissions if copy_from is not None else {}
        grid = {obj: dict(start.get(obj, {})) for obj in OBJECT_TYPES}
        for obj, cells in (permissions or {}).items():
            grid.setdefault(obj, {}).update(cells)
        role = Role(
            key=_new_role_key(name),
            name=name,
            permissions=clean_permissions(Role(key=""), grid),
        )
        role.save()
        audit(
            obj=role,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={
                "name": [None, role.name],
                "copied_from": [None, copy_from.key if copy_from is not None else None],
                "permissions": [None, role.permissions],
            },
        )
    return role


def role_update(
    *,
    actor: User,
    role: Role,
    name: str,
    permissions: dict[str, dict[str, str]],
    channel: str = Channel.WEB,
) -> Role:
    """Rename a role and set its permission matrix. People holding it get the new rights on
    their next request (nothing caches a role). The Administrator role keeps full rights."""
    _require_admin(actor)
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        errors: dict[str, list[str]] = {}
        try:
            name = _clean_role_name(name, exclude=role.pk)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        try:
            matrix = clean_permissions(role, permissions)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        changes: dict[str, list[object]] = {}
        if role.name != name:
            changes["name"] = [role.name, name]
        for obj in OBJECT_TYPES:
            for action in Action.values:
                old, new = role.scope(obj, action), matrix[obj][action]
                if old != new:
                    changes[f"{obj}.{action}"] = [old, new]
        if changes:
            role.name, role.permissions = name, matrix
            role.save(update_fields=["name", "permissions"])
            audit(
                obj=role,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
    return role


def role_delete_blockers(role: Role) -> list[str]:
    """Why `role` cannot be deleted (nothing: it can)."""
    reasons = []
    if role.key == ADMIN_ROLE_KEY:
        reasons.append(_("The Administrator role cannot be deleted."))
    holders = User.objects.filter(role=role).count()
    if holders:
        reasons.append(
            ngettext(
                "%(n)d person holds this role; give them another role first.",
                "%(n)d people hold this role; give them another role first.",
                holders,
            )
            % {"n": holders}
        )
    pending = Invitation.objects.pending().filter(role=role).count()
    if pending:
        reasons.append(
            ngettext(
                "%(n)d pending invitation offers this role; revoke it first.",
                "%(n)d pending invitations offer this role; revoke them first.",
                pending,
            )
            % {"n": pending}
        )
    return reasons


def role_delete(*, actor: User, role: Role, channel: str = Channel.WEB) -> None:
    """Delete a role nobody holds and no pending invitation offers. Invitations with it that
    were used, revoked or have expired go with it: they can never be used again."""
    _require_admin(actor)
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        blockers = role_delete_blockers(role)
        if blockers:
            raise AccessError(" ".join(blockers))
        audit(
            obj=role,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes={"key": role.key, "name": role.name, "permissions": role.permissions},
        )
        Invitation.objects.filter(role=role).delete()
        role.delete()
