"""Settings → Custom fields: workspace admins define the extra fields of each object."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.policy import PermissionDenied
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from . import services
from .models import CHOICE_TYPES, KEY_MAX_LENGTH, CustomField, FieldType, ObjectType


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_workspace_admin:
        raise Http404
    return user


def _field(pk: int) -> CustomField:
    field = CustomField.objects.filter(pk=pk).first()
    if field is None:
        raise Http404
    return field


def choices_to_text(choices: list[dict[str, str]]) -> str:
    lines = []
    for choice in choices:
        parts = [choice["code"], choice.get("label", "")]
        if choice.get("label_zh"):
            parts.append(choice["label_zh"])
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def text_to_choices(text: str) -> list[dict[str, str]]:
    """One choice per line: `code | English label | Chinese label` (labels optional)."""
    choices = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        code = parts[0]
        label = parts[1] if len(parts) > 1 and parts[1] else code
        label_zh = parts[2] if len(parts) > 2 else ""
        choices.append({"code": code, "label": label, "label_zh": label_zh})
    return choices


class FieldForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100)
    label_zh = forms.CharField(label=gettext_lazy("Chinese label"), max_length=100, required=False)
    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=KEY_MAX_LENGTH,
        help_text=gettext_lazy(
            "Names the field in the API, in filters and in saved views (e.g. contract_end). "
            "It cannot change later."
        ),
    )
    field_type = forms.ChoiceField(label=gettext_lazy("Type"), choices=FieldType.choices)
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    choices = forms.CharField(
        label=gettext_lazy("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "For choice fields: one per line, as code | English label | Chinese label, "
            "e.g. north | North | 北方."
        ),
    )
    help_text = forms.CharField(label=gettext_lazy("Help text"), max_length=300, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]


@login_required
def field_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    object_type = request.GET.get("object", ObjectType.ACCOUNT)
    if object_type not in ObjectType.values:
        object_type = ObjectType.ACCOUNT
    fields = list(CustomField.objects.filter(object_type=object_type))
    return render(
        request,
        "customfields/list.html",
        {
            "object_type": object_type,
            "object_types": ObjectType.choices,
            "fields": fields,
            "active": [f for f in fields if f.is_active],
            "archived": [f for f in fields if not f.is_active],
            "list_url": {"account": "/customers/", "contact": "/contacts/", "lead": "/leads/"}[
                object_type
            ],
        },
    )


def _data(form: FieldForm) -> dict[str, Any]:
    data = {
        name: form.cleaned_data[name]
        for name in ("label", "label_zh", "field_type", "required", "help_text")
    }
    data["choices"] = text_to_choices(form.cleaned_data["choices"])
    return data


@login_required
def field_create(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    object_type = request.GET.get("object", ObjectType.ACCOUNT)
    if object_type not in ObjectType.values:
        raise Http404
    form = FieldForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            field = services.field_create(
                actor=actor,
                object_type=object_type,
                key=form.cleaned_data["key"],
                data=_data(form),
            )
        except ValidationError as exc:
            show_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": field.label})
            return redirect(f"{reverse('custom_fields')}?object={object_type}")
    return render(
        request,
        "customfields/form.html",
        {
            "form": form,
            "object_type": object_type,
            "object_label": ObjectType(object_type).label,
            "choice_types": sorted(CHOICE_TYPES),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    field = _field(pk)
    initial = {
        "label": field.label,
        "label_zh": field.label_zh,
        "field_type": field.field_type,
        "required": field.required,
        "choices": choices_to_text(field.choices),
        "help_text": field.help_text,
    }
    form = FieldForm(posted(request), initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.field_update(actor=actor, field=field, data=_data(form))
        except ValidationError as exc:
            show_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Changes saved."))
            return redirect(f"{reverse('custom_fields')}?object={field.object_type}")
    return render(
        request,
        "customfields/form.html",
        {
            "form": form,
            "field": field,
            "object_type": field.object_type,
            "object_label": ObjectType(field.object_type).label,
            "in_use": services.usage_count(field),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def field_archive(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    field = _field(pk)
    active = request.POST.get("restore") == "1"
    services.field_set_active(actor=actor, field=field, active=active)
    if active:
        messages.success(request, _("Field “%(label)s” restored.") % {"label": field.label})
    else:
        messages.success(
            request,
            _("Field “%(label)s” archived; records keep their values.") % {"label": field.label},
        )
    return redirect(f"{reverse('custom_fields')}?object={field.object_type}")


@login_required
@require_POST
def field_move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    field = _field(pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.field_move(actor=actor, field=field, offset=offset)
    return redirect(f"{reverse('custom_fields')}?object={field.object_type}")
