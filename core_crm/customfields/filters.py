"""Filtering and sorting records by custom values: one reading of the query string for the
list pages and the REST API.

    cf_<key>=value          text, long text, URL, email: contains (case-insensitive)
                            whole number, decimal, date: equals
                            yes/no: true or false (also yes/no, 1/0)
                            choice: the code (or a label); multiple choice: has that code
    cf_<key>__gte=value     whole number, decimal, date: at least
    cf_<key>__lte=value     whole number, decimal, date: at most
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Expression, Q, QuerySet
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast, Collate
from django.utils.translation import gettext as _

from .models import RANGE_TYPES, TEXT_TYPES, CustomField, FieldType
from .values import clean_value, definitions

PREFIX = "cf_"
RANGE_SUFFIXES = {"__gte": "gte", "__lte": "lte"}


@dataclass(frozen=True)
class Condition:
    param: str
    field: CustomField
    op: str  # "eq" (contains for text, has for multiple choice), "gte" or "lte"
    value: Any  # canonical


def is_custom_param(name: str) -> bool:
    return name.startswith(PREFIX)


def value_expression(field: CustomField) -> Expression:
    """The field's value in SQL, typed so comparisons and sorting are numeric for numbers,
    by calendar for dates (ISO text compared byte-wise), by text otherwise."""
    path = f"custom_fields__{field.key}"
    if field.field_type == FieldType.DECIMAL:
        return Cast(KT(path), DecimalField(max_digits=40, decimal_places=15))
    if field.field_type in (FieldType.NUMBER, FieldType.BOOLEAN, FieldType.MULTI_CHOICE):
        return KeyTransform(field.key, "custom_fields")
    if field.field_type == FieldType.DATE:
        return Collate(KT(path), "C")
    return KT(path)


def parse(
    object_type: str,
    params: Mapping[str, Any],
    fields: Iterable[CustomField] | None = None,
) -> list[Condition]:
    """The custom-field conditions in `params`; ValidationError naming each bad parameter."""
    conditions, errors = parse_lenient(object_type, params, fields)
    if errors:
        raise ValidationError(errors)
    return conditions


def parse_lenient(
    object_type: str,
    params: Mapping[str, Any],
    fields: Iterable[CustomField] | None = None,
) -> tuple[list[Condition], dict[str, list[str]]]:
    """The good conditions of `params`, and the errors of the bad ones by parameter."""
    if not any(is_custom_param(name) for name in params):
        return [], {}  # no query for the definitions
    by_key = {
        f.key: f
        for f in (fields if fields is not None else definitions(object_type, include_archived=True))
    }
    conditions: list[Condition] = []
    errors: dict[str, list[str]] = {}
    for param in params:
        if not is_custom_param(param):
            continue
        raw = params[param]
        if isinstance(raw, list):  # a QueryDict's lists(), or repeated parameters
            raw = raw[-1] if raw else ""
        if str(raw).strip() == "":
            continue
        name, op = param.removeprefix(PREFIX), "eq"
        for suffix, suffix_op in RANGE_SUFFIXES.items():
            if name.endswith(suffix):
                name, op = name.removesuffix(suffix), suffix_op
        field = by_key.get(name)
        if field is None:
            errors[param] = [_("There is no custom field with the key “%(key)s”.") % {"key": name}]
            continue
        if op != "eq" and field.field_type not in RANGE_TYPES:
            errors[param] = [_("Only numbers and dates can be filtered by a range.")]
            continue
        if field.field_type in TEXT_TYPES:
            value: Any = str(raw).strip()
        elif field.field_type == FieldType.MULTI_CHOICE:
            try:
                value = clean_value(_as_single_choice(field), raw)
            except ValidationError as exc:
                errors[param] = list(exc.messages)
                continue
        else:
            try:
                value = clean_value(field, raw)
            except ValidationError as exc:
                errors[param] = list(exc.messages)
                continue
        conditions.append(Condition(param, field, op, value))
    return conditions, errors


def _as_single_choice(field: CustomField) -> CustomField:
    return CustomField(key=field.key, field_type=FieldType.CHOICE, choices=field.choices)


def _needs_alias(condition: Condition) -> bool:
    kind = condition.field.field_type
    return kind == FieldType.DECIMAL or (kind == FieldType.DATE and condition.op != "eq")


def _alias(field: CustomField) -> str:
    return f"cf_{field.key}_value"


def condition_q(condition: Condition) -> Q:
    field, value, op = condition.field, condition.value, condition.op
    path = f"custom_fields__{field.key}"
    if _needs_alias(condition):
        typed = Decimal(value) if field.field_type == FieldType.DECIMAL else value
        lookup = "exact" if op == "eq" else op
        return Q(**{f"{_alias(field)}__{lookup}": typed})
    if op in ("gte", "lte"):  # whole numbers: jsonb numbers compare numerically
        return Q(**{f"{path}__{op}": value})
    if field.field_type in TEXT_TYPES:
        return Q(**{f"{path}__icontains": value})
    if field.field_type == FieldType.MULTI_CHOICE:
        return Q(**{f"{path}__contains": [value]})
    return Q(**{path: value})


def apply(queryset: QuerySet[Any], conditions: Iterable[Condition]) -> QuerySet[Any]:
    for condition in conditions:
        if _needs_alias(condition):
            queryset = queryset.alias(
                **{_alias(condition.field): value_expression(condition.field)}
            )
        queryset = queryset.filter(condition_q(condition))
    return queryset


def filter_queryset(
    queryset: QuerySet[Any], object_type: str, params: Mapping[str, Any]
) -> QuerySet[Any]:
    """`queryset` narrowed by the cf_ parameters of `params` (ValidationError if bad)."""
    return apply(queryset, parse(object_type, params))
