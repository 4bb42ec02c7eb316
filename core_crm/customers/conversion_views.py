"""Lead conversion pages: the convert screen (link an existing account and contact or create
them, and fill in what new records need), asking for a manager's approval where the workspace
requires it, and the managers' list of requests to decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, access_or_404, can
from core_crm.customfields.forms import form_field
from core_crm.customfields.models import CustomField
from core_crm.users.models import User

from . import selectors
from .conversion import (
    ConversionError,
    awaits_approval,
    conversion_decide,
    conversion_request,
    fields_to_ask,
    lead_convert,
    requests_to_decide,
)
from .duplicates import find_duplicates
from .models import Account, Contact, ConversionRequest, Lead

NEW = "new"
CANDIDATES = 8


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def account_candidates(lead: Lead, user: User) -> list[Account]:
    """Existing accounts the lead may belong to, that the user can see: likely duplicates of
    the account the lead would create, then accounts whose name contains the company's."""
    found: list[Account] = []
    if lead.company:
        data = {"name": lead.company, "city": lead.city, "phone": lead.phone, "email": ""}
        matches = find_duplicates(Account, data, user=user, limit=CANDIDATES)
        found = [m.record for m in matches if isinstance(m.record, Account)]
        more = (
            selectors.account_list(user)
            .filter(name__icontains=lead.company.strip())
            .exclude(pk__in=[a.pk for a in found])
            .order_by("name")[: CANDIDATES - len(found)]
        )
        found += list(more)
    return found


def contact_candidates(lead: Lead, user: User) -> list[Contact]:
    """Existing contacts that look like the lead's person (same email, phone or similar name)."""
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "account": None,
    }
    matches = find_duplicates(Contact, data, user=user, limit=CANDIDATES)
    return [m.record for m in matches if isinstance(m.record, Contact)]


