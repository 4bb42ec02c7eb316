"""HTML pages for accounts, contacts and leads: the same services and selectors as the API."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import F, Model, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core_crm.access.models import Action, Scope
from core_crm.access.policy import (
    PermissionDenied,
    access_or_404,
    assignable_owners,
    can,
    require_create,
    scope_for,
    visible,
)
from core_crm.audit.selectors import history_of
from core_crm.customfields.filters import Condition, parse_lenient, value_expression
from core_crm.customfields.filters import apply as apply_custom_filters
from core_crm.customfields.forms import add_custom_fields, custom_data
from core_crm.customfields.models import RANGE_TYPES, CustomField, FieldType
from core_crm.customfields.values import definitions
from core_crm.customfields.values import display as cf_display
from core_crm.customfields.values import link as cf_link
from core_crm.savedviews.selectors import columns_for, views_for
from core_crm.savedviews.services import clean_query, columns_save
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from . import account360, selectors, services
from .conversion import requests_to_decide
from .duplicates import RULES, Match, find_duplicates, reason_labels
from .fields import ACCOUNT_FIELDS, CONTACT_FIELDS, LEAD_FIELDS
from .models import Account, Contact, ConversionRequest, Lead, PicklistValue, Tag, person_name


@dataclass(frozen=True)
class Column:
    field: str
    label: Any
    sortable: bool = True


@dataclass(frozen=True)
class ObjectPages:
    """How one object type is listed, shown and edited."""

    object_type: str
    model: type[Model]
    slug: str  # URL prefix
    plural: Any
    singular: Any
    list_selector: Any
    columns: tuple[Column, ...]
    search_fields: tuple[str, ...]
    form_fields: tuple[str, ...]
    filters: tuple[str, ...] = ()


ACCOUNTS = ObjectPages(
    "account",
    Account,
    "customers",
    _("Accounts"),
    _("Account"),
    selectors.account_list,
    (
        Column("name", _("Name")),
        Column("kind", _("Type")),
        Column("industry", _("Industry")),
        Column("city", _("City")),
        Column("value_class", _("Class")),
        Column("owner", _("Owner"), sortable=False),
    ),
    ("name", "email", "phone", "city"),
    ACCOUNT_FIELDS,
    filters=("kind", "value_class", "industry", "status", "owner"),
)
CONTACTS = ObjectPages(
    "contact",
    Contact,
    "contacts",
    _("Contacts"),
    _("Contact"),
    selectors.contact_list,
    (
        Column("last_name", _("Name")),
        Column("title", _("Title")),
        Column("account", _("Account"), sortable=False),
        Column("email", _("Email")),
        Column("phone", _("Phone")),
        Column("owner", _("Owner"), sortable=False),
    ),
    ("first_name", "last_name", "email", "phone", "mobile"),
    CONTACT_FIELDS,
    filters=("role", "owner"),
)
LEADS = ObjectPages(
    "lead",
    Lead,
    "leads",
    _("Leads"),
    _("Lead"),
    selectors.lead_list,
    (
        Column("last_name", _("Name")),
        Column("company", _("Company")),
        Column("status", _("Status")),
        Column("rating", _("Rating")),
        Column("score", _("Score")),
        Column("owner", _("Owner"), sortable=False),
    ),
    ("first_name", "last_name", "company", "email", "phone"),
    LEAD_FIELDS,
    filters=("status", "rating", "source", "owner"),
)
PAGES = {p.slug: p for p in (ACCOUNTS, CONTACTS, LEADS)}
PAGE_SIZE = 25


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def record_form(
    pages: ObjectPages, user: User, data: Any = None, instance: Model | None = None
) -> forms.ModelForm[Any]:
    """A form for the editable fields; choices of related records and picklists are limited
    to what the user may see and to active values."""
    form_class = forms.modelform_factory(
        pages.model, fields=pages.form_fields, formfield_callback=_formfield
    )
    form = form_class(data=data, instance=instance)
    form.custom_definitions = add_custom_fields(  # type: ignore[attr-defined]
        form, pages.object_type, getattr(instance, "custom_fields", None)
    )
    for name, form_field in form.fields.items():
        if name not in pages.form_fields:
            continue
        model_field = pages.model._meta.get_field(name)
        related = getattr(model_field, "related_model", None)
        if related is PicklistValue:
            form_field.label_from_instance = _picklist_label  # type: ignore[attr-defined]
            picklist = model_field.remote_field.limit_choices_to["picklist"]  # type: ignore[union-attr,index]
            form_field.queryset = PicklistValue.objects.filter(  # type: ignore[attr-defined]
                Q(picklist=picklist)
                & (Q(is_active=True) | Q(pk=getattr(instance, f"{name}_id", None)))
            )
        elif related is Account:
            form_field.queryset = selectors.account_list(user)  # type: ignore[attr-defined]
        elif related is Contact:
            form_field.queryset = selectors.contact_list(user)  # type: ignore[attr-defined]
    return form


def form_name(error_name: str) -> str:
    """The form field an error of the services belongs to: custom_fields.<key> → cf_<key>."""
    if error_name.startswith("custom_fields."):
        return "cf_" + error_name.removeprefix("custom_fields.")
    return error_name


def _picklist_label(value: PicklistValue) -> str:
    return value.display(get_language() or "en")


def _formfield(model_field: Any, **kwargs: Any) -> Any:
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"  # "example.com" means https://example.com
    return model_field.formfield(**kwargs)


# --- Lists: columns, filters, sorting, shared by the page, bulk actions and the CSV export ---

NAME_SORT = {"account": "name", "contact": "last_name", "lead": "last_name"}
RELATED_SORT: dict[type[Model], str] = {
    PicklistValue: "label",
    Account: "name",
    Contact: "last_name",
    User: "full_name",
}
EXTRA_COLUMNS = ("owner", "tags", "created_at", "updated_at")
MAX_BULK = 5000


@dataclass(frozen=True)
class ListColumn:
    id: str  # a field name, or cf_<key>
    label: Any
    sort: str | None  # the value of ?sort= for this column, when it sorts
    custom: CustomField | None = None


def record_name(obj: Model) -> str:
    """The first column of a list (and of its export): the record's name."""
    if isinstance(obj, Lead):
        return person_name(obj.first_name, obj.last_name)
    return str(obj)


