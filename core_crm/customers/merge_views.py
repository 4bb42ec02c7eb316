"""Likely duplicates and the merge screen: two records, field by field, into one; and undo.

- /duplicates/<customers|contacts|leads>/: likely duplicate pairs among the readable records.
- /<slug>/<pk>/merge/: pick the other record (likely duplicates, or a search).
- /<slug>/<pk>/merge/?with=<pk>: the side-by-side merge screen.
- /audit/<entry id>/undo-merge/: undo a merge from its audit entry.
- /duplicates/<list>/?show=marked: pairs marked as not duplicates, each with "Unmark".
- /<slug>/<pk>/not-duplicate/ (POST, with=<pk>, action=mark|unmark): mark a pair as not
  duplicates, or take the mark back; 404 unless the user may edit both records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, access_or_404, can, visible
from core_crm.audit.models import AuditEntry
from core_crm.users.models import User
from guanxi.http import next_url

from .duplicates import Match, find_duplicates, reason_labels
from .merge import (
    CUSTOM_PREFIX,
    LOSER,
    SURVIVOR,
    MergeError,
    Relation,
    choice_fields,
    default_choices,
    duplicate_pairs,
    field_value,
    is_merge_entry,
    marked_distinct,
    marked_pairs,
    merged_model,
    pair_mark_distinct,
    pair_unmark,
    record_merge,
    record_merge_undo,
    related_counts,
    undo_entry_of,
)
from .views import PAGES, ObjectPages, display_value

PAIR_GROUPS_PER_PAGE = 20
MARKED_PER_PAGE = 50
PICK_LIMIT = 20
PICK_LIKELY = 10
PAGES_BY_MODEL = {p.model: p for p in PAGES.values()}
# What identifies a record at a glance, beside its name.
SUMMARY_FIELDS = {
    "account": ("city", "email", "phone"),
    "contact": ("account", "email", "phone", "mobile"),
    "lead": ("company", "city", "email", "phone"),
}
# Names of related rows people know; rows of models added later show their model's name.
RELATION_LABELS = {
    "customers.account.parent": gettext_lazy("Branch accounts"),
    "customers.contact.account": gettext_lazy("Contacts"),
    "customers.employment.account": gettext_lazy("Employment records at this account"),
    "customers.lead.converted_account": gettext_lazy("Leads converted to it"),
    "customers.account_tags.account": gettext_lazy("Tags"),
    "customers.contact.reports_to": gettext_lazy("Contacts reporting to them"),
    "customers.employment.contact": gettext_lazy("Employment history"),
    "customers.consent.contact": gettext_lazy("Consent records"),
    "customers.lead.converted_contact": gettext_lazy("Leads converted to them"),
    "customers.contact_tags.contact": gettext_lazy("Tags"),
    "customers.conversionrequest.lead": gettext_lazy("Conversion requests"),
    "customers.lead_tags.lead": gettext_lazy("Tags"),
    "access.recordshare.object_id": gettext_lazy("Shares"),
}


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _pages(slug: str) -> ObjectPages:
    try:
        return PAGES[slug]
    except KeyError as exc:
        raise Http404 from exc


def _summary(pages: ObjectPages, obj: Model) -> list[str]:
    return [str(v) for v in (display_value(obj, n) for n in SUMMARY_FIELDS[pages.object_type]) if v]


def relation_label(relation: Relation) -> str:
    label = RELATION_LABELS.get(relation.label)
    return str(label) if label else capfirst(str(relation.model._meta.verbose_name_plural))


# --- Likely duplicates ------------------------------------------------------------------------


def _editable(user: User, pages: ObjectPages, ids: set[int]) -> set[int]:
    """Which of `ids` the user may edit (one query)."""
    if not ids:
        return set()
    rows = visible(
        user, pages.model._default_manager.filter(pk__in=ids), pages.object_type, Action.EDIT
    )
    return set(rows.values_list("pk", flat=True))


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


@login_required
def duplicates(request: HttpRequest, slug: str) -> HttpResponse:
    """Likely duplicate pairs among the records the user can read, grouped by record."""
    pages = _pages(slug)
    if request.GET.get("show") == "marked":
        return _marked(request, pages)
    user = _actor(request)
    result = duplicate_pairs(
        user, pages.model, page=_page_number(request), per_page=PAIR_GROUPS_PER_PAGE
    )
    ids = {pk for a, b, _reasons in result.pairs for pk in (a, b)}
    records = {obj.pk: obj for obj in pages.list_selector(user).filter(pk__in=ids)}
    editable = _editable(user, pages, ids)
    groups: list[dict[str, Any]] = []
    for a, b, reasons in result.pairs:
        if a not in records or b not in records:
            continue  # deleted between the two queries
        if not groups or groups[-1]["record"].pk != a:
            groups.append(
                {"record": records[a], "summary": _summary(pages, records[a]), "matches": []}
            )
        groups[-1]["matches"].append(
            {
                "record": records[b],
                "summary": _summary(pages, records[b]),
                "reasons": reason_labels(Match(b, reasons)),
                "can_mark": a in editable and b in editable,
            }
        )
    return render(
        request,
        "customers/merge/duplicates.html",
        {
            "pages": pages,
            "all_pages": PAGES.values(),
            "groups": groups,
            "result": result,
            "here": request.get_full_path(),
        },
    )


def _marked(request: HttpRequest, pages: ObjectPages) -> HttpResponse:
    """Pairs marked as not duplicates whose records the user can read, newest mark first."""
    user = _actor(request)
    page = Paginator(marked_pairs(user, pages.model), MARKED_PER_PAGE).get_page(
        request.GET.get("page")
    )
    marks = list(page.object_list)
    ids = {pk for mark in marks for pk in (mark.low_id, mark.high_id)}
    records = {obj.pk: obj for obj in pages.list_selector(user).filter(pk__in=ids)}
    editable = _editable(user, pages, ids)
    rows = [
        {
            "mark": mark,
            "first": records[mark.low_id],
            "second": records[mark.high_id],
            "can_unmark": mark.low_id in editable and mark.high_id in editable,
        }
        for mark in marks
        if mark.low_id in records and mark.high_id in records
    ]
    return render(
        request,
        "customers/merge/not_duplicates.html",
        {
            "pages": pages,
            "all_pages": PAGES.values(),
            "rows": rows,
            "page": page,
            "here": request.get_full_path(),
        },
    )


def _unmark_form(request: HttpRequest, pages: ObjectPages, obj: Model, other: Model) -> str:
    return format_html(
        '<form method="post" action="{}" class="inline">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="with" value="{}">'
        '<input type="hidden" name="action" value="unmark">'
        '<input type="hidden" name="next" value="{}">'
        '<button type="submit" class="ml-2 font-medium underline" '
        'data-testid="not-duplicate-unmark-message">{}</button></form>',
        reverse(f"{pages.slug}_not_duplicate", args=[obj.pk]),
        get_token(request),
        other.pk,
        next_url(request, reverse(f"{pages.slug}_duplicates")),
        _("Unmark"),
    )


@login_required
@require_POST
def not_duplicate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Mark two records as not duplicates (action=mark) or take the mark back (unmark).
    404 unless the user may edit both, exactly as for a record that does not exist."""
    pages = _pages(slug)
    user = _actor(request)
    records = pages.list_selector(user)
    obj = access_or_404(user, records, pk, pages.object_type, Action.EDIT)
    other = access_or_404(
        user, records, request.POST.get("with", ""), pages.object_type, Action.EDIT
    )
    if other.pk == obj.pk:
        raise Http404
    action = request.POST.get("action", "mark")
    if action not in {"mark", "unmark"}:
        messages.error(request, _("Unknown action: choose to mark or to unmark the pair."))
        return redirect(next_url(request, reverse(f"{slug}_duplicates")))
    names = {"first": str(obj), "second": str(other)}
    try:
        if action == "mark":
            pair_mark_distinct(actor=user, first=obj, second=other, channel="web")
            messages.success(
                request,
                format_html(
                    "{} {}",
                    _("“%(first)s” and “%(second)s” are marked as not duplicates.") % names,
                    _unmark_form(request, pages, obj, other),
                ),
            )
        elif pair_unmark(actor=user, first=obj, second=other, channel="web"):
            messages.success(
                request,
                _("“%(first)s” and “%(second)s” may be offered as duplicates again.") % names,
            )
        else:
            messages.info(request, _("“%(first)s” and “%(second)s” were not marked.") % names)
    except (PermissionDenied, MergeError) as exc:
        messages.error(request, str(exc))
    return redirect(next_url(request, reverse(f"{slug}_duplicates")))


