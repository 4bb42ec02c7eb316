"""HTML pages for accounts, contacts and leads: the same services and selectors as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, access_or_404, can, scope_for
from core_crm.audit.selectors import history_of
from core_crm.customfields.forms import add_custom_fields, custom_data
from core_crm.customfields.values import definitions
from core_crm.customfields.values import display as cf_display
from core_crm.customfields.values import link as cf_link
from core_crm.users.models import User
from guanxi.http import posted

from . import selectors, services
from .fields import ACCOUNT_FIELDS, CONTACT_FIELDS, LEAD_FIELDS
from .models import Account, Contact, Lead, PicklistValue


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
    filters=("kind", "value_class"),
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
    filters=("status", "rating"),
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


def _sorted(queryset: QuerySet[Any], pages: ObjectPages, sort: str) -> QuerySet[Any]:
    allowed = {c.field for c in pages.columns if c.sortable} | {"created_at", "updated_at"}
    if sort.lstrip("-") in allowed:
        return queryset.order_by(sort, "pk")
    return queryset


@login_required
def record_list(request: HttpRequest, slug: str) -> HttpResponse:
    pages = PAGES[slug]
    user = _actor(request)
    queryset = pages.list_selector(user)
    term = request.GET.get("q", "").strip()
    if term:
        condition = Q()
        for name in pages.search_fields:
            condition |= Q(**{f"{name}__icontains": term})
        queryset = queryset.filter(condition)
    active_filters = {}
    for name in pages.filters:
        value = request.GET.get(name, "")
        if value:
            queryset = queryset.filter(**{name: value})
            active_filters[name] = value
    if request.GET.get("mine"):
        queryset = queryset.filter(owner=user)
    sort = request.GET.get("sort", "")
    page = Paginator(_sorted(queryset, pages, sort), PAGE_SIZE).get_page(request.GET.get("page"))
    filter_choices = {
        name: getattr(pages.model._meta.get_field(name), "choices", None) or []
        for name in pages.filters
    }
    return render(
        request,
        "customers/list.html",
        {
            "pages": pages,
            "page": page,
            "q": term,
            "sort": sort,
            "active_filters": active_filters,
            "filter_choices": filter_choices,
            "mine": bool(request.GET.get("mine")),
            "can_create": scope_for(user, pages.object_type, Action.CREATE) == "all",
        },
    )


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
        extra["contacts"] = selectors.contact_list(user).filter(account=obj)
        extra["branches"] = selectors.account_list(user).filter(parent=obj)
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
    form = record_form(pages, user, data=posted(request), instance=obj)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in pages.form_fields}
        data["custom_fields"] = custom_data(form, form.custom_definitions)  # type: ignore[attr-defined]
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
            for name, errors in exc.message_dict.items():
                name = form_name(name)
                form.add_error(name if name in form.fields else None, errors)
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
        },
        status=status,
    )


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
            "labels": {p.object_type: p.plural for p in PAGES.values()},
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
        path(f"{slug}/new/", record_edit, {"slug": slug}, name=f"{slug}_create"),
        path(f"{slug}/<int:pk>/", record_detail, {"slug": slug}, name=f"{slug}_detail"),
        path(f"{slug}/<int:pk>/edit/", record_edit, {"slug": slug}, name=f"{slug}_edit"),
    )
]
