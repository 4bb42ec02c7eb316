"""Workspace settings: Users (invite people, change roles and teams, deactivate with
reassignment) and Roles (permission matrices). Workspace admins only; anyone else gets 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.audit.selectors import history_of
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User
from guanxi.http import posted

from . import services
from .models import OBJECT_TYPES, Action, Invitation, Role, Scope, Team


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


# --- Settings → Roles -------------------------------------------------------------------------

OBJECT_LABELS = {
    "account": gettext_lazy("Accounts"),
    "contact": gettext_lazy("Contacts"),
    "lead": gettext_lazy("Leads"),
    "opportunity": gettext_lazy("Opportunities"),
    "quote": gettext_lazy("Quotes"),
    "activity": gettext_lazy("Activities"),
}
SCOPE_LABELS: dict[str, Any] = {
    Scope.ALL: gettext_lazy("All"),
    Scope.TEAM: gettext_lazy("Team"),
    Scope.OWN: gettext_lazy("Own"),
    Scope.NONE: gettext_lazy("None"),
}
CREATE_LABELS: dict[str, Any] = {
    Scope.ALL: gettext_lazy("Allowed"),
    Scope.NONE: gettext_lazy("Not allowed"),
}


def _cell(object_type: str, action: str) -> str:
    return f"{object_type}__{action}"


class RoleForm(forms.Form):
    """A role's name and its permission matrix: one select per object type and action."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        locked = role.key == services.ADMIN_ROLE_KEY
        self.fields["name"].initial = role.name
        for object_type in OBJECT_TYPES:
            for action in Action.values:
                labels = CREATE_LABELS if action == Action.CREATE else SCOPE_LABELS
                self.fields[_cell(object_type, action)] = forms.ChoiceField(
                    label=f"{OBJECT_LABELS[object_type]}: {Action(action).label}",
                    choices=[(s, labels[s]) for s in services.SCOPES_FOR_ACTION[action]],
                    initial=role.scope(object_type, action),
                    disabled=locked,  # the Administrator role keeps full rights
                    widget=forms.Select(
                        attrs={"class": "cursor-not-allowed bg-slate-100 text-slate-500"}
                        if locked
                        else {}
                    ),
                )

    def rows(self) -> list[tuple[Any, list[tuple[forms.BoundField, Any]]]]:
        """Per object type: its label, and each action's field with the action's label."""
        return [
            (
                OBJECT_LABELS[obj],
                [(self[_cell(obj, value)], label) for value, label in Action.choices],
            )
            for obj in OBJECT_TYPES
        ]

    def clean(self) -> dict[str, Any]:
        # The service's rules across cells, shown together with the field errors.
        data = super().clean() or {}
        cells = [_cell(obj, action) for obj in OBJECT_TYPES for action in Action.values]
        if all(name in data for name in cells):
            try:
                services.clean_permissions(self.role, self.permissions())
            except ValidationError as exc:
                self.add_service_errors(exc)
        return data

    def permissions(self) -> dict[str, dict[str, str]]:
        return {
            obj: {action: self.cleaned_data[_cell(obj, action)] for action in Action.values}
            for obj in OBJECT_TYPES
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        for key, errors in exc.message_dict.items():
            name = key.replace(".", "__")
            self.add_error(name if name in self.fields else None, errors)


class NewRoleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    copy_from = forms.ModelChoiceField(
        Role.objects.all(), label=gettext_lazy("Start from the permissions of")
    )


@login_required
def roles(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rows = [
        {
            "role": role,
            "reads": [
                (OBJECT_LABELS[obj], SCOPE_LABELS[Scope(role.scope(obj, Action.READ))])
                for obj in OBJECT_TYPES
            ],
        }
        for role in Role.objects.annotate(
            holders=Count("users", filter=Q(users__is_active=True)),
            inactive_holders=Count("users", filter=Q(users__is_active=False)),
        ).order_by("name")
    ]
    return render(
        request,
        "access/roles.html",
        {"rows": rows, "admin_key": services.ADMIN_ROLE_KEY},
    )


@login_required
def role_new(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = NewRoleForm(posted(request), initial={"copy_from": request.GET.get("from")})
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(
                actor=actor,
                name=form.cleaned_data["name"],
                copy_from=form.cleaned_data["copy_from"],
            )
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("Role “%(name)s” created; adjust its permissions below.") % {"name": role},
            )
            return redirect("settings_role", role_id=role.pk)
    return render(
        request,
        "access/role_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _role(role_id: int) -> Role:
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        raise Http404
    return role


@login_required
def role_edit(request: HttpRequest, role_id: int) -> HttpResponse:
    actor = _admin(request)
    role = _role(role_id)
    form = RoleForm(posted(request), role=role)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_update(
                actor=actor,
                role=role,
                name=form.cleaned_data["name"],
                permissions=form.permissions(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _(
                    "Role “%(name)s” saved. People holding it have the new rights from "
                    "their next page or API call."
                )
                % {"name": form.cleaned_data["name"]},
            )
            return redirect("settings_role", role_id=role.pk)
    holders = User.objects.filter(role=role, is_active=True).order_by("full_name", "email")
    return render(
        request,
        "access/role_edit.html",
        {
            "role": role,
            "form": form,
            "actions": Action.choices,
            "locked": role.key == services.ADMIN_ROLE_KEY,
            "holders": holders[:50],
            "holder_count": holders.count(),
            "history": history_of(role)[:20],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def role_delete(request: HttpRequest, role_id: int) -> HttpResponse:
    actor = _admin(request)
    role = _role(role_id)
    error = ""
    if request.method == "POST":
        try:
            services.role_delete(actor=actor, role=role)
        except services.AccessError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Role “%(name)s” deleted.") % {"name": role})
            return redirect("settings_roles")
    return render(
        request,
        "access/role_delete.html",
        {"role": role, "blockers": services.role_delete_blockers(role), "error": error},
        status=400 if error else 200,
    )


@login_required
def settings_home(request: HttpRequest) -> HttpResponse:
    """/settings/: the workspace settings for admins; everyone else has their API tokens."""
    user: User = request.user  # type: ignore[assignment]
    return redirect("settings_users" if user.is_workspace_admin else "api_tokens")
