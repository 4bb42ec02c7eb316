"""Custom field values: checking them, their canonical JSON form, and showing them.

Canonical form, whatever path the value came by (form, API, import):
text, long text, URL, email → string; whole number → JSON number; decimal → string
("12.50", so no precision is lost to floating point); date → "YYYY-MM-DD"; yes/no → true or
false; choice → the choice's code; multiple choice → list of codes in the field's order.
An empty value is not stored: the key is absent from the record's `custom_fields`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tenants.db import tenant_connection

from .models import CustomField, FieldType

TEXT_MAX = 255
LONG_TEXT_MAX = 10_000
URL_MAX = 500
DECIMAL_MAX_DIGITS = 20
NUMBER_LIMIT = 10**15  # whole numbers stay exact in JavaScript clients too
# Yes/no as people type them in forms and spreadsheets (also read by imports for standard fields).
TRUE_WORDS = {"true", "1", "yes", "y", "on", "x", "\u2713", "是", "对", "真"}
FALSE_WORDS = {"false", "0", "no", "n", "off", "否", "不", "假"}
# Commas and semicolons, also the full-width ones and the enumeration comma of Chinese text.
LIST_SEPARATORS = re.compile("\\s*[,;\uff0c\uff1b\u3001]\\s*")


_loaded: ContextVar[dict[tuple[str, str, bool], list[CustomField]] | None] = ContextVar(
    "custom_field_definitions", default=None
)


@contextmanager
def definitions_loaded_once() -> Iterator[None]:
    """Within the block, each workspace's definitions are read once, not once per record:
    for work that validates many records in a row (imports)."""
    token = _loaded.set({})
    try:
        yield
    finally:
        _loaded.reset(token)


def definitions(object_type: str, *, include_archived: bool = False) -> list[CustomField]:
    """The object type's fields in display order (active ones unless asked otherwise)."""
    loaded = _loaded.get()
    key = (tenant_connection().schema_name, object_type, include_archived)
    if loaded is not None and key in loaded:
        return loaded[key]
    fields = CustomField.objects.filter(object_type=object_type)
    if not include_archived:
        fields = fields.filter(is_active=True)
    result = list(fields)
    if loaded is not None:
        loaded[key] = result
    return result


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def clean_value(field: CustomField, raw: Any) -> Any:
    """The canonical value of `raw` for `field`, or None when empty; ValidationError with a
    message a person can act on when the value does not fit."""
    if isinstance(raw, str):
        raw = raw.strip()
    if is_empty(raw):
        return None
    cleaner = _CLEANERS[FieldType(field.field_type)]
    return cleaner(field, raw)


