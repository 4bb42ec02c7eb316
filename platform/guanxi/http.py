"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme


def posted(request: HttpRequest) -> QueryDict | None:
    """Form data for a POST, even an empty one (so the form is bound and reports what is
    missing); None for other methods (an unbound form)."""
    return request.POST if request.method == "POST" else None


def show_errors(
    form: forms.BaseForm, exc: ValidationError, field_name: Callable[[str], str] | None = None
) -> None:
    """A service's ValidationError on a form: each message next to its field (named by
    `field_name` when the service's names differ from the form's), the others at the top."""
    for name, errors in exc.message_dict.items():
        name = field_name(name) if field_name else name
        form.add_error(name if name in form.fields else None, errors)


def safe_url(request: HttpRequest, url: str) -> str | None:
    """`url` when it leads to this site (a workspace page), else None: never another site."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def next_url(request: HttpRequest, default: str) -> str:
    """Where a form goes back to: the `next` it posted when that is a page of this site."""
    return safe_url(request, request.POST.get("next", "")) or default
