"""The API tokens page in a user's settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .models import PersonalAccessToken
from .services import token_create, token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            messages.error(request, _("Give the token a name, e.g. the tool that will use it."))
        else:
            _row, new_token = token_create(user=request.user, name=name[:100])  # type: ignore[arg-type]
    rows = PersonalAccessToken.objects.filter(user=request.user)  # type: ignore[misc]
    return render(request, "api/tokens.html", {"tokens": rows, "new_token": new_token})


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if token_revoke(user=request.user, token_id=token_id):  # type: ignore[arg-type]
        messages.success(request, _("The token was revoked. Programs using it are locked out."))
    return redirect("api_tokens")