class ConvertForm(forms.Form):
    """Which account and contact the lead becomes, and the values new records must have."""

    account = forms.ChoiceField(label=gettext_lazy("Account"), widget=forms.RadioSelect)
    contact = forms.ChoiceField(label=gettext_lazy("Contact"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, lead: Lead, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead = lead
        self.accounts = {str(a.pk): a for a in account_candidates(lead, user)}
        self.contacts = {str(c.pk): c for c in contact_candidates(lead, user)}
        new_account = lead.company or str(lead)
        self.fields["account"].choices = [  # type: ignore[attr-defined]
            (NEW, _("Create a new account “%(name)s”") % {"name": new_account}),
            *((pk, _describe_account(a)) for pk, a in self.accounts.items()),
        ]
        self.fields["contact"].choices = [  # type: ignore[attr-defined]
            (NEW, _("Create a new contact “%(name)s”") % {"name": lead}),
            *((pk, _describe_contact(c)) for pk, c in self.contacts.items()),
        ]
        self.initial.update({"account": NEW, "contact": NEW})
        self.asked: dict[str, list[CustomField]] = {
            side: fields_to_ask(lead, side) for side in ("account", "contact")
        }
        for side, fields in self.asked.items():
            for field in fields:
                django_field = form_field(field)
                django_field.required = False  # required only when the record is created
                self.fields[self.param(side, field)] = django_field

    @staticmethod
    def param(side: str, field: CustomField) -> str:
        return f"{side}_{field.param}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for side, fields in self.asked.items():
            if data.get(side) != NEW:
                continue
            for field in fields:
                name = self.param(side, field)
                if name not in self.errors and data.get(name) in (None, "", []):
                    self.add_error(name, _("This field is required."))
        return data

    def side_fields(self, side: str) -> list[forms.BoundField]:
        return [self[self.param(side, f)] for f in self.asked[side]]

    def values(self, side: str) -> dict[str, Any]:
        return {f.key: self.cleaned_data.get(self.param(side, f)) for f in self.asked[side]}

    def show(self, exc: ValidationError) -> None:
        """Put the service's errors (account.custom_fields.<key>, contact.<field>…) on the
        fields they name, the rest above the form."""
        for name, errors in exc.message_dict.items():
            side, _dot, rest = name.partition(".")
            key = rest.removeprefix("custom_fields.")
            target = None
            for field in self.asked.get(side, []):
                if field.key == key:
                    target = self.param(side, field)
            for error in errors:
                if target:
                    self.add_error(target, error)
                else:
                    label = _("New account") if side == "account" else _("New contact")
                    self.add_error(None, f"{label}: {error}")


def _describe_account(account: Account) -> str:
    return " · ".join(str(part) for part in (account.name, account.city) if part)


def _describe_contact(contact: Contact) -> str:
    company = contact.account.name if contact.account_id else ""  # type: ignore[union-attr]
    parts = (str(contact), contact.email, company)
    return " · ".join(part for part in parts if part)


@login_required
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    lead = access_or_404(user, selectors.lead_list(user), pk, "lead")
    detail = reverse("leads_detail", args=[lead.pk])
    if lead.status == Lead.Status.CONVERTED:
        messages.info(request, _("This lead was already converted."))
        return redirect(detail)
    if not can(user, Action.EDIT, lead, "lead"):
        raise Forbidden(_("Your role does not allow editing this lead."))
    history = list(
        lead.conversion_requests.select_related("requested_by", "decided_by").order_by(
            "-requested_at"
        )[:5]
    )
    if awaits_approval(user, lead):
        return _request_approval(request, user, lead, history)
    form = ConvertForm(request.POST or None, lead=lead, user=user)
    if request.method == "POST" and form.is_valid():
        account = form.accounts.get(form.cleaned_data["account"])
        contact = form.contacts.get(form.cleaned_data["contact"])
        try:
            result = lead_convert(
                lead,
                actor=user,
                channel="web",
                account=account,
                contact=contact,
                account_values=form.values("account") if account is None else None,
                contact_values=form.values("contact") if contact is None else None,
            )
        except ValidationError as exc:
            form.show(exc)
        except (ConversionError, PermissionDenied) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Lead converted: %(account)s, %(contact)s.")
                % {"account": result.account, "contact": result.contact},
            )
            return redirect(reverse("customers_detail", args=[result.account.pk]))
    return render(
        request,
        "customers/conversion/convert.html",
        {
            "lead": lead,
            "form": form,
            "account_fields": form.side_fields("account"),
            "contact_fields": form.side_fields("contact"),
            "history": history,
        },
        status=400 if request.method == "POST" else 200,
    )


def _request_approval(
    request: HttpRequest, user: User, lead: Lead, history: list[ConversionRequest]
) -> HttpResponse:
    pending = next((r for r in history if r.decision == ConversionRequest.Decision.PENDING), None)
    error = ""
    if request.method == "POST" and pending is None:
        comment = request.POST.get("comment", "").strip()[:2000]
        try:
            conversion_request(lead, actor=user, comment=comment)
        except (ConversionError, PermissionDenied) as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                _("Approval requested. You can convert the lead once a manager approves."),
            )
            return redirect(reverse("lead_convert", args=[lead.pk]))
    return render(
        request,
        "customers/conversion/request.html",
        {"lead": lead, "pending": pending, "history": history, "error": error},
        status=400 if error else 200,
    )


@login_required
def requests_page(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    mine = (
        ConversionRequest.objects.filter(requested_by=user)
        .select_related("lead", "decided_by")
        .order_by("-requested_at")[:20]
    )
    return render(
        request,
        "customers/conversion/requests.html",
        {"to_decide": list(requests_to_decide(user)[:200]), "mine": list(mine)},
    )


@login_required
@require_POST
def decide(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _actor(request)
    # Only requests this person may decide; any other id answers like a missing one.
    item = get_object_or_404(requests_to_decide(user), pk=request_id)
    approve = request.POST.get("decision") == "approve"
    comment = request.POST.get("comment", "").strip()[:2000]
    try:
        result = conversion_decide(item, actor=user, approve=approve, comment=comment)
    except (ConversionError, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect("lead_conversion_requests")
    if not approve:
        messages.success(
            request, _("Rejected. %(name)s can see your comment.") % {"name": item.requested_by}
        )
    elif result is not None:
        messages.success(
            request,
            _("Approved and converted: %(account)s, %(contact)s.")
            % {"account": result.account, "contact": result.contact},
        )
    else:
        messages.success(
            request,
            _("Approved. The lead needs more details to convert; %(name)s can now convert it.")
            % {"name": item.requested_by},
        )
    return redirect("lead_conversion_requests")


urlpatterns = [
    path("leads/<int:pk>/convert/", convert, name="lead_convert"),
    path("leads/conversion-requests/", requests_page, name="lead_conversion_requests"),
    path(
        "leads/conversion-requests/<int:request_id>/decide/",
        decide,
        name="lead_conversion_decide",
    ),
]
