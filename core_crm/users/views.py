from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tenants.db import request_tenant
from tenants.services import signin_token_redeem


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from django.utils import timezone

    from .dashboard import my_day

    return render(
        request,
        "users/dashboard.html",
        {"tenant": request_tenant(request), "day": my_day(request.user), "now": timezone.now()},
    )


@never_cache
def handoff(request: HttpRequest, token: str) -> HttpResponse:
    """Redeem a sign-in token issued by the public site and sign the user in here."""
    user_id = signin_token_redeem(tenant=request_tenant(request), token=token)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return render(
            request,
            "users/handoff_invalid.html",
            {"message": _("This sign-in link has expired or was already used.")},
            status=400,
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("dashboard")