def standard_columns(pages: ObjectPages) -> list[ListColumn]:
    labels = {
        "owner": _("Owner"),
        "tags": _("Tags"),
        "created_at": _("Created"),
        "updated_at": _("Last changed"),
    }
    columns = []
    for name in (*pages.form_fields, *EXTRA_COLUMNS):
        if name == NAME_SORT[pages.object_type] and name == "name":
            continue  # the name column is always there
        field: Any = pages.model._meta.get_field(name)
        label = labels.get(name) or capfirst(str(field.verbose_name))
        sortable = not field.many_to_many and (
            not field.is_relation or field.related_model in RELATED_SORT
        )
        columns.append(ListColumn(name, label, name if sortable else None))
    return columns


def custom_columns(fields: list[CustomField]) -> list[ListColumn]:
    language = get_language()
    return [
        ListColumn(
            f.param,
            f.display_label(language),
            None if f.field_type == FieldType.MULTI_CHOICE else f.param,
            f,
        )
        for f in fields
    ]


@dataclass
class ListState:
    """A list as the query string asks for it: search, filters, sort order, columns."""

    pages: ObjectPages
    q: str
    mine: bool
    sort: str
    filters: dict[str, str]  # standard filters: field name → value
    conditions: list[Condition]  # custom-field filters
    custom_params: dict[str, str]  # the cf_ parameters that filter
    errors: dict[str, list[str]]  # bad cf_ parameters, shown above the list
    available: list[ListColumn]
    columns: list[ListColumn]
    explicit_columns: bool  # chosen in the query string (a saved view) rather than remembered
    active_fields: list[CustomField]

    def query(self, *, columns: bool = True) -> str:
        """The canonical query string of this list (what a saved view stores)."""
        params: list[tuple[str, str]] = []
        if self.q:
            params.append(("q", self.q))
        params += [(name, value) for name, value in self.filters.items()]
        params += list(self.custom_params.items())
        if self.mine:
            params.append(("mine", "1"))
        if self.sort:
            params.append(("sort", self.sort))
        if columns:
            params.append(("cols", ",".join(c.id for c in self.columns) or "-"))
        return urlencode(params)

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.filters or self.custom_params or self.mine)