# --- Merge ------------------------------------------------------------------------------------


@dataclass
class FieldRow:
    """One line of the merge screen: a field and the value of each record."""

    name: str
    label: str
    values: list[tuple[int, str]]  # (record pk, value as shown)
    picked: int
    same: bool
    errors: list[str] = field(default_factory=list)


def _shown(obj: Model, name: str, other: Model) -> str:
    if name.startswith(CUSTOM_PREFIX):
        value = field_value(obj, name)
        return "" if value is None else str(value)
    value = display_value(obj, name)
    model_field = obj._meta.get_field(name)
    if model_field.related_model is type(obj) and field_value(obj, name) in (obj.pk, other.pk):
        return _("%(value)s (one of these two records: left empty)") % {"value": value}
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    return str(value)


def _label(model: type[Model], name: str) -> str:
    if name.startswith(CUSTOM_PREFIX):
        return name[len(CUSTOM_PREFIX) :]
    return capfirst(str(model._meta.get_field(name).verbose_name))  # type: ignore[union-attr]


def _rows(
    first: Model, second: Model, picks: dict[str, int], errors: dict[str, list[str]]
) -> list[FieldRow]:
    rows = []
    for name in choice_fields(first, second):
        values = [(first.pk, _shown(first, name, second)), (second.pk, _shown(second, name, first))]
        rows.append(
            FieldRow(
                name=name,
                label=_label(type(first), name),
                values=values,
                picked=picks[name],
                same=field_value(first, name) == field_value(second, name),
                errors=errors.get(name, []),
            )
        )
    return rows


