"""An opportunity's audit trail as people read it.

Audit entries store plain values: field names as keys, foreign keys as ids, choices as their
codes, dates and decimals as strings (see core_crm/audit/services.py). This turns the entries
shown on the detail page into labelled lines in the reader's language and time zone. Ids are
resolved in a fixed number of queries: the ids of all shown entries are collected first, then
read with one query per model. Accounts, contacts and leads are read through record security,
so a history never names a record the reader may not see.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core_crm.audit.models import AuditEntry
from core_crm.customers import selectors as customer_selectors
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.customfields.models import CustomField
from core_crm.customfields.values import definitions, is_empty
from core_crm.customfields.values import display as cf_display
from core_crm.users.models import User

from .models import Opportunity, Pipeline, Stage

OBJECT_TYPE = "opportunity"
EMPTY = "—"
CUSTOM_PREFIX = "custom_fields."
# Entries whose changes are listed: the others hold a whole record (deletes) or every value
# set at creation, which the detail page shows already.
LISTED_KINDS = {AuditEntry.Kind.UPDATE, AuditEntry.Kind.REASSIGN}
# Kept by the services with every stage move, at the entry's own time: the stage line says it.
UNLISTED_FIELDS = {"stage_changed_at"}


def _part_labels() -> dict[str, str]:
    """Names in the trail that are no model field with a label: the deal's parts (their
    values are text already) and the base amount the services keep."""
    return {
        "contact_roles": _("Contact roles"),
        "team": _("Deal team"),
        "competitors": _("Competitors"),
        "amount_base": _("Amount in base currency"),
    }


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryItem:
    entry: AuditEntry
    changes: list[FieldChange]


Names = dict[Any, str]


def _stage_names(ids: set[int], user: User, language: str) -> Names:
    return {s.pk: s.display(language) for s in Stage.objects.filter(pk__in=ids)}


def _pipeline_names(ids: set[int], user: User, language: str) -> Names:
    return {p.pk: p.display(language) for p in Pipeline.objects.filter(pk__in=ids)}


def _picklist_labels(ids: set[int], user: User, language: str) -> Names:
    return {v.pk: v.display(language) for v in PicklistValue.objects.filter(pk__in=ids)}


def _user_names(ids: set[int], user: User, language: str) -> Names:
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}


def _account_names(ids: set[int], user: User, language: str) -> Names:
    return {a.pk: str(a) for a in customer_selectors.account_list(user).filter(pk__in=ids)}


def _contact_names(ids: set[int], user: User, language: str) -> Names:
    return {c.pk: str(c) for c in customer_selectors.contact_list(user).filter(pk__in=ids)}


def _lead_names(ids: set[int], user: User, language: str) -> Names:
    return {lead.pk: str(lead) for lead in customer_selectors.lead_list(user).filter(pk__in=ids)}


# Per related model: how its rows are named; one query each, for all ids at once.
RESOLVERS: dict[type[models.Model], Callable[[set[int], User, str], Names]] = {
    Stage: _stage_names,
    Pipeline: _pipeline_names,
    PicklistValue: _picklist_labels,
    User: _user_names,
    Account: _account_names,
    Contact: _contact_names,
    Lead: _lead_names,
}
# Records read through record security: a row not found is one the reader may not see.
SECURED = {Account, Contact, Lead}


def _model_field(name: str) -> models.Field[Any, Any] | None:
    try:
        field = Opportunity._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def _related_model(field: models.Field[Any, Any] | None) -> type[models.Model] | None:
    if field is None or not field.many_to_one:
        return None
    model = field.related_model
    return model if isinstance(model, type) and model in RESOLVERS else None


def _pairs(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    if entry.kind not in LISTED_KINDS or not isinstance(entry.changes, dict):
        return []
    return [
        (name, pair[0], pair[1])
        for name, pair in entry.changes.items()
        if isinstance(pair, list | tuple) and len(pair) == 2 and name not in UNLISTED_FIELDS
    ]


def _plain(field: models.Field[Any, Any] | None, value: Any) -> str:
    """A stored value of a model field (or of no field) as text; None and '' read '—'."""
    if value is None or value == "":
        return EMPTY
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.DateTimeField):
        moment = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
        if moment is None:
            return str(value)
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return str(date_filter(moment, "SHORT_DATETIME_FORMAT"))
    if isinstance(field, models.DateField):
        day = value if isinstance(value, dt.date) else parse_date(str(value))
        return str(date_filter(day, "SHORT_DATE_FORMAT")) if day else str(value)
    if isinstance(field, models.DecimalField):
        try:
            return str(floatformat(decimal.Decimal(str(value)), "2g"))
        except decimal.InvalidOperation:
            return str(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def readable_history(
    entries: Iterable[AuditEntry], *, user: User, language: str
) -> list[HistoryItem]:
    """The entries with their changes labelled and their values as people read them."""
    entries = list(entries)
    ids: dict[type[models.Model], set[int]] = defaultdict(set)
    has_custom = False
    for entry in entries:
        for name, old, new in _pairs(entry):
            has_custom = has_custom or name.startswith(CUSTOM_PREFIX)
            model = _related_model(_model_field(name))
            if model is not None:
                ids[model].update(v for v in (old, new) if isinstance(v, int))
    names = {model: RESOLVERS[model](found, user, language) for model, found in ids.items()}
    custom: dict[str, CustomField] = (
        {f.key: f for f in definitions(OBJECT_TYPE, include_archived=True)} if has_custom else {}
    )
    parts = _part_labels()

    def label(name: str) -> str:
        if name.startswith(CUSTOM_PREFIX):
            definition = custom.get(name.removeprefix(CUSTOM_PREFIX))
            return definition.display_label(language) if definition else name
        if name in parts:
            return parts[name]
        field = _model_field(name)
        return capfirst(str(field.verbose_name)) if field is not None else name

    def value(name: str, raw: Any) -> str:
        if raw is None or raw == "":
            return EMPTY
        if name.startswith(CUSTOM_PREFIX):
            definition = custom.get(name.removeprefix(CUSTOM_PREFIX))
            if definition is None:
                return str(raw)
            return EMPTY if is_empty(raw) else cf_display(definition, raw, language) or EMPTY
        field = _model_field(name)
        model = _related_model(field)
        if model is not None:
            found = names.get(model, {}).get(raw)
            if found is not None:
                return found
            return _("(not visible to you)") if model in SECURED else str(raw)
        return _plain(field, raw)

    return [
        HistoryItem(
            entry=entry,
            changes=[
                FieldChange(label=label(name), old=value(name, old), new=value(name, new))
                for name, old, new in _pairs(entry)
            ],
        )
        for entry in entries
    ]
