"""Settings → Users: invite people, change roles and teams, deactivate with reassignment."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User
from guanxi.http import posted

from . import services
from .models import Invitation, Role, Team


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    role = forms.ModelChoiceField(Role.objects.all(), label=gettext_lazy("Role"))
    team = forms.ModelChoiceField(Team.objects.all(), required=False, label=gettext_lazy("Team"))


class AccessForm(forms.Form):
    role = forms.ModelChoiceField(Role.objects.all(), label=gettext_lazy("Role"))
    teams = forms.ModelMultipleChoiceField(
        Team.objects.all(), required=False, label=gettext_lazy("Teams")
    )


class DeactivateForm(forms.Form):
    to_user = forms.ModelChoiceField(
        User.objects.none(), required=False, label=gettext_lazy("Give the records to")
    )
    to_team = forms.ModelChoiceField(
        Team.objects.all(), required=False, label=gettext_lazy("Or share them out across team")
    )
    children_follow = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Contacts go to the new owner of their account"),
    )


class AcceptForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Your full name"), max_length=200)
    password = forms.CharField(
        label=gettext_lazy("Choose a password"), widget=forms.PasswordInput, strip=False
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password"):
            try:
                validate_password(
                    data["password"],
                    user=User(email=self.email, full_name=data.get("full_name", "")),
                )
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_workspace_admin:
        raise Http404
    return user


@login_required
def users(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    invite = InviteForm(posted(request))
    if request.method == "POST" and invite.is_valid():
        try:
            services.invitation_create(
                actor=actor,
                email=invite.cleaned_data["email"],
                role=invite.cleaned_data["role"],
                team=invite.cleaned_data["team"],
            )
        except services.AccessError as exc:
            invite.add_error("email", str(exc))
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": invite.cleaned_data["email"]},
            )
            return redirect("settings_users")
    people = (
        User.objects.select_related("role")
        .prefetch_related("teams")
        .order_by("-is_active", "full_name")
    )
    pending = Invitation.objects.pending().select_related("role", "team")
    return render(
        request,
        "access/users.html",
        {
            "people": people,
            "invite": invite,
            "pending": pending,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def revoke_invitation(request: HttpRequest, invitation_id: int) -> HttpResponse:
    services.invitation_revoke(actor=_admin(request), invitation_id=invitation_id)
    messages.success(request, _("Invitation revoked."))
    return redirect("settings_users")


@login_required
def user_access(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = _admin(request)
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise Http404
    form = AccessForm(
        posted(request), initial={"role": person.role, "teams": list(person.teams.all())}
    )
    if request.method == "POST" and form.is_valid():
        services.user_set_role(
            actor=actor,
            user=person,
            role=form.cleaned_data["role"],
            teams=list(form.cleaned_data["teams"]),
        )
        messages.success(request, _("Access of %(name)s saved.") % {"name": person})
        return redirect("settings_users")
    return render(request, "access/user_access.html", {"person": person, "form": form})


@login_required
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = _admin(request)
    person = User.objects.filter(pk=user_id, is_active=True).first()
    if person is None:
        raise Http404
    form = DeactivateForm(posted(request))
    form.fields["to_user"].queryset = User.objects.filter(is_active=True).exclude(  # type: ignore[attr-defined]
        pk=person.pk
    )
    counts = {
        _("accounts"): Account.objects.filter(owner=person).count(),
        _("contacts"): Contact.objects.filter(owner=person).count(),
        _("leads"): Lead.objects.filter(owner=person).count(),
    }
    if request.method == "POST" and form.is_valid():
        try:
            result = services.user_deactivate(
                actor=actor,
                user=person,
                to_user=form.cleaned_data["to_user"],
                to_team=form.cleaned_data["to_team"],
                children_follow=form.cleaned_data["children_follow"],
            )
        except services.AccessError as exc:
            form.add_error(None, str(exc))
        else:
            moved = sum(result.moved.values())
            messages.success(
                request,
                _("%(name)s was deactivated; %(n)s records reassigned.")
                % {"name": person, "n": moved},
            )
            return redirect("settings_users")
    return render(
        request,
        "access/user_deactivate.html",
        {"person": person, "form": form, "counts": counts},
        status=400 if request.method == "POST" else 200,
    )


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "access/invitation_invalid.html", status=400)
    form = AcceptForm(posted(request), email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except services.AccessError:
            return render(request, "access/invitation_invalid.html", status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(
        request,
        "access/accept.html",
        {"invitation": invitation, "form": form},
        status=400 if request.method == "POST" else 200,
    )
