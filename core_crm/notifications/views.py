"""Pages of notifications: the bell's dropdown and count, the full list, and each person's
channel preferences."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.http import safe_url

from . import services
from .models import Kind

DROPDOWN_SIZE = 8


def _bell_context(user: Any) -> dict[str, Any]:
    return {"unread": services.unread_count(user)}


@login_required
def count(request: HttpRequest) -> HttpResponse:
    """The bell's badge, re-fetched by htmx every minute."""
    return render(request, "notifications/_badge.html", _bell_context(request.user))


@login_required
def dropdown(request: HttpRequest) -> HttpResponse:
    notes = list(services.inbox(request.user)[:DROPDOWN_SIZE])
    return render(
        request,
        "notifications/_dropdown.html",
        {"notes": notes, **_bell_context(request.user)},
    )


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(services.inbox(request.user), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page": page, "notes": page.object_list, **_bell_context(request.user)},
    )


@login_required
def open_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    note = services.mark_read(request.user, pk)
    return redirect(safe_url(request, note.url) or "notification_list")


@login_required
@require_POST
def read(request: HttpRequest, pk: int) -> HttpResponse:
    services.mark_read(request.user, pk)
    if request.htmx:  # type: ignore[attr-defined]
        return dropdown(request)
    return redirect(safe_url(request, request.POST.get("next", "")) or "notification_list")


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    done = services.mark_all_read(request.user)
    if request.htmx:  # type: ignore[attr-defined]
        return dropdown(request)
    if done:
        messages.success(request, _("All notifications are marked read."))
    return redirect(safe_url(request, request.POST.get("next", "")) or "notification_list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        choices = {
            kind: {
                "in_app": request.POST.get(f"{kind}-in_app") == "on",
                "email": request.POST.get(f"{kind}-email") == "on",
            }
            for kind in Kind.values
        }
        services.preferences_set(request.user, choices)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notification_preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"rows": services.preference_grid(request.user)},
    )
