"""Writing audit entries; called by the services that change records, in their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from .models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, dt.date | dt.datetime | decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Model, fields: list[str]) -> dict[str, Any]:
    """The values of `fields` (foreign keys as ids), ready to compare and to store as JSON."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _plain(getattr(obj, attname))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def audit_entry(
    *, obj: Model, kind: str, actor: Any, channel: str, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """An unsaved entry, for services that write many at once with bulk_create."""
    return AuditEntry(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        object_repr=str(obj)[:300],
        kind=kind,
        changes=changes or {},
        actor=actor if getattr(actor, "pk", None) else None,
        channel=channel,
    )


def audit(
    *, obj: Model, kind: str, actor: Any, channel: str, changes: dict[str, Any] | None = None
) -> AuditEntry:
    entry = audit_entry(obj=obj, kind=kind, actor=actor, channel=channel, changes=changes)
    entry.save()
    return entry
