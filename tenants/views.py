from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing.plans import PLANS
from guanxi.http import posted

from . import services
from .forms import SignupForm, WorkspaceFinderForm


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html", {"plans": PLANS})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(posted(request), initial={"subdomain": request.GET.get("subdomain", "")})
    status = 200
    if request.method == "POST":
        if services.signup_rate_exceeded(client_ip(request)):
            form.is_valid()
            form.add_error(
                None,
                _(
                    "Too many workspaces were created from your network in the "
                    "last hour. Please try again later."
                ),
            )
            status = 429
        elif form.is_valid():
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
                        "Too many workspaces were created from your network in "
                        "the last hour. Please try again later."
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
        services.workspace_finder_request(email=form.cleaned_data["email"])
        return redirect("workspace_finder_sent")
    return render(request, "tenants/finder.html", {"form": form})


def workspace_finder_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/finder_sent.html")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
