"""Settings → Picklists: the workspace admin edits the value lists of the customer records
(sources, industries, statuses, relationship types, intention levels, disqualification reasons,
contact roles).

The services below are the only writers of picklist values: workspace admins only, labels in
English and Chinese validated field by field, an audit entry per change, one transaction each.
A value that records use can be retired (kept on those records, no longer offered) but not
deleted. The pages at the end of the module call the services and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Model, ProtectedError, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.policy import require_workspace_admin
from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit, audit_entry, diff, snapshot
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from .models import Picklist, PicklistValue

LABEL_FIELDS = ["label", "label_zh"]
AUDITED_FIELDS = ["picklist", "code", "label", "label_zh", "position", "is_active"]


class PicklistError(Exception):
    """A picklist change cannot be made as asked; the message says why and what to do."""


# --- Reads ------------------------------------------------------------------------------------


def referencing_fields() -> Iterator[tuple[type[Model], str]]:
    """Every (model, foreign key name) pointing at picklist values, whichever app declares
    it, so values used by a module's records are counted too."""
    for relation in PicklistValue._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete and relation.one_to_many:
            model = relation.related_model
            assert isinstance(model, type)
            yield model, relation.field.name  # type: ignore[union-attr]


def picklist_usage(picklist: str | None = None) -> Counter[int]:
    """Records using each value (value id -> count), in one query however many values,
    records and referencing fields there are."""
    parts: list[QuerySet[Any]] = []
    for model, name in referencing_fields():
        rows = model._base_manager.filter(**{f"{name}__isnull": False})
        if picklist is not None:
            rows = rows.filter(**{f"{name}__picklist": picklist})
        parts.append(rows.values(value_id=F(name)).annotate(n=Count("pk")).order_by())
    counts: Counter[int] = Counter()
    if parts:
        for row in parts[0].union(*parts[1:], all=True):
            counts[row["value_id"]] += row["n"]
    return counts


def value_usage(value: PicklistValue) -> int:
    return sum(
        model._base_manager.filter(**{name: value}).count() for model, name in referencing_fields()
    )


# --- Writes -----------------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    require_workspace_admin(actor, _("Only a workspace admin can change picklists."))


def _picklist_or_error(picklist: str) -> str:
    if picklist not in Picklist.values:
        raise ValidationError({"picklist": [_("There is no such picklist.")]})
    return picklist


def _clean_labels(
    picklist: str, label: str, label_zh: str, exclude: int | None = None
) -> tuple[str, str]:
    """Both labels present, and neither is already a label (in either language) of another
    value of the list, ignoring case, retired or not."""
    label, label_zh = (label or "").strip(), (label_zh or "").strip()
    errors: dict[str, list[str]] = {}
    max_length = PicklistValue._meta.get_field("label").max_length or 100
    siblings = PicklistValue.objects.filter(picklist=picklist)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude)
    for name, text, missing in (
        ("label", label, _("Enter the English label.")),
        ("label_zh", label_zh, _("Enter the Chinese label.")),
    ):
        if not text:
            errors[name] = [missing]
        elif len(text) > max_length:
            errors[name] = [
                _("At most %(n)d characters (it has %(count)d).")
                % {"n": max_length, "count": len(text)}
            ]
        else:
            # Against both columns: imports find a value by either label.
            twin = siblings.filter(Q(label__iexact=text) | Q(label_zh__iexact=text)).first()
            if twin is not None and twin.is_active:
                errors[name] = [_("“%(label)s” is already in this list.") % {"label": text}]
            elif twin is not None:
                errors[name] = [
                    _("“%(label)s” is already in this list, retired: reactivate it instead.")
                    % {"label": text}
                ]
    if errors:
        raise ValidationError(errors)
    return label, label_zh


def _new_code(picklist: str, label: str) -> str:
    """A stable code for the API and imports, from the English label: "Trade fair 2" ->
    "trade-fair-2"; a number is added when the list already has it."""
    max_length = PicklistValue._meta.get_field("code").max_length or 60
    base = slugify(label)[: max_length - 4].strip("-") or "value"
    taken = set(
        PicklistValue.objects.filter(picklist=picklist, code__startswith=base).values_list(
            "code", flat=True
        )
    )
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    return code


def _lock_list(picklist: str) -> list[PicklistValue]:
    """Lock the list's values, so concurrent edits of one list take turns (labels stay
    unique, positions stay a sequence)."""
    return list(PicklistValue.objects.select_for_update().filter(picklist=picklist))


def picklist_value_create(
    *, actor: User, picklist: str, label: str, label_zh: str, channel: str = Channel.WEB
) -> PicklistValue:
    """Add a value at the end of `picklist`; its code comes from the English label."""
    _require_admin(actor)
    _picklist_or_error(picklist)
    with transaction.atomic():
        _lock_list(picklist)
        label, label_zh = _clean_labels(picklist, label, label_zh)
        last = PicklistValue.objects.filter(picklist=picklist).aggregate(m=Max("position"))["m"]
        value = PicklistValue.objects.create(
            picklist=picklist,
            code=_new_code(picklist, label),
            label=label,
            label_zh=label_zh,
            position=0 if last is None else last + 1,
        )
        audit(
            obj=value,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={k: [None, v] for k, v in snapshot(value, AUDITED_FIELDS).items()},
        )
    return value


