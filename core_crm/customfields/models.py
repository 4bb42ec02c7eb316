"""Fields a workspace admin adds to accounts, contacts and leads.

A definition lives here; the values live in each record's `custom_fields` JSON under the
definition's key, in a canonical form (see `values.py`). Definitions are archived, never
deleted, so values stay with their records and come back when a field is restored."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
KEY_MAX_LENGTH = 40

key_validator = RegexValidator(
    KEY_PATTERN,
    _(
        "Use lower-case letters, digits and single underscores, starting with a letter "
        "(e.g. region or contract_end)."
    ),
)


class ObjectType(models.TextChoices):
    ACCOUNT = "account", _("Accounts")
    CONTACT = "contact", _("Contacts")
    LEAD = "lead", _("Leads")
    OPPORTUNITY = "opportunity", _("Opportunities")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    URL = "url", _("Web address")
    EMAIL = "email", _("Email address")


CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTI_CHOICE}
RANGE_TYPES = {FieldType.NUMBER, FieldType.DECIMAL, FieldType.DATE}
TEXT_TYPES = {FieldType.TEXT, FieldType.LONG_TEXT, FieldType.URL, FieldType.EMAIL}


def _localised(language: str | None, english: str, chinese: str) -> str:
    return chinese if (language or "").startswith("zh") and chinese else english


class CustomField(models.Model):
    object_type = models.CharField(_("object"), max_length=20, choices=ObjectType.choices)
    key = models.CharField(
        _("key"),
        max_length=KEY_MAX_LENGTH,
        validators=[key_validator],
        help_text=_("Names the field in the API and in filters; cannot change later."),
    )
    label = models.CharField(_("label"), max_length=100)
    label_zh = models.CharField(_("Chinese label"), max_length=100, blank=True)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    # [{"code": "north", "label": "North", "label_zh": "北方"}, ...] for (multiple) choice.
    choices = models.JSONField(_("choices"), default=list, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["object_type", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "key"], name="custom_field_key_once"),
        ]

    def __str__(self) -> str:
        return self.label

    def display_label(self, language: str | None) -> str:
        return _localised(language, self.label, self.label_zh)

    @property
    def codes(self) -> list[str]:
        return [str(c["code"]) for c in self.choices or []]

    def choice_label(self, code: Any, language: str | None) -> str:
        for choice in self.choices or []:
            if choice["code"] == code:
                return _localised(language, choice["label"], choice.get("label_zh", ""))
        return str(code)

    @property
    def param(self) -> str:
        """Its name in query strings (filters, columns): cf_<key>."""
        return f"cf_{self.key}"