def list_state(pages: ObjectPages, user: User, params: Any) -> ListState:
    fields = definitions(pages.object_type, include_archived=True)
    active = [f for f in fields if f.is_active]
    conditions, errors = parse_lenient(pages.object_type, params, fields)
    custom_params = {c.param: str(params.get(c.param)).strip() for c in conditions}
    filters = {}
    for name in pages.filters:
        value = str(params.get(name, "")).strip()
        field = pages.model._meta.get_field(name)
        if value and (not field.is_relation or value.isdigit()):
            filters[name] = value
    available = standard_columns(pages) + custom_columns(active)
    by_id = {c.id: c for c in available}
    wanted: list[str] | None
    explicit = "cols" in params
    if explicit:
        wanted = [c for c in str(params.get("cols", "")).split(",") if c]
    else:
        wanted = columns_for(user, pages.object_type)
    if wanted is None:
        wanted = [c.field for c in pages.columns[1:]]
    columns = [by_id[c] for c in dict.fromkeys(wanted) if c in by_id]
    sortable = {c.sort for c in available if c.sort} | {
        NAME_SORT[pages.object_type],
        "created_at",
        "updated_at",
    }
    sort = str(params.get("sort", ""))
    return ListState(
        pages=pages,
        q=str(params.get("q", "")).strip(),
        mine=bool(params.get("mine")),
        sort=sort if sort.lstrip("-") in sortable else "",
        filters=filters,
        conditions=conditions,
        custom_params=custom_params,
        errors=errors,
        available=available,
        columns=columns,
        explicit_columns=explicit,
        active_fields=active,
    )


def list_queryset(state: ListState, user: User, action: str = Action.READ) -> QuerySet[Any]:
    """The records of the list, in its order, with what its columns show loaded up front."""
    pages = state.pages
    queryset = pages.list_selector(user)
    if action != Action.READ:  # e.g. export: readable and within the action's scope
        queryset = visible(user, queryset, pages.object_type, action)
    if state.q:
        condition = Q()
        for name in pages.search_fields:
            condition |= Q(**{f"{name}__icontains": state.q})
        queryset = queryset.filter(condition)
    queryset = queryset.filter(**state.filters)
    queryset = apply_custom_filters(queryset, state.conditions)
    if state.mine:
        queryset = queryset.filter(owner=user)
    related = [
        c.id
        for c in state.columns
        if c.custom is None and c.id != "tags" and pages.model._meta.get_field(c.id).is_relation
    ]
    if related:
        queryset = queryset.select_related(*related)
    if any(c.id == "tags" for c in state.columns):
        queryset = queryset.prefetch_related("tags")
    return _sorted(queryset, state)


def _sorted(queryset: QuerySet[Any], state: ListState) -> QuerySet[Any]:
    if not state.sort:
        return queryset
    descending = state.sort.startswith("-")
    name = state.sort.lstrip("-")
    custom = {c.id: c.custom for c in state.available if c.custom is not None}
    field: Any
    expression: Any
    if name in custom:
        expression = value_expression(custom[name])
    else:
        field = state.pages.model._meta.get_field(name)
        if field.is_relation:
            name = f"{name}__{RELATED_SORT[field.related_model]}"
        expression = F(name)
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return queryset.order_by(ordered, "pk")


def cell(obj: Model, column: ListColumn, language: str | None, *, iso_dates: bool = False) -> Any:
    """What a list cell shows (the template formats dates and numbers; the export keeps
    dates as YYYY-MM-DD)."""
    if column.custom is not None:
        stored = getattr(obj, "custom_fields", None) or {}
        value = stored.get(column.custom.key)
        if iso_dates and column.custom.field_type == FieldType.DATE:
            return value or ""
        return cf_display(column.custom, value, language)
    if column.id == "tags":
        return ", ".join(t.name for t in obj.tags.all())  # type: ignore[attr-defined]
    return display_value(obj, column.id)


