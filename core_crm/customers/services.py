"""Writes on accounts, contacts and leads: permission check, invariants, audit entry, in one
transaction. The REST API and the HTML pages both call these; neither writes models itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ForeignKey, ManyToManyField, Model, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, can, may_give_to, require_create, visible
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit, audit_entry, diff, snapshot
from core_crm.customfields.values import clean_record_values
from core_crm.users.models import User

from .models import Account, Contact, Employment, Lead, PicklistValue, Tag

R = TypeVar("R", Account, Contact, Lead)

OBJECT_TYPE: dict[type[Model], str] = {Account: "account", Contact: "contact", Lead: "lead"}
# Never taken from input: who owns a record changes only through reassignment.
PROTECTED_FIELDS = {
    "id",
    "pk",
    "owner",
    "owner_id",
    "created_at",
    "updated_at",
    "converted_account",
    "converted_contact",
    "converted_at",
}


def _fields(model: type[Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name not in {"id", "updated_at"}]


def _state(obj: Model) -> dict[str, Any]:
    """What the audit trail compares: the plain fields, and each custom value on its own
    (custom_fields.<key>), so the history says which custom field changed."""
    names = [n for n in _fields(type(obj)) if n != "custom_fields"]
    values = snapshot(obj, names)
    for key, value in (getattr(obj, "custom_fields", None) or {}).items():
        values[f"custom_fields.{key}"] = value
    return values


def creation_changes(obj: Model) -> dict[str, list[Any]]:
    """What a create writes to the audit trail: every value that is set, from nothing."""
    return {k: [None, v] for k, v in _state(obj).items() if v not in (None, "", False)}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    changes = diff(before, after)
    for name, value in before.items():  # custom values that were cleared
        if name not in after and value is not None:
            changes[name] = [value, None]
    return changes


def validate_record(
    obj: Model, before: dict[str, Any] | None = None, *, known_related: Iterable[str] = ()
) -> None:
    """Model validation plus the rules that span fields; errors name their field.

    `before` (the stored values, on update) lets a record keep a picklist value that was
    retired since it was chosen, while a retired value cannot be newly chosen.
    `known_related` names foreign keys whose rows the caller has just read (an import loads a
    chunk's picklist values and accounts at once): Django's one-query-per-field check that the
    row exists is skipped for them; the database's foreign keys still guard the save."""
    errors: dict[str, list[str]] = {}
    object_type = OBJECT_TYPE.get(type(obj))
    if object_type is not None:
        # Custom values: canonical form, named errors (custom_fields.<key>), required ones.
        stored = (before or {}).get("custom_fields") if before is not None else None
        try:
            obj.custom_fields = clean_record_values(  # type: ignore[attr-defined]
                object_type, getattr(obj, "custom_fields", None), stored
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    for field in obj._meta.concrete_fields:
        if isinstance(field, ForeignKey) and field.related_model is PicklistValue:
            value = getattr(obj, field.name)
            expected = field.remote_field.limit_choices_to["picklist"]  # type: ignore[index]
            if value is not None and value.picklist != expected:
                errors.setdefault(field.name, []).append(
                    _("“%(value)s” is not a value of this list.") % {"value": value.label}
                )
            elif (
                value is not None
                and not value.is_active
                and (before is None or before.get(field.name) != value.pk)
            ):
                errors.setdefault(field.name, []).append(
                    _("“%(value)s” is retired; choose a current value.") % {"value": value.label}
                )
    if isinstance(obj, Account) and obj.parent_id is not None:
        seen, parent = {obj.pk}, obj.parent
        while parent is not None:
            if parent.pk in seen:
                errors.setdefault("parent", []).append(
                    _("An account cannot be its own parent, directly or through others.")
                )
                break
            seen.add(parent.pk)
            parent = parent.parent
    if (
        isinstance(obj, Lead)
        and obj.status == Lead.Status.DISQUALIFIED
        and not obj.disqualify_reason_id
    ):
        errors.setdefault("disqualify_reason", []).append(_("Say why the lead is disqualified."))
    try:
        obj.full_clean(
            exclude=["owner", "tags", "custom_fields", *known_related], validate_unique=False
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply(obj: Model, data: dict[str, Any]) -> dict[str, Any]:
    """Set plain fields from `data`; return the many-to-many values to set after saving."""
    m2m: dict[str, Any] = {}
    for name, value in data.items():
        if name in PROTECTED_FIELDS:
            continue
        if name == "custom_fields":
            # Given keys are set (null or "" clears one); keys not given keep their value.
            current = dict(getattr(obj, "custom_fields", None) or {})
            obj.custom_fields = (  # type: ignore[attr-defined]
                {**current, **value} if isinstance(value, dict) else value
            )
            continue
        field = obj._meta.get_field(name)
        if isinstance(field, ManyToManyField):
            m2m[name] = value
        else:
            setattr(obj, name, value)
    return m2m


def record_create(
    model: type[R], *, actor: User, data: dict[str, Any], channel: str, owner: User | None = None
) -> R:
    """Create a record owned by `owner` (default: the actor). Lead conversion passes the
    lead's owner, so the new account and contact follow the lead they came from."""
    object_type = OBJECT_TYPE[model]
    require_create(actor, object_type)
    with transaction.atomic():
        obj = model(owner=owner or actor)
        m2m = _apply(obj, data)
        validate_record(obj)
        obj.save()
        for name, values in m2m.items():
            getattr(obj, name).set(values)
        if isinstance(obj, Contact) and obj.account is not None:
            Employment.objects.create(
                contact=obj, account=obj.account, account_name=obj.account.name, title=obj.title
            )
        audit(
            obj=obj,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes=creation_changes(obj),
        )
    return obj


def record_update(obj: R, *, actor: User, data: dict[str, Any], channel: str) -> R:
    """Change fields of a record the actor may edit; audits what changed from what to what."""
    object_type = OBJECT_TYPE[type(obj)]
    if not can(actor, Action.EDIT, obj, object_type):
        raise PermissionDenied(_("Your role does not allow editing this record."))
    with transaction.atomic():
        obj = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        fields = _fields(type(obj))
        before = snapshot(obj, fields)
        before["custom_fields"] = dict(before.get("custom_fields") or {})
        audited_before = _state(obj)
        previous_account_id = getattr(obj, "account_id", None)
        m2m = _apply(obj, data)
        validate_record(obj, before)
        obj.save()
        for name, values in m2m.items():
            getattr(obj, name).set(values)
        if isinstance(obj, Contact) and obj.account_id != previous_account_id:
            _move_contact(obj)
        changes = _changes(audited_before, _state(obj))
        if changes:
            audit(
                obj=obj, kind=AuditEntry.Kind.UPDATE, actor=actor, channel=channel, changes=changes
            )
    return obj


def _move_contact(contact: Contact) -> None:
    """A contact changed company: close the current employment, open a new one."""
    today = timezone.localdate()
    Employment.objects.filter(contact=contact, ended_at__isnull=True).update(ended_at=today)
    if contact.account is not None:
        Employment.objects.create(
            contact=contact,
            account=contact.account,
            account_name=contact.account.name,
            title=contact.title,
            started_at=today,
        )


def record_delete(obj: Model, *, actor: User, channel: str) -> None:
    """Delete a record the actor may delete; the audit entry keeps its data for restoring."""
    object_type = OBJECT_TYPE[type(obj)]
    if not can(actor, Action.DELETE, obj, object_type):
        raise PermissionDenied(_("Your role does not allow deleting this record."))
    with transaction.atomic():
        audit(
            obj=obj,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(obj, _fields(type(obj))),
        )
        obj.delete()


# --- Several records at once (the list pages' bulk actions) -----------------------------------


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: records changed, and records skipped because the actor's role
    does not allow the action on them."""

    done: int
    skipped: int


def _allowed(model: type[Model], actor: User, pks: Iterable[Any], action: str) -> QuerySet[Any]:
    """The records among `pks` on which the actor may perform `action`, locked for the change."""
    return (
        visible(actor, model._default_manager.filter(pk__in=list(pks)), OBJECT_TYPE[model], action)
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def _entry(obj: Model, kind: str, actor: User, channel: str, changes: dict[str, Any]) -> AuditEntry:
    return audit_entry(obj=obj, kind=kind, actor=actor, channel=channel, changes=changes)


def records_assign_owner(
    model: type[Model], *, actor: User, pks: Iterable[Any], owner: User, channel: str
) -> BulkResult:
    """Give the records to `owner`, each one the actor may edit; the others are skipped. The
    new owner must be someone the actor may give records to (`may_give_to`, the rule imports
    and record creation use too). Every record that changes hands gets its own audit entry."""
    pks = list(pks)
    if not owner.is_active:
        raise ValidationError({"owner": [_("Records can only go to an active user.")]})
    if not may_give_to(actor, owner, OBJECT_TYPE[model]):
        raise ValidationError(
            {"owner": [_("You cannot give records to %(user)s.") % {"user": owner}]}
        )
    with transaction.atomic():
        records = list(_allowed(model, actor, pks, Action.EDIT))
        moving = [obj for obj in records if obj.owner_id != owner.pk]
        AuditEntry.objects.bulk_create(
            [
                _entry(
                    obj,
                    AuditEntry.Kind.REASSIGN,
                    actor,
                    channel,
                    {"owner": [obj.owner_id, owner.pk]},
                )
                for obj in moving
            ]
        )
        model._default_manager.filter(pk__in=[obj.pk for obj in moving]).update(
            owner=owner, updated_at=timezone.now()
        )
        if moving:
            _notify_new_owner(model, moving, owner=owner, actor=actor)
    return BulkResult(done=len(records), skipped=len(set(pks)) - len(records))


def _notify_new_owner(model: type[Model], moving: list[Any], *, owner: User, actor: User) -> None:
    """Tell the new owner what they were given (one notification per reassignment)."""
    from core_crm.notifications.services import Kind, notify

    slugs: dict[type[Model], str] = {Account: "customers", Contact: "contacts", Lead: "leads"}
    slug = slugs[model]
    params: dict[str, Any] = {"actor": actor.full_name or actor.email}
    if len(moving) == 1:
        title = gettext_lazy("%(actor)s assigned %(record)s to you")
        params["record"] = str(moving[0])
        url = reverse(f"{slug}_detail", args=[moving[0].pk])
    else:
        title = gettext_lazy("%(actor)s assigned %(count)s %(objects)s to you")
        params.update(count=len(moving), objects=model._meta.verbose_name_plural)
        url = reverse(f"{slug}_list") + "?mine=1"
    body = ", ".join(str(obj) for obj in moving[:10]) + ("…" if len(moving) > 10 else "")
    notify(owner, Kind.ASSIGNED, title, body=body, url=url, actor=actor, params=params)


def clean_tag_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"tag": [_("Choose a tag or type a new one.")]})
    if len(name) > Tag._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationError({"tag": [_("A tag has at most 60 characters.")]})
    return name


def records_add_tag(
    model: type[Model], *, actor: User, pks: Iterable[Any], tag: Tag | str, channel: str
) -> BulkResult:
    """Add a tag (an existing one, or a new one by name) to each record the actor may edit;
    the others are skipped. Each record that gains the tag gets an audit entry."""
    pks = list(pks)
    with transaction.atomic():
        if not isinstance(tag, Tag):
            name = clean_tag_name(tag)
            tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        records = list(_allowed(model, actor, pks, Action.EDIT).prefetch_related("tags"))
        through = model._meta.get_field("tags").remote_field.through  # type: ignore[union-attr]
        column = f"{model._meta.model_name}_id"
        gaining, links, entries = [], [], []
        for obj in records:
            names = [t.name for t in obj.tags.all()]
            if tag.name in names:
                continue
            gaining.append(obj)
            links.append(through(**{column: obj.pk, "tag_id": tag.pk}))
            entries.append(
                _entry(
                    obj,
                    AuditEntry.Kind.UPDATE,
                    actor,
                    channel,
                    {"tags": [names, sorted([*names, tag.name])]},
                )
            )
        through.objects.bulk_create(links, ignore_conflicts=True)
        AuditEntry.objects.bulk_create(entries)
        model._default_manager.filter(pk__in=[obj.pk for obj in gaining]).update(
            updated_at=timezone.now()
        )
    return BulkResult(done=len(records), skipped=len(set(pks)) - len(records))


def records_delete(
    model: type[Model], *, actor: User, pks: Iterable[Any], channel: str
) -> BulkResult:
    """Delete each record the actor may delete (the others are skipped); each audit entry
    keeps the record's data for restoring, as a single delete does."""
    pks = list(pks)
    with transaction.atomic():
        records = list(_allowed(model, actor, pks, Action.DELETE))
        fields = _fields(model)
        AuditEntry.objects.bulk_create(
            [
                _entry(obj, AuditEntry.Kind.DELETE, actor, channel, snapshot(obj, fields))
                for obj in records
            ]
        )
        model._default_manager.filter(pk__in=[obj.pk for obj in records]).delete()
    return BulkResult(done=len(records), skipped=len(set(pks)) - len(records))
