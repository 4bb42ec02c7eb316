"""Custom fields in record forms: one Django form field per active definition, named cf_<key>."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import CustomField, FieldType
from .values import DECIMAL_MAX_DIGITS, LONG_TEXT_MAX, TEXT_MAX, URL_MAX, definitions


def form_field(field: CustomField, language: str | None = None) -> forms.Field:
    """The Django form field (and widget) for a definition, labelled in the reader's language."""
    language = language or get_language()
    common: dict[str, Any] = {
        "label": field.display_label(language),
        "required": field.required,
        "help_text": field.help_text,
    }
    kind = field.field_type
    if kind == FieldType.TEXT:
        return forms.CharField(max_length=TEXT_MAX, **common)
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(
            max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if kind == FieldType.NUMBER:
        return forms.IntegerField(**common)
    if kind == FieldType.DECIMAL:
        return forms.DecimalField(max_digits=DECIMAL_MAX_DIGITS, **common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
            coerce=lambda v: v == "true",
            empty_value=None,
            **common,
        )
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")]
            + [(c["code"], field.choice_label(c["code"], language)) for c in field.choices],
            **common,
        )
    if kind == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c["code"], field.choice_label(c["code"], language)) for c in field.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if kind == FieldType.URL:
        return forms.URLField(max_length=URL_MAX, assume_scheme="https", **common)
    return forms.EmailField(max_length=TEXT_MAX, **common)


def _initial(field: CustomField, value: Any) -> Any:
    if field.field_type == FieldType.BOOLEAN and value is not None:
        return "true" if value else "false"
    return value


def add_custom_fields(
    form: forms.BaseForm, object_type: str, stored: dict[str, Any] | None
) -> list[CustomField]:
    """Add the object's active custom fields to `form`, filled from the stored values."""
    fields = definitions(object_type)
    for field in fields:
        form.fields[field.param] = form_field(field)
        if stored and field.key in stored:
            form.initial[field.param] = _initial(field, stored[field.key])
    return fields


def custom_data(form: forms.BaseForm, fields: list[CustomField]) -> dict[str, Any]:
    """The custom values of a valid form, for the record services (None clears a value)."""
    return {field.key: form.cleaned_data.get(field.param) for field in fields}