def _filter_widgets(pages: ObjectPages, state: ListState) -> list[dict[str, Any]]:
    """The standard filters' selects: choices, picklist values (one query), owners."""
    picklists = {}
    fields: dict[str, Any] = {name: pages.model._meta.get_field(name) for name in pages.filters}
    for name, field in fields.items():
        if field.related_model is PicklistValue:
            picklists[name] = field.remote_field.limit_choices_to["picklist"]
    values: dict[str, list[PicklistValue]] = {}
    for value in PicklistValue.objects.filter(picklist__in=picklists.values()):
        values.setdefault(value.picklist, []).append(value)
    language = get_language() or "en"
    widgets = []
    for name, field in fields.items():
        if name == "owner":
            options = [(str(u.pk), str(u)) for u in User.objects.filter(is_active=True)]
        elif name in picklists:
            options = [(str(v.pk), v.display(language)) for v in values.get(picklists[name], [])]
        else:
            options = [(str(v), str(label)) for v, label in field.choices or [] if v]
        widgets.append(
            {
                "name": name,
                "label": _("Owner") if name == "owner" else capfirst(str(field.verbose_name)),
                "options": options,
                "selected": state.filters.get(name, ""),
            }
        )
    return widgets


def _custom_filter_widgets(state: ListState, params: Any) -> list[dict[str, Any]]:
    language = get_language()
    widgets = []
    for field in state.active_fields:
        widget: dict[str, Any] = {
            "field": field,
            "label": field.display_label(language),
            "param": field.param,
            "value": params.get(field.param, ""),
        }
        if field.field_type in RANGE_TYPES:
            widget.update(
                kind="range",
                input_type="date" if field.field_type == FieldType.DATE else "number",
                step="1" if field.field_type == FieldType.NUMBER else "any",
                gte=params.get(f"{field.param}__gte", ""),
                lte=params.get(f"{field.param}__lte", ""),
            )
        elif field.field_type == FieldType.BOOLEAN:
            widget.update(kind="select", options=[("true", _("Yes")), ("false", _("No"))])
        elif field.field_type in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            widget.update(
                kind="select",
                options=[
                    (c["code"], field.choice_label(c["code"], language)) for c in field.choices
                ],
            )
        else:
            widget.update(kind="text")
        widgets.append(widget)
    return widgets


def _list_url(pages: ObjectPages, query: str = "") -> str:
    url = reverse(f"{pages.slug}_list")
    return f"{url}?{query}" if query else url


@login_required
def record_list(request: HttpRequest, slug: str) -> HttpResponse:
    pages = PAGES[slug]
    user = _actor(request)
    state = list_state(pages, user, request.GET)
    page = Paginator(list_queryset(state, user), PAGE_SIZE).get_page(request.GET.get("page"))
    language = get_language()
    rows = [(obj, [cell(obj, c, language) for c in state.columns]) for obj in page.object_list]
    views = list(views_for(user, pages.object_type))
    current_view = next((v for v in views if str(v.pk) == request.GET.get("view")), None)
    scope = {a: scope_for(user, pages.object_type, a) for a in Action.values}
    chosen = {c.id for c in state.columns}
    return render(
        request,
        "customers/list.html",
        {
            "pages": pages,
            "state": state,
            "page": page,
            "rows": rows,
            "q": state.q,
            "sort": state.sort,
            "name_sort": NAME_SORT[pages.object_type],
            "filter_widgets": _filter_widgets(pages, state),
            "custom_filter_widgets": _custom_filter_widgets(state, request.GET),
            "custom_filters_open": bool(state.custom_params or state.errors),
            "filter_errors": state.errors,
            "mine": state.mine,
            "column_choices": [(c, c.id in chosen) for c in state.available],
            "query": state.query(),
            "views": views,
            "current_view": current_view,
            "can_create": scope[Action.CREATE] == Scope.ALL,
            "can_edit_any": scope[Action.EDIT] != Scope.NONE,
            "can_delete_any": scope[Action.DELETE] != Scope.NONE,
            "can_export": scope[Action.EXPORT] != Scope.NONE,
            "bulk_allowed": scope[Action.EDIT] != Scope.NONE or scope[Action.DELETE] != Scope.NONE,
            "import_url": f"/imports/new/?object={pages.object_type}",
            "conversion_requests": _conversion_requests(pages, user, scope),
        },
    )


def _conversion_requests(pages: ObjectPages, user: User, scope: dict[str, str]) -> int | None:
    """On the lead list: how many conversion requests wait for this person (managers), or
    None where the link has no use (other lists; people who only edit their own leads and
    have never asked)."""
    if pages.object_type != "lead" or scope[Action.EDIT] == Scope.NONE:
        return None
    if scope[Action.EDIT] in (Scope.TEAM, Scope.ALL):
        return requests_to_decide(user).count()
    return 0 if ConversionRequest.objects.filter(requested_by=user).exists() else None


