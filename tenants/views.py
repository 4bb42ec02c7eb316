from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing.plans import PLANS
from guanxi.http import posted
from guanxi.ratelimit import client_ip, hit
from tenants.db import tenant_connection

from . import services
from .forms import SignupForm, WorkspaceFinderForm


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html", {"plans": PLANS})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(posted(request), initial={"subdomain": request.GET.get("subdomain", "")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.tenant_signup(
                    company_name=data["company_name"],
                    slug=data["subdomain"],
                    full_name=data["full_name"],
                    email=data["email"],
                    password=data["password"],
                    client_ip=client_ip(request),
                    language=translation.get_language() or "en",
                )
            except services.SubdomainTaken:
                form.add_error("subdomain", _("This subdomain is already taken."))
            except services.SignupRateLimited:
                form.add_error(
                    None,
                    _(
                        "Too many signups from your network in the last hour. "
                        "Please try again later."
                    ),
                )
                status = 429
            else:
                return HttpResponseRedirect(result.handoff_url)
        if status == 200:
            status = 400
    return render(request, "tenants/signup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def workspace_finder(request: HttpRequest) -> HttpResponse:
    form = WorkspaceFinderForm(posted(request))
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        limit = settings.GUANXI_FINDER_RATE_LIMIT
        if hit(f"finder-ip:{client_ip(request)}", limit) and hit(f"finder-email:{email}", limit):
            services.workspace_finder_request(email=email)
        # The same answer either way: the finder reveals nothing, and a flood sends nothing.
        return redirect("workspace_finder_sent")
    return render(request, "tenants/finder.html", {"form": form})


def workspace_finder_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/finder_sent.html")


def _error_layout(request: HttpRequest) -> str:
    """Error pages keep the workspace header (menu, search) for someone signed in to it."""
    user = getattr(request, "user", None)
    on_workspace = tenant_connection().schema_name != settings.PUBLIC_SCHEMA_NAME
    return (
        "base.html"
        if on_workspace and user is not None and user.is_authenticated
        else ("public_base.html")
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"layout": _error_layout(request)}, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 with the reason the code gave (e.g. "Your role does not allow creating leads.")."""
    reason = str(exception) if exception is not None and str(exception) else ""
    return render(
        request, "403.html", {"layout": _error_layout(request), "reason": reason}, status=403
    )
