"""Saved views: open one, save the current list as one, rename, share or delete your own."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.policy import PermissionDenied
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from . import selectors, services
from .models import ObjectType, SavedView

LIST_URLS = {"account": "customers_list", "contact": "contacts_list", "lead": "leads_list"}


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def list_url(view: SavedView) -> str:
    query = f"{view.query}&" if view.query else ""
    return f"{reverse(LIST_URLS[view.object_type])}?{query}view={view.pk}"


class ViewForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    shared = forms.BooleanField(
        label=gettext_lazy("Shared with everyone in the workspace"), required=False
    )


@login_required
def view_open(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect(list_url(selectors.access_view(_actor(request), pk)))


@login_required
@require_POST
def view_create(request: HttpRequest) -> HttpResponse:
    object_type = request.POST.get("object_type", "")
    back = reverse(LIST_URLS.get(object_type, "customers_list"))
    query = request.POST.get("query", "")
    try:
        view = services.view_create(
            actor=_actor(request),
            object_type=object_type,
            name=request.POST.get("name", ""),
            query=query,
            shared=bool(request.POST.get("shared")),
        )
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect(f"{back}?{services.clean_query(query)}")
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(list_url(view))


@login_required
def view_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    view = selectors.access_view(actor, pk, own=True)
    form = ViewForm(posted(request), initial={"name": view.name, "shared": view.shared})
    if request.method == "POST" and form.is_valid():
        try:
            services.view_update(
                actor=actor,
                view=view,
                name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Changes saved."))
            return redirect(list_url(view))
    return render(
        request,
        "savedviews/edit.html",
        {"view": view, "form": form, "object_label": ObjectType(view.object_type).label},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    view = selectors.access_view(actor, pk, own=True)
    services.view_delete(actor=actor, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(LIST_URLS[view.object_type])