def _merge_allowed(user: User, keep: Model, drop: Model, object_type: str) -> bool:
    return can(user, Action.EDIT, keep, object_type) and can(user, Action.DELETE, drop, object_type)


def _undo_message(request: HttpRequest, entry: AuditEntry, loser_name: str) -> str:
    return format_html(
        '{} <form method="post" action="{}" class="inline">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit" class="ml-2 font-medium underline" '
        'data-testid="merge-undo-button">{}</button></form>',
        _("Merged: “%(name)s” is now part of this record.") % {"name": loser_name},
        reverse("merge_undo", args=[entry.pk]),
        get_token(request),
        _("Undo merge"),
    )


@login_required
def merge_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Choose the other record, then field by field what the record kept holds."""
    pages = _pages(slug)
    user = _actor(request)
    obj = access_or_404(user, pages.list_selector(user), pk, pages.object_type)
    other_pk = request.GET.get("with", "").strip()
    if not other_pk:
        return _pick(request, pages, obj)
    other = access_or_404(user, pages.list_selector(user), other_pk, pages.object_type)
    if other.pk == obj.pk:
        raise Http404
    records = {obj.pk: obj, other.pk: other}
    allowed = {
        obj.pk: _merge_allowed(user, obj, other, pages.object_type),
        other.pk: _merge_allowed(user, other, obj, pages.object_type),
    }
    survivor_pk = obj.pk if allowed[obj.pk] or not allowed[other.pk] else other.pk
    defaults = default_choices(records[survivor_pk], other if survivor_pk == obj.pk else obj)
    picks = {
        name: survivor_pk if choice == SURVIVOR else (other.pk if survivor_pk == obj.pk else obj.pk)
        for name, choice in defaults.items()
    }
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        posted_survivor = request.POST.get("survivor", "")
        if posted_survivor not in {str(k) for k in records}:
            problems.append(_("Choose the record to keep."))
        else:
            survivor_pk = int(posted_survivor)
        loser_pk = other.pk if survivor_pk == obj.pk else obj.pk
        choices: dict[str, str] = {}
        for name in picks:
            value = request.POST.get(f"keep:{name}")
            if value is None:
                continue
            if value not in {str(k) for k in records}:
                errors.setdefault(name, []).append(_("Choose the value of one of the records."))
                continue
            picks[name] = int(value)
            choices[name] = SURVIVOR if picks[name] == survivor_pk else LOSER
        if not errors and not problems:
            try:
                entry = record_merge(
                    actor=user,
                    survivor=records[survivor_pk],
                    loser=records[loser_pk],
                    choices=choices,
                    channel="web",
                )
            except ValidationError as exc:
                for name, messages_ in exc.message_dict.items():
                    if name in picks:
                        errors.setdefault(name, []).extend(messages_)
                    else:
                        problems.extend(messages_)
            except (PermissionDenied, MergeError) as exc:
                problems.append(str(exc))
            else:
                messages.success(request, _undo_message(request, entry, str(records[loser_pk])))
                return redirect(reverse(f"{slug}_detail", args=[survivor_pk]))
    rows = _rows(obj, other, picks, errors)
    sides = [
        {
            "record": record,
            "summary": _summary(pages, record),
            "allowed": allowed[record.pk],
            "related": [
                (relation_label(relation), n)
                for relation, n in related_counts(
                    record, other=other if record.pk == obj.pk else obj
                )
            ],
        }
        for record in (obj, other)
    ]
    return render(
        request,
        "customers/merge/merge.html",
        {
            "pages": pages,
            "obj": obj,
            "other": other,
            "sides": sides,
            "survivor_pk": survivor_pk,
            "different": [r for r in rows if not r.same],
            "same": [r for r in rows if r.same],
            "problems": problems,
            "any_allowed": any(allowed.values()),
            "can_mark": _editable(user, pages, {obj.pk, other.pk}) == {obj.pk, other.pk},
            "marked": bool(marked_distinct(pages.model, [obj.pk]) & {_ordered(obj, other)}),
            "here": request.get_full_path(),
        },
        status=status,
    )


def _ordered(first: Model, second: Model) -> tuple[int, int]:
    low, high = sorted((int(first.pk), int(second.pk)))
    return low, high


def _pick(request: HttpRequest, pages: ObjectPages, obj: Model) -> HttpResponse:
    """The other record: likely duplicates first, or any readable record found by name."""
    user = _actor(request)
    data = {f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    # Records marked as not duplicates of this one are not offered (search still finds them).
    distinct = {pk for pair in marked_distinct(pages.model, [obj.pk]) for pk in pair} - {obj.pk}
    matches = find_duplicates(
        pages.model, data, user=user, exclude_pk=obj.pk, limit=PICK_LIKELY + len(distinct)
    )
    likely = [
        {"record": m.record, "summary": _summary(pages, m.record), "reasons": reason_labels(m)}
        for m in matches
        if m.record is not None and m.pk not in distinct
    ][:PICK_LIKELY]
    term = request.GET.get("q", "").strip()
    found: list[dict[str, Any]] = []
    if term:
        condition = Q()
        for name in pages.search_fields:
            condition |= Q(**{f"{name}__icontains": term})
        queryset = pages.list_selector(user).filter(condition).exclude(pk=obj.pk)
        found = [
            {"record": record, "summary": _summary(pages, record)}
            for record in queryset[:PICK_LIMIT]
        ]
    return render(
        request,
        "customers/merge/pick.html",
        {"pages": pages, "obj": obj, "likely": likely, "found": found, "q": term},
    )


# --- Undo -------------------------------------------------------------------------------------


@login_required
def undo_merge(request: HttpRequest, entry_id: int) -> HttpResponse:
    """GET: what undoing will do; POST: undo. 404 unless the user may edit the record kept."""
    user = _actor(request)
    entry = AuditEntry.objects.select_related("content_type", "actor").filter(pk=entry_id).first()
    model = merged_model(entry) if entry is not None else None
    if entry is None or model is None or not is_merge_entry(entry):
        raise Http404
    pages = PAGES_BY_MODEL[model]
    survivor = (
        visible(user, pages.list_selector(user), pages.object_type, Action.EDIT)
        .filter(pk=entry.object_id)
        .first()
    )
    if survivor is None:
        raise Http404
    problems: list[str] = []
    undone = undo_entry_of(entry)
    status = 200
    if request.method == "POST" and undone is None:
        try:
            restored = record_merge_undo(actor=user, entry=entry, channel="web")
        except (MergeError, PermissionDenied) as exc:
            problems.append(str(exc))
            status = 400
        else:
            messages.success(
                request,
                format_html(
                    '{} <a class="font-medium underline" href="{}" '
                    'data-testid="restored-record-link">{}</a>',
                    _("Merge undone: the two records are separate again."),
                    reverse(f"{pages.slug}_detail", args=[restored.pk]),
                    str(restored),
                ),
            )
            return redirect(reverse(f"{pages.slug}_detail", args=[survivor.pk]))
    elif request.method == "POST":
        status = 400
    data = entry.changes
    moved = sum(len(group["pks"]) for group in data.get("moved", []))
    return render(
        request,
        "customers/merge/undo.html",
        {
            "pages": pages,
            "entry": entry,
            "survivor": survivor,
            "loser_name": data["loser"].get("repr", ""),
            "loser_pk": data["loser"]["pk"],
            "field_names": [_label(model, name) for name in data.get("fields", {})],
            "moved": moved + len(data.get("removed", [])),
            "undone": undone,
            "problems": problems,
        },
        status=status,
    )


urlpatterns = [
    path("audit/<int:entry_id>/undo-merge/", undo_merge, name="merge_undo"),
] + [
    route
    for slug in PAGES
    for route in (
        path(f"duplicates/{slug}/", duplicates, {"slug": slug}, name=f"{slug}_duplicates"),
        path(f"{slug}/<int:pk>/merge/", merge_page, {"slug": slug}, name=f"{slug}_merge"),
        path(
            f"{slug}/<int:pk>/not-duplicate/",
            not_duplicate,
            {"slug": slug},
            name=f"{slug}_not_duplicate",
        ),
    )
]