def _text(limit: int) -> Any:
    def clean(field: CustomField, raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValidationError(_("Enter text."))
        if len(raw) > limit:
            raise ValidationError(
                _("At most %(n)s characters (this has %(m)s).") % {"n": limit, "m": len(raw)}
            )
        return raw

    return clean


def _number(field: CustomField, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValidationError(_("Enter a whole number."))
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = decimal.Decimal(raw.replace(",", ""))
        except decimal.InvalidOperation:
            raise ValidationError(_("Enter a whole number.")) from None
    if isinstance(value, float):
        value = decimal.Decimal(str(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValidationError(_("Enter a whole number."))
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(_("Enter a whole number."))
    if abs(value) >= NUMBER_LIMIT:
        raise ValidationError(_("The number is too large."))
    return value


def _decimal(field: CustomField, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | decimal.Decimal):
        raise ValidationError(_("Enter a number."))
    try:
        value = decimal.Decimal(str(raw).replace(",", "") if isinstance(raw, str) else str(raw))
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter a number.")) from None
    if not value.is_finite():
        raise ValidationError(_("Enter a number."))
    digits = value.as_tuple().digits
    if len(digits) > DECIMAL_MAX_DIGITS:
        raise ValidationError(
            _("At most %(n)s digits in total.") % {"n": DECIMAL_MAX_DIGITS},
        )
    return format(value, "f")


def _date(field: CustomField, raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        raise ValidationError(_("Enter a date (YYYY-MM-DD) without a time."))
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise ValidationError(_("Enter a date as YYYY-MM-DD, e.g. 2025-03-31."))


def _boolean(field: CustomField, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Enter yes or no (true or false)."))


def _code(field: CustomField, raw: Any) -> str:
    """A choice by its code, or by its English or Chinese label (as a spreadsheet has it)."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValidationError(_("Choose one of the field's choices."))
    text = str(raw).strip()
    for choice in field.choices or []:
        if text == choice["code"]:
            return str(choice["code"])
    lowered = text.lower()
    for choice in field.choices or []:
        labels = (choice.get("label", ""), choice.get("label_zh", ""))
        if lowered in {str(label).strip().lower() for label in labels if label}:
            return str(choice["code"])
    raise ValidationError(
        _("“%(value)s” is not one of the choices (%(codes)s).")
        % {"value": text, "codes": ", ".join(field.codes)}
    )


def _choice(field: CustomField, raw: Any) -> str:
    return _code(field, raw)


def _multi_choice(field: CustomField, raw: Any) -> list[str] | None:
    items: Iterable[Any]
    if isinstance(raw, str):
        items = [part for part in LIST_SEPARATORS.split(raw) if part]
    elif isinstance(raw, list | tuple | set | frozenset):
        items = raw
    else:
        raise ValidationError(_("Send a list of choice codes."))
    chosen = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        chosen.add(_code(field, item))
    ordered = [code for code in field.codes if code in chosen]
    return ordered or None


def _url(field: CustomField, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("Enter a web address."))
    value = raw if "://" in raw else f"https://{raw}"
    if len(value) > URL_MAX:
        raise ValidationError(_("At most %(n)s characters.") % {"n": URL_MAX})
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise ValidationError(_("Enter a web address, e.g. https://example.com.")) from None
    return value


def _email(field: CustomField, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("Enter an email address."))
    try:
        EmailValidator()(raw)
    except ValidationError:
        raise ValidationError(_("Enter an email address, e.g. name@example.com.")) from None
    if len(raw) > TEXT_MAX:
        raise ValidationError(_("At most %(n)s characters.") % {"n": TEXT_MAX})
    return raw


_CLEANERS: dict[FieldType, Any] = {
    FieldType.TEXT: _text(TEXT_MAX),
    FieldType.LONG_TEXT: _text(LONG_TEXT_MAX),
    FieldType.NUMBER: _number,
    FieldType.DECIMAL: _decimal,
    FieldType.DATE: _date,
    FieldType.BOOLEAN: _boolean,
    FieldType.CHOICE: _choice,
    FieldType.MULTI_CHOICE: _multi_choice,
    FieldType.URL: _url,
    FieldType.EMAIL: _email,
}


def error_key(key: str) -> str:
    """How an error on a custom field is named: custom_fields.<key>."""
    return f"custom_fields.{key}"


def clean_record_values(
    object_type: str, values: Any, stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The record's complete, canonical custom values, given the values it is to have and
    those stored before (None for a new record).

    Every value that differs from the stored one is checked: unknown keys are refused, an
    archived field keeps its value but cannot be changed, and every active required field
    must end up with a value. Errors are named `custom_fields.<key>` (or `custom_fields` when
    the values are not an object at all)."""
    stored = dict(stored or {})
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValidationError(
            {"custom_fields": [_("Send an object of field keys and values, e.g. {}.")]}
        )
    fields = {f.key: f for f in definitions(object_type, include_archived=True)}
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] = {}
    for key, raw in values.items():
        field = fields.get(str(key))
        if key in stored and raw == stored[key] and not is_empty(raw):
            result[key] = raw  # unchanged: kept as stored
            continue
        if field is None:
            if is_empty(raw):
                continue
            errors[error_key(str(key))] = [_("There is no such field.")]
            continue
        try:
            value = clean_value(field, raw)
        except ValidationError as exc:
            errors[error_key(field.key)] = list(exc.messages)
            continue
        if not field.is_active and value != stored.get(key):
            errors[error_key(field.key)] = [
                _("This field is archived; its value cannot be changed.")
            ]
            continue
        if value is not None:
            result[key] = value
    for key, field in fields.items():
        if (
            field.is_active
            and field.required
            and result.get(key) is None
            and error_key(key) not in errors
        ):
            errors[error_key(key)] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    ordered = {f: result[f] for f in fields if f in result}
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    return ordered


def display(field: CustomField, value: Any, language: str | None = None) -> str:
    """A stored value as people read it, in their language ('' when empty)."""
    language = language or get_language()
    if is_empty(value):
        return ""
    kind = field.field_type
    if kind == FieldType.BOOLEAN:
        return str(_("Yes") if value else _("No"))
    if kind == FieldType.CHOICE:
        return field.choice_label(value, language)
    if kind == FieldType.MULTI_CHOICE and isinstance(value, list):
        separator = "、" if (language or "").startswith("zh") else ", "
        return separator.join(field.choice_label(code, language) for code in value)
    if kind == FieldType.DATE:
        try:
            return str(formats.date_format(dt.date.fromisoformat(str(value)), "SHORT_DATE_FORMAT"))
        except ValueError:
            return str(value)
    return str(value)


def link(field: CustomField, value: Any) -> str | None:
    """Where a URL or email value leads, for detail pages."""
    if is_empty(value) or not isinstance(value, str):
        return None
    if field.field_type == FieldType.URL and value.startswith(("https://", "http://")):
        return value
    if field.field_type == FieldType.EMAIL:
        return f"mailto:{value}"
    return None
