"""Writes on custom field definitions: workspace admins only, audited, one transaction each."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model
from django.utils.translation import gettext as _

from core_crm.access.policy import require_workspace_admin
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit, diff, snapshot
from core_crm.users.models import User

from .models import CHOICE_TYPES, CustomField, FieldType, ObjectType, key_validator

EDITABLE = ("label", "label_zh", "field_type", "required", "choices", "help_text")
AUDITED = ("object_type", "key", *EDITABLE, "position", "is_active")


def record_model(object_type: str) -> type[Model]:
    from core_crm.customers.models import Account, Contact, Lead
    from core_crm.sales.models import Opportunity

    models = {"account": Account, "contact": Contact, "lead": Lead, "opportunity": Opportunity}
    return models[object_type]


def _require_admin(actor: User) -> None:
    require_workspace_admin(actor, _("Only a workspace admin can change custom fields."))


def usage_count(field: CustomField) -> int:
    """How many records hold a value in the field."""
    model = record_model(field.object_type)
    return model._default_manager.filter(custom_fields__has_key=field.key).count()


def code_usage(field: CustomField, code: str) -> int:
    model = record_model(field.object_type)
    lookup = (
        {f"custom_fields__{field.key}__contains": [code]}
        if field.field_type == FieldType.MULTI_CHOICE
        else {f"custom_fields__{field.key}": code}
    )
    return model._default_manager.filter(custom_fields__has_key=field.key, **lookup).count()


def _clean_choices(field_type: str, choices: Any) -> list[dict[str, str]]:
    if field_type not in CHOICE_TYPES:
        return []
    if not isinstance(choices, list) or not choices:
        raise ValidationError({"choices": [_("Give at least one choice.")]})
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, choice in enumerate(choices, start=1):
        if not isinstance(choice, dict):
            raise ValidationError({"choices": [_("Choice %(n)s is not valid.") % {"n": number}]})
        code = str(choice.get("code", "")).strip()
        label = str(choice.get("label", "")).strip() or code
        label_zh = str(choice.get("label_zh", "")).strip()
        try:
            key_validator(code)
        except ValidationError:
            raise ValidationError(
                {
                    "choices": [
                        _(
                            "Choice %(n)s: the code “%(code)s” may use only lower-case letters, "
                            "digits and single underscores, starting with a letter."
                        )
                        % {"n": number, "code": code}
                    ]
                }
            ) from None
        if code in seen:
            raise ValidationError(
                {"choices": [_("Choice code “%(code)s” appears twice.") % {"code": code}]}
            )
        if len(label) > 100 or len(label_zh) > 100:
            raise ValidationError(
                {
                    "choices": [
                        _("Choice %(n)s: labels have at most 100 characters.") % {"n": number}
                    ]
                }
            )
        seen.add(code)
        cleaned.append({"code": code, "label": label, "label_zh": label_zh})
    return cleaned


def _full_clean(field: CustomField) -> None:
    try:
        field.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def field_create(*, actor: User, object_type: str, key: str, data: dict[str, Any]) -> CustomField:
    """Add a field to accounts, contacts or leads; it comes last in the forms."""
    _require_admin(actor)
    if object_type not in ObjectType.values:
        raise ValidationError({"object_type": [_("Choose accounts, contacts or leads.")]})
    key = (key or "").strip()
    with transaction.atomic():
        field = CustomField(object_type=object_type, key=key)
        for name in EDITABLE:
            if name in data:
                setattr(field, name, data[name])
        field.choices = _clean_choices(field.field_type, field.choices)
        _full_clean(field)
        if CustomField.objects.filter(object_type=object_type, key=key).exists():
            raise ValidationError(
                {"key": [_("Another field of this object already uses this key.")]}
            )
        last = CustomField.objects.filter(object_type=object_type).aggregate(n=Max("position"))
        field.position = (last["n"] or 0) + 1
        field.save()
        audit(
            obj=field,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel="web",
            changes={k: [None, v] for k, v in snapshot(field, list(AUDITED)).items()},
        )
    return field


def field_update(*, actor: User, field: CustomField, data: dict[str, Any]) -> CustomField:
    """Change a field's labels, help, requiredness, choices or (while no record uses it) type.

    The key never changes: API clients, filters and saved views refer to it."""
    _require_admin(actor)
    if "key" in data and data["key"] != field.key:
        raise ValidationError({"key": [_("The key cannot change once the field exists.")]})
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        before = snapshot(field, list(AUDITED))
        old_type, old_codes = field.field_type, field.codes
        for name in EDITABLE:
            if name in data:
                setattr(field, name, data[name])
        field.choices = _clean_choices(field.field_type, field.choices)
        _full_clean(field)
        if field.field_type != old_type:
            used = usage_count(field)
            if used:
                raise ValidationError(
                    {
                        "field_type": [
                            _(
                                "The type cannot change: %(n)s records have a value in this "
                                "field. Add a new field of the other type instead."
                            )
                            % {"n": used}
                        ]
                    }
                )
        elif field.field_type in CHOICE_TYPES:
            for code in old_codes:
                if code not in field.codes:
                    used = code_usage(field, code)
                    if used:
                        raise ValidationError(
                            {
                                "choices": [
                                    _(
                                        "The choice “%(code)s” cannot be removed: %(n)s records "
                                        "use it. Relabel it instead, or change those records "
                                        "first."
                                    )
                                    % {"code": code, "n": used}
                                ]
                            }
                        )
        field.save()
        changes = diff(before, snapshot(field, list(AUDITED)))
        if changes:
            audit(
                obj=field, kind=AuditEntry.Kind.UPDATE, actor=actor, channel="web", changes=changes
            )
    return field


def field_set_active(*, actor: User, field: CustomField, active: bool) -> CustomField:
    """Archive (hide from forms, lists and filters; values stay) or restore a field."""
    _require_admin(actor)
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if field.is_active != active:
            field.is_active = active
            field.save(update_fields=["is_active", "updated_at"])
            audit(
                obj=field,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel="web",
                changes={"is_active": [not active, active]},
            )
    return field


def field_move(*, actor: User, field: CustomField, offset: int) -> None:
    """Move a field up (offset -1) or down (+1) among the fields of its object."""
    _require_admin(actor)
    with transaction.atomic():
        siblings = list(
            CustomField.objects.select_for_update().filter(object_type=field.object_type)
        )
        index = next(i for i, f in enumerate(siblings) if f.pk == field.pk)
        target = index + offset
        if not 0 <= target < len(siblings):
            return
        siblings.insert(target, siblings.pop(index))
        for position, sibling in enumerate(siblings, start=1):
            if sibling.position != position:
                sibling.position = position
                sibling.save(update_fields=["position", "updated_at"])
