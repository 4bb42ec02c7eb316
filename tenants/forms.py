from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core_crm.users.models import User

from .selectors import subdomain_is_taken
from .validators import normalize_subdomain, validate_subdomain_format


class SignupForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=30,
        help_text=_("3 to 30 lowercase letters, digits or hyphens."),
    )
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    email = forms.EmailField(label=_("Work email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)

    def clean_company_name(self) -> str:
        value = self.cleaned_data["company_name"].strip()
        if not value:
            raise ValidationError(_("Enter your company's name."))
        return value

    def clean_full_name(self) -> str:
        value = self.cleaned_data["full_name"].strip()
        if not value:
            raise ValidationError(_("Enter your full name."))
        return value

    def clean_subdomain(self) -> str:
        value = normalize_subdomain(self.cleaned_data["subdomain"])
        validate_subdomain_format(value)
        if subdomain_is_taken(value):
            raise ValidationError(_("This subdomain is already taken."), code="taken")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password")
        if password:
            probe = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                validate_password(password, user=probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class WorkspaceFinderForm(forms.Form):
    email = forms.EmailField(label=_("Your work email"))
