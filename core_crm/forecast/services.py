"""Writes on quotas: permission check, named errors, one transaction, audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core_crm.access.models import Team
from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit

from .models import PeriodKind, Quota
from .permissions import may_set_quota, settable_teams, settable_users

if TYPE_CHECKING:
    from core_crm.users.models import User

MAX_QUOTA = Decimal("9999999999999999.99")


def clean_amount(value: Any, field: str = "amount") -> Decimal | None:
    """A quota amount: blank means none; otherwise a number of at most two decimals, zero or
    more. ValidationError names `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number, e.g. 250000.")]}) from None
    if not amount.is_finite():
        raise ValidationError({field: [_("Enter a number, e.g. 250000.")]})
    if amount < 0:
        raise ValidationError({field: [_("A quota cannot be negative.")]})
    if amount > MAX_QUOTA:
        raise ValidationError({field: [_("This quota is too large.")]})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: [_("Use at most two decimals.")]})
    return amount


def clean_period(kind: str, start: dt.date) -> None:
    if kind not in PeriodKind.values:
        raise ValidationError({"period_kind": [_("Choose month or quarter.")]})
    if start.day != 1 or (kind == PeriodKind.QUARTER and start.month not in (1, 4, 7, 10)):
        raise ValidationError(
            {
                "period_start": [
                    _(
                        "A month starts on its first day; a quarter on 1 January, April, "
                        "July or October."
                    )
                ]
            }
        )


def _refuse(user: User | None, team: Team | None) -> PermissionDenied:
    who = str(user or team)
    return PermissionDenied(
        _(
            "You cannot set the quota of %(who)s. Quotas are set by workspace admins and by "
            "managers for the members of their teams."
        )
        % {"who": who}
    )


@dataclass(frozen=True)
class QuotaChange:
    """One cell of the quota grid: whose, which period, and the new amount (None: no quota)."""

    period_kind: str
    period_start: dt.date
    amount: Decimal | None
    user: User | None = None
    team: Team | None = None


def _apply(change: QuotaChange, *, actor: User, channel: str) -> Quota | None:
    owner = {"user": change.user} if change.user is not None else {"team": change.team}
    existing = (
        Quota.objects.select_for_update()
        .filter(**owner, period_kind=change.period_kind, period_start=change.period_start)
        .first()
    )
    if change.amount is None:
        if existing is not None:
            audit(
                obj=existing,
                kind=AuditEntry.Kind.DELETE,
                actor=actor,
                channel=channel,
                changes={"amount": [str(existing.amount), None]},
            )
            existing.delete()
        return None
    if existing is None:
        quota = Quota.objects.create(
            **owner,
            period_kind=change.period_kind,
            period_start=change.period_start,
            amount=change.amount,
            updated_by=actor,
        )
        audit(
            obj=quota,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={
                "amount": [None, str(quota.amount)],
                "period_kind": [None, quota.period_kind],
                "period_start": [None, str(quota.period_start)],
                "user" if change.user is not None else "team": [
                    None,
                    (change.user or change.team).pk,  # type: ignore[union-attr]
                ],
            },
        )
        return quota
    if existing.amount != change.amount:
        before = str(existing.amount)
        existing.amount, existing.updated_by, existing.updated_at = (
            change.amount,
            actor,
            timezone.now(),
        )
        existing.save(update_fields=["amount", "updated_by", "updated_at"])
        audit(
            obj=existing,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={"amount": [before, str(existing.amount)]},
        )
    return existing


def quota_set(
    *,
    actor: User,
    period_kind: str,
    period_start: dt.date,
    amount: Any,
    user: User | None = None,
    team: Team | None = None,
    channel: str,
) -> Quota | None:
    """Set (or, with a blank amount, remove) the quota of `user` or `team` for one period."""
    if (user is None) == (team is None):
        raise ValidationError({"user": [_("Give either a person or a team.")]})
    clean_period(period_kind, period_start)
    cleaned = clean_amount(amount)
    if not may_set_quota(actor, user=user, team=team):
        raise _refuse(user, team)
    change = QuotaChange(period_kind, period_start, cleaned, user=user, team=team)
    with transaction.atomic():
        return _apply(change, actor=actor, channel=channel)


def quotas_save(*, actor: User, cells: dict[str, QuotaChange], channel: str) -> int:
    """Save the grid's cells, all or nothing: every changed cell must be one the actor may
    set. Returns how many quotas changed. `cells` is keyed by the grid's field names, which
    the errors name. Unchanged cells cost no query."""
    user_ids = set(settable_users(actor).values_list("pk", flat=True))
    team_ids = set(settable_teams(actor).values_list("pk", flat=True))
    current = {
        (q.user_id, q.team_id, q.period_kind, q.period_start): q.amount
        for q in Quota.objects.filter(
            period_start__in={c.period_start for c in cells.values()}
        ).only("user_id", "team_id", "period_kind", "period_start", "amount")
    }
    errors: dict[str, list[str]] = {}
    changes: list[QuotaChange] = []
    for name, change in cells.items():
        key = (
            change.user.pk if change.user else None,
            change.team.pk if change.team else None,
            change.period_kind,
            change.period_start,
        )
        if current.get(key) == change.amount:
            continue
        try:
            clean_period(change.period_kind, change.period_start)
        except ValidationError as exc:
            errors[name] = [str(m) for msgs in exc.message_dict.values() for m in msgs]
            continue
        allowed = (change.user is not None and change.user.pk in user_ids) or (
            change.team is not None and change.team.pk in team_ids
        )
        if not allowed or not actor.is_active:
            errors[name] = [str(_refuse(change.user, change.team))]
            continue
        changes.append(change)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for change in changes:
            _apply(change, actor=actor, channel=channel)
    return len(changes)


def quota_delete(quota: Quota, *, actor: User, channel: str) -> None:
    if not may_set_quota(actor, user=quota.user, team=quota.team):
        raise _refuse(quota.user, quota.team)
    with transaction.atomic():
        _apply(
            QuotaChange(
                quota.period_kind, quota.period_start, None, user=quota.user, team=quota.team
            ),
            actor=actor,
            channel=channel,
        )