def picklist_value_update(
    *, actor: User, value: PicklistValue, label: str, label_zh: str, channel: str = Channel.WEB
) -> PicklistValue:
    """Change a value's labels; its code, and so the API and imports, stay the same."""
    _require_admin(actor)
    with transaction.atomic():
        _lock_list(value.picklist)
        value = PicklistValue.objects.get(pk=value.pk)
        label, label_zh = _clean_labels(value.picklist, label, label_zh, exclude=value.pk)
        before = snapshot(value, LABEL_FIELDS)
        value.label, value.label_zh = label, label_zh
        value.save(update_fields=LABEL_FIELDS)
        changes = diff(before, snapshot(value, LABEL_FIELDS))
        if changes:
            audit(
                obj=value,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
    return value


def _set_active(*, actor: User, value: PicklistValue, active: bool, channel: str) -> PicklistValue:
    _require_admin(actor)
    with transaction.atomic():
        value = PicklistValue.objects.select_for_update().get(pk=value.pk)
        if value.is_active != active:
            value.is_active = active
            value.save(update_fields=["is_active"])
            audit(
                obj=value,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes={"is_active": [not active, active]},
            )
    return value


def picklist_value_retire(
    *, actor: User, value: PicklistValue, channel: str = Channel.WEB
) -> PicklistValue:
    """No longer offered for new choices; records that have it keep it."""
    return _set_active(actor=actor, value=value, active=False, channel=channel)


def picklist_value_reactivate(
    *, actor: User, value: PicklistValue, channel: str = Channel.WEB
) -> PicklistValue:
    return _set_active(actor=actor, value=value, active=True, channel=channel)


def picklist_reorder(
    *, actor: User, picklist: str, order: list[int], channel: str = Channel.WEB
) -> None:
    """Put the list's values in `order` (every value id of the list, once), numbered from 0."""
    _require_admin(actor)
    _picklist_or_error(picklist)
    with transaction.atomic():
        values = {v.pk: v for v in _lock_list(picklist)}
        if sorted(order) != sorted(values):
            raise ValidationError(
                {"order": [_("The order must name every value of the list exactly once.")]}
            )
        changed = []
        entries = []
        for position, pk in enumerate(order):
            value = values[pk]
            if value.position != position:
                entries.append(
                    audit_entry(
                        obj=value,
                        kind=AuditEntry.Kind.UPDATE,
                        changes={"position": [value.position, position]},
                        actor=actor,
                        channel=channel,
                    )
                )
                value.position = position
                changed.append(value)
        PicklistValue.objects.bulk_update(changed, ["position"])
        AuditEntry.objects.bulk_create(entries)


def picklist_value_move(
    *, actor: User, value: PicklistValue, offset: int, channel: str = Channel.WEB
) -> None:
    """Move a value `offset` places up (negative) or down the list; the ends stay put."""
    _require_admin(actor)
    with transaction.atomic():
        ordered = sorted(_lock_list(value.picklist), key=lambda v: (v.position, v.label, v.pk))
        ids = [v.pk for v in ordered]
        index = ids.index(value.pk)
        target = max(0, min(len(ids) - 1, index + offset))
        ids.insert(target, ids.pop(index))
        picklist_reorder(actor=actor, picklist=value.picklist, order=ids, channel=channel)


def picklist_value_delete(*, actor: User, value: PicklistValue, channel: str = Channel.WEB) -> None:
    """Delete a value no record uses; a value in use can only be retired."""
    _require_admin(actor)
    with transaction.atomic():
        value = PicklistValue.objects.select_for_update().get(pk=value.pk)
        used = value_usage(value)
        if used:
            raise PicklistError(_in_use_message(value, used))
        audit(
            obj=value,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(value, AUDITED_FIELDS),
        )
        try:
            with transaction.atomic():
                value.delete()
        except ProtectedError as exc:  # a record took it up since it was counted
            raise PicklistError(_in_use_message(value, len(exc.protected_objects))) from exc


def _in_use_message(value: PicklistValue, used: int) -> str:
    return _(
        "“%(label)s” cannot be deleted: %(n)d records use it. Retire it instead: those "
        "records keep it, and it is no longer offered for new choices."
    ) % {"label": value.label, "n": used}


# --- Pages ------------------------------------------------------------------------------------


class ValueForm(forms.Form):
    # Not required here: the service says which label is missing, in the same words for
    # every caller.
    label = forms.CharField(label=gettext_lazy("English label"), max_length=100, required=False)
    label_zh = forms.CharField(label=gettext_lazy("Chinese label"), max_length=100, required=False)


@dataclass(frozen=True)
class ValueRow:
    value: PicklistValue
    used: int


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_workspace_admin:
        raise Http404  # like the other settings pages: nothing here for anyone else
    return user


def _picklist(key: str) -> tuple[str, Any]:
    labels = dict(Picklist.choices)
    if key not in labels:
        raise Http404
    return key, labels[key]


def _value(key: str, value_id: int) -> PicklistValue:
    value = PicklistValue.objects.filter(picklist=key, pk=value_id).first()
    if value is None:
        raise Http404
    return value


def _rows(values: list[PicklistValue], usage: Counter[int]) -> list[ValueRow]:
    return [ValueRow(value=v, used=usage[v.pk]) for v in values]


@login_required
def picklist_index(request: HttpRequest) -> HttpResponse:
    _admin(request)
    usage = picklist_usage()
    by_list: dict[str, list[PicklistValue]] = {key: [] for key in Picklist.values}
    for value in PicklistValue.objects.order_by("picklist", "position", "label", "pk"):
        by_list.setdefault(value.picklist, []).append(value)
    lists = [
        {"key": key, "label": label, "rows": _rows(by_list[key], usage)}
        for key, label in Picklist.choices
    ]
    return render(request, "customers/picklists/index.html", {"lists": lists})


@login_required
def picklist_detail(request: HttpRequest, key: str) -> HttpResponse:
    """One list's values with their actions, and the form to add one."""
    actor = _admin(request)
    key, title = _picklist(key)
    form = ValueForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            value = picklist_value_create(
                actor=actor,
                picklist=key,
                label=form.cleaned_data["label"],
                label_zh=form.cleaned_data["label_zh"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("“%(label)s” added.") % {"label": value.label})
            return redirect("settings_picklist", key=key)
    values = list(PicklistValue.objects.filter(picklist=key).order_by("position", "label", "pk"))
    return render(
        request,
        "customers/picklists/list.html",
        {
            "key": key,
            "title": title,
            "rows": _rows(values, picklist_usage(key)),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def picklist_value_edit(request: HttpRequest, key: str, value_id: int) -> HttpResponse:
    actor = _admin(request)
    key, title = _picklist(key)
    value = _value(key, value_id)
    form = ValueForm(posted(request), initial={"label": value.label, "label_zh": value.label_zh})
    if request.method == "POST" and form.is_valid():
        try:
            picklist_value_update(
                actor=actor,
                value=value,
                label=form.cleaned_data["label"],
                label_zh=form.cleaned_data["label_zh"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("settings_picklist", key=key)
    return render(
        request,
        "customers/picklists/edit.html",
        {"key": key, "title": title, "value": value, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def picklist_value_change(
    request: HttpRequest, key: str, value_id: int, change: str
) -> HttpResponse:
    """The one-click changes: move up or down, retire, reactivate."""
    actor = _admin(request)
    key, _title = _picklist(key)
    value = _value(key, value_id)
    if change == "up":
        picklist_value_move(actor=actor, value=value, offset=-1)
    elif change == "down":
        picklist_value_move(actor=actor, value=value, offset=1)
    elif change == "retire":
        picklist_value_retire(actor=actor, value=value)
        messages.success(
            request,
            _("“%(label)s” retired: records keep it, new choices no longer offer it.")
            % {"label": value.label},
        )
    elif change == "reactivate":
        picklist_value_reactivate(actor=actor, value=value)
        messages.success(request, _("“%(label)s” is offered again.") % {"label": value.label})
    else:
        raise Http404
    return redirect(reverse("settings_picklist", kwargs={"key": key}) + f"#value-{value.pk}")


@login_required
def picklist_value_remove(request: HttpRequest, key: str, value_id: int) -> HttpResponse:
    """Ask before deleting; a value in use says why it cannot go and offers retiring it."""
    actor = _admin(request)
    key, title = _picklist(key)
    value = _value(key, value_id)
    error = ""
    if request.method == "POST":
        try:
            picklist_value_delete(actor=actor, value=value)
        except PicklistError as exc:
            error = str(exc)
        else:
            messages.success(request, _("“%(label)s” deleted.") % {"label": value.label})
            return redirect("settings_picklist", key=key)
    used = value_usage(value)
    return render(
        request,
        "customers/picklists/delete.html",
        {
            "key": key,
            "title": title,
            "value": value,
            "used": used,
            "error": error or (_in_use_message(value, used) if used else ""),
        },
        status=400 if error else 200,
    )


urlpatterns = [
    path("", picklist_index, name="settings_picklists"),
    path("<slug:key>/", picklist_detail, name="settings_picklist"),
    path("<slug:key>/<int:value_id>/edit/", picklist_value_edit, name="settings_picklist_edit"),
    path(
        "<slug:key>/<int:value_id>/delete/",
        picklist_value_remove,
        name="settings_picklist_delete",
    ),
    path(
        "<slug:key>/<int:value_id>/<slug:change>/",
        picklist_value_change,
        name="settings_picklist_change",
    ),
]