@login_required
@require_POST
def record_columns(request: HttpRequest, slug: str) -> HttpResponse:
    """Remember the columns chosen for this list (or forget them: back to the default)."""
    pages = PAGES[slug]
    user = _actor(request)
    query = clean_query(request.POST.get("query", ""))
    if request.POST.get("reset"):
        columns_save(user=user, object_type=pages.object_type, columns=None)
    else:
        state = list_state(pages, user, {})
        known = {c.id for c in state.available}
        chosen = [c for c in request.POST.getlist("cols") if c in known]
        columns_save(user=user, object_type=pages.object_type, columns=chosen)
    # The remembered columns apply from now on, so they leave the query string.
    remaining = urlencode([(k, v) for k, v in parse_qsl(query) if k != "cols"])
    return redirect(_list_url(pages, remaining))


# --- Bulk actions -----------------------------------------------------------------------------


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(User.objects.none(), label=_("New owner"))

    def __init__(self, *args: Any, actor: User, object_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(actor, object_type)  # type: ignore[attr-defined]


class TagForm(forms.Form):
    tag = forms.ModelChoiceField(Tag.objects.all(), label=_("Existing tag"), required=False)
    new_tag = forms.CharField(label=_("Or a new tag"), max_length=60, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("tag") and not (data.get("new_tag") or "").strip():
            raise ValidationError(_("Choose a tag or type a new one."))
        return data


BULK_ACTIONS = {"assign": Action.EDIT, "tag": Action.EDIT, "delete": Action.DELETE}


def _selected(pages: ObjectPages, user: User, posted_data: Any) -> QuerySet[Any] | None:
    """The readable records a bulk action is about: the ticked ones, or every record of the
    list (its filters travel in `query`) when "all matching" is ticked; None if neither."""
    if posted_data.get("all") == "1":
        params = QueryDict(clean_query(posted_data.get("query", "")))
        return list_queryset(list_state(pages, user, params), user)
    ids = [i for i in posted_data.getlist("ids") if i.isdigit()]
    if not ids:
        return None
    return pages.list_selector(user).filter(pk__in=ids)


@login_required
@require_POST
def record_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Assign an owner, add a tag or delete, for the ticked records or all matching ones.

    The first post shows what will happen (how many records, how many the role does not allow
    and will be skipped) and asks for the owner or tag; the confirming post does it."""
    pages = PAGES[slug]
    user = _actor(request)
    query = clean_query(request.POST.get("query", ""))
    back = _list_url(pages, query)
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        messages.error(request, _("Choose what to do with the selected records."))
        return redirect(back)
    selection = _selected(pages, user, request.POST)
    if selection is None:
        messages.error(request, _("Select at least one record first."))
        return redirect(back)
    pks = list(selection.values_list("pk", flat=True)[: MAX_BULK + 1])
    if not pks:
        if request.POST.get("all") != "1":
            raise Http404  # ids the user cannot see answer like ids that do not exist
        messages.error(request, _("No record matches the list's filters any more."))
        return redirect(back)
    if len(pks) > MAX_BULK:
        messages.error(
            request,
            _("At most %(n)s records at once; narrow the list with filters first.")
            % {"n": MAX_BULK},
        )
        return redirect(back)
    allowed = visible(
        user,
        pages.model._default_manager.filter(pk__in=pks),
        pages.object_type,
        BULK_ACTIONS[action],
    ).count()
    form: forms.Form | None = None
    confirming = request.POST.get("confirm") == "1"
    data = request.POST if confirming else None
    if action == "assign":
        form = AssignForm(data, actor=user, object_type=pages.object_type)
    elif action == "tag":
        form = TagForm(data)
    if confirming and (form is None or form.is_valid()) and allowed:
        model: Any = pages.model
        try:
            if action == "assign":
                assert form is not None
                owner = form.cleaned_data["owner"]
                result = services.records_assign_owner(
                    model, actor=user, pks=pks, owner=owner, channel="web"
                )
                done = ngettext(
                    "%(n)s record now belongs to %(owner)s.",
                    "%(n)s records now belong to %(owner)s.",
                    result.done,
                ) % {"n": result.done, "owner": owner}
            elif action == "tag":
                assert form is not None
                tag = form.cleaned_data["tag"] or form.cleaned_data["new_tag"]
                result = services.records_add_tag(
                    model, actor=user, pks=pks, tag=tag, channel="web"
                )
                done = ngettext(
                    "%(n)s record tagged “%(tag)s”.", "%(n)s records tagged “%(tag)s”.", result.done
                ) % {"n": result.done, "tag": tag}
            else:
                result = services.records_delete(model, actor=user, pks=pks, channel="web")
                done = ngettext("%(n)s record deleted.", "%(n)s records deleted.", result.done) % {
                    "n": result.done
                }
        except ValidationError as exc:
            assert form is not None
            show_errors(form, exc)
        else:
            messages.success(request, done)
            if result.skipped:
                messages.warning(
                    request,
                    ngettext(
                        "%(n)s record was skipped: your role does not allow this on it.",
                        "%(n)s records were skipped: your role does not allow this on them.",
                        result.skipped,
                    )
                    % {"n": result.skipped},
                )
            return redirect(back)
    return render(
        request,
        "customers/bulk.html",
        {
            "pages": pages,
            "action": action,
            "form": form,
            "total": len(pks),
            "allowed": allowed,
            "skipped": len(pks) - allowed,
            "all_matching": request.POST.get("all") == "1",
            "ids": [] if request.POST.get("all") == "1" else [str(pk) for pk in pks],
            "query": query,
            "back": back,
        },
        status=400 if confirming else 200,
    )


# --- CSV export --------------------------------------------------------------------------------


EXPORT_CHUNK = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().-]*$")


def csv_text(value: Any) -> str:
    """A cell of the export as text. Text that a spreadsheet would run as a formula gets a
    leading apostrophe (numbers and phone numbers such as +86 138... stay as they are)."""
    if value is None:
        return ""
    if value is True or value is False:
        return str(_("Yes") if value else _("No"))
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


@login_required
def record_export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The list as it is filtered and sorted, with its columns, as CSV (UTF-8 with a byte
    order mark, so Excel shows Chinese correctly); only records within the role's export
    scope."""
    pages = PAGES[slug]
    user = _actor(request)
    if scope_for(user, pages.object_type, Action.EXPORT) == Scope.NONE:
        return HttpResponseForbidden(
            _("Your role does not allow exporting %(objects)s. Ask a workspace admin.")
            % {"objects": pages.plural}
        )
    state = list_state(pages, user, request.GET)
    queryset = list_queryset(state, user, Action.EXPORT)
    language = get_language()
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([str(_("Name")), *(str(c.label) for c in state.columns)])
        for obj in queryset.iterator(chunk_size=EXPORT_CHUNK):
            yield writer.writerow(
                [
                    csv_text(record_name(obj)),
                    *(csv_text(cell(obj, c, language, iso_dates=True)) for c in state.columns),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    filename = f"{slug}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def record_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    pages = PAGES[slug]
    user = _actor(request)
    obj = access_or_404(user, pages.list_selector(user), pk, pages.object_type)
    fields = [
        (obj._meta.get_field(name).verbose_name, display_value(obj, name))
        for name in pages.form_fields
    ]
    language = get_language()
    stored = getattr(obj, "custom_fields", None) or {}
    custom = [
        (
            field.display_label(language),
            cf_display(field, stored.get(field.key), language),
            cf_link(field, stored.get(field.key)),
        )
        for field in definitions(pages.object_type)
    ]
    extra: dict[str, Any] = {}
    if isinstance(obj, Account):
        extra["branches"] = list(selectors.account_list(user).filter(parent=obj)[:50])
        extra.update(account360.page_context(request, obj))
    if isinstance(obj, Contact):
        extra["employments"] = obj.employments.all()
    return render(
        request,
        "customers/detail.html",
        {
            "pages": pages,
            "obj": obj,
            "fields": fields,
            "custom": custom,
            "history": history_of(obj)[:50],
            "can_edit": can(user, Action.EDIT, obj, pages.object_type),
            **extra,
        },
    )


def display_value(obj: Model, name: str) -> Any:
    """A field as people read it: choice labels, picklist labels in their language."""
    getter = getattr(obj, f"get_{name}_display", None)
    value = getter() if getter else getattr(obj, name, "")
    if isinstance(value, PicklistValue):
        return value.display(get_language() or "en")
    return "" if value is None else value


@login_required
def record_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    pages = PAGES[slug]
    user = _actor(request)
    obj = access_or_404(user, pages.list_selector(user), pk, pages.object_type) if pk else None
    # Refuse up front rather than let someone fill in a form that cannot be saved.
    try:
        if obj is None:
            require_create(user, pages.object_type)
        elif not can(user, Action.EDIT, obj, pages.object_type):
            raise PermissionDenied(_("Your role does not allow editing this record."))
    except PermissionDenied as exc:
        raise Forbidden(str(exc)) from exc
    identity = _identity(pages, obj)  # before the form writes the posted values into obj
    form = record_form(pages, user, data=posted(request), instance=obj)
    if obj is None and request.method == "GET":
        # Links such as "New contact" on an account page pre-fill fields (?account=<id>).
        for name in pages.form_fields:
            if request.GET.get(name):
                form.initial[name] = request.GET[name]
    duplicates: list[Match] = []
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in pages.form_fields}
        data["custom_fields"] = custom_data(form, form.custom_definitions)  # type: ignore[attr-defined]
        if not request.POST.get("confirm_duplicates") and _identity(pages, data) != identity:
            duplicates = find_duplicates(
                pages.model, data, user=user, exclude_pk=obj.pk if obj else None
            )
    if request.method == "POST" and form.is_valid() and not duplicates:
        try:
            if obj is None:
                model: Any = pages.model
                obj = services.record_create(
                    model,
                    actor=user,
                    data=data,
                    channel="web",
                )
                messages.success(request, _("Saved."))
            else:
                obj = services.record_update(
                    obj,
                    actor=user,
                    data=data,
                    channel="web",
                )
                messages.success(request, _("Changes saved."))
            return redirect(reverse(f"{slug}_detail", args=[obj.pk]))
        except ValidationError as exc:
            show_errors(form, exc, form_name)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "customers/form.html",
        {
            "pages": pages,
            "form": form,
            "obj": obj,
            "standard_fields": [form[name] for name in pages.form_fields],
            "custom_form_fields": [form[f.param] for f in form.custom_definitions],  # type: ignore[attr-defined]
            "duplicates": [(m, reason_labels(m)) for m in duplicates if m.record is not None],
            "hidden_duplicates": sum(1 for m in duplicates if m.record is None),
            "any_duplicates": bool(duplicates),
        },
        status=200 if duplicates else status,
    )


def _identity(pages: ObjectPages, source: Model | dict[str, Any] | None) -> dict[str, Any] | None:
    """What duplicates are recognised by (emails, phones, name, city or account), of a record
    or of posted data; None for a record not yet created, so a new one is always checked."""
    if source is None:
        return None
    rule = RULES[pages.model]
    place = "account" if rule.place == "account_id" else rule.place
    names = (*rule.emails, *rule.phones, *rule.name_fields, place)
    if isinstance(source, dict):
        return {name: source.get(name) for name in names}
    return {name: getattr(source, name) for name in names}


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Results grouped by type; the header's search box asks for the short form as you type."""
    from .search import MIN_LENGTH, global_search

    term = request.GET.get("q", "").strip()
    compact = bool(request.headers.get("HX-Request"))
    groups = global_search(_actor(request), term, per_type=5 if compact else 25)
    template = "customers/_search_results.html" if compact else "customers/search.html"
    return render(
        request,
        template,
        {
            "q": term,
            "groups": groups,
            "too_short": 0 < len(term) < MIN_LENGTH,
            "any": any(g.results for g in groups),
        },
    )


urlpatterns = [
    path("search/", search, name="search"),
] + [
    route
    for slug in PAGES
    for route in (
        path(f"{slug}/", record_list, {"slug": slug}, name=f"{slug}_list"),
        path(f"{slug}/columns/", record_columns, {"slug": slug}, name=f"{slug}_columns"),
        path(f"{slug}/bulk/", record_bulk, {"slug": slug}, name=f"{slug}_bulk"),
        path(f"{slug}/export.csv", record_export, {"slug": slug}, name=f"{slug}_export"),
        path(f"{slug}/new/", record_edit, {"slug": slug}, name=f"{slug}_create"),
        path(f"{slug}/<int:pk>/", record_detail, {"slug": slug}, name=f"{slug}_detail"),
        path(f"{slug}/<int:pk>/edit/", record_edit, {"slug": slug}, name=f"{slug}_edit"),
    )
]
