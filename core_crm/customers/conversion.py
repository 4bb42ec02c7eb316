"""Lead conversion: a qualified lead becomes an account and a contact (new or existing), in one
transaction, with a link back. Where the workspace requires it, a manager approves first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.models import Action, Scope
from core_crm.access.policy import PermissionDenied, can, scope_for
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit
from core_crm.customfields.models import CustomField
from core_crm.customfields.values import clean_value, definitions, is_empty
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from . import selectors, services
from .models import Account, Contact, ConversionRequest, Lead


class ConversionError(Exception):
    """The lead cannot be converted as asked; the message says why."""


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    account: Account
    contact: Contact


def can_approve(actor: User, lead: Lead) -> bool:
    """Managers (team or all scope on leads) and admins who may edit the lead approve."""
    return scope_for(actor, "lead", Action.EDIT) in (Scope.TEAM, Scope.ALL) and can(
        actor, Action.EDIT, lead, "lead"
    )


def awaits_approval(actor: User, lead: Lead) -> bool:
    """Whether `actor` must ask a manager before converting `lead`: the workspace requires
    approval, the actor cannot approve it themself and no request for it was approved."""
    return (
        workspace_settings().lead_conversion_needs_approval
        and not can_approve(actor, lead)
        and not lead.conversion_requests.filter(
            decision=ConversionRequest.Decision.APPROVED
        ).exists()
    )


def _check_convertible(lead: Lead) -> None:
    if lead.status == Lead.Status.CONVERTED:
        raise ConversionError(_("This lead was already converted."))
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ConversionError(_("A disqualified lead cannot be converted. Requalify it first."))


def carried_values(lead: Lead, object_type: str) -> dict[str, Any]:
    """The lead's custom values that the new account or contact takes over: those whose key
    names an active custom field of `object_type` and whose value that field accepts."""
    carried: dict[str, Any] = {}
    stored = lead.custom_fields or {}
    for field in definitions(object_type):
        raw = stored.get(field.key)
        if is_empty(raw):
            continue
        try:
            value = clean_value(field, raw)
        except ValidationError:
            continue
        if value is not None:
            carried[field.key] = value
    return carried


def fields_to_ask(lead: Lead, object_type: str) -> list[CustomField]:
    """Required custom fields of the new account or contact the lead cannot fill: conversion
    asks for them."""
    carried = carried_values(lead, object_type)
    return [f for f in definitions(object_type) if f.required and f.key not in carried]


def _named(side: str, exc: ValidationError) -> ValidationError:
    """The new record's errors, named after the side they belong to (account.<field>)."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({side: exc.messages})
    return ValidationError({f"{side}.{name}": errors for name, errors in exc.message_dict.items()})


def lead_convert(
    lead: Lead,
    *,
    actor: User,
    channel: str,
    account: Account | None = None,
    contact: Contact | None = None,
    account_values: Mapping[str, Any] | None = None,
    contact_values: Mapping[str, Any] | None = None,
) -> Conversion:
    """Convert `lead`, linking to `account`/`contact` when given, creating them otherwise.

    A new account or contact takes over the lead's custom values whose keys match its own
    custom fields; `account_values`/`contact_values` give (or override) custom values, e.g.
    required fields the lead does not have. Errors are named `account.<field>` or
    `contact.<field>` and nothing is saved."""
    if not can(actor, Action.EDIT, lead, "lead"):
        raise PermissionDenied(_("Your role does not allow editing this lead."))
    if account is not None and not can(actor, Action.READ, account, "account"):
        raise PermissionDenied(_("You cannot link the lead to an account you cannot see."))
    if awaits_approval(actor, lead):
        raise PermissionDenied(
            _("This workspace requires a manager's approval to convert leads. Request it first.")
        )
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        _check_convertible(lead)
        if account is None:
            try:
                account = services.record_create(
                    Account,
                    actor=actor,
                    channel=channel,
                    owner=lead.owner,
                    data={
                        "name": lead.company or str(lead),
                        "is_person": not lead.company,
                        "source": lead.source,
                        "city": lead.city,
                        "phone": lead.phone,
                        "email": "" if lead.company else lead.email,
                        "custom_fields": {
                            **carried_values(lead, "account"),
                            **(account_values or {}),
                        },
                    },
                )
            except ValidationError as exc:
                raise _named("account", exc) from exc
        if contact is None:
            try:
                contact = services.record_create(
                    Contact,
                    actor=actor,
                    channel=channel,
                    owner=lead.owner,
                    data={
                        "first_name": lead.first_name,
                        "last_name": lead.last_name,
                        "title": lead.title,
                        "email": lead.email,
                        "phone": lead.phone,
                        "account": account,
                        "custom_fields": {
                            **carried_values(lead, "contact"),
                            **(contact_values or {}),
                        },
                    },
                )
            except ValidationError as exc:
                raise _named("contact", exc) from exc
        elif contact.account_id != account.pk:
            contact = services.record_update(
                contact, actor=actor, channel=channel, data={"account": account}
            )
        lead.status = Lead.Status.CONVERTED
        lead.converted_account, lead.converted_contact = account, contact
        lead.converted_at = timezone.now()
        lead.save(
            update_fields=[
                "status",
                "converted_account",
                "converted_contact",
                "converted_at",
                "updated_at",
            ]
        )
        audit(
            obj=lead,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={
                "status": ["", Lead.Status.CONVERTED],
                "converted_account": [None, account.pk],
                "converted_contact": [None, contact.pk],
            },
        )
    return Conversion(lead=lead, account=account, contact=contact)


def conversion_request(lead: Lead, *, actor: User, comment: str = "") -> ConversionRequest:
    if not can(actor, Action.EDIT, lead, "lead"):
        raise PermissionDenied(_("Your role does not allow editing this lead."))
    _check_convertible(lead)
    if lead.conversion_requests.filter(decision=ConversionRequest.Decision.PENDING).exists():
        raise ConversionError(_("A conversion request for this lead is already waiting."))
    request = ConversionRequest.objects.create(
        lead=lead, requested_by=actor, request_comment=comment
    )
    _notify_deciders(request, actor=actor)
    return request


def _notify_deciders(request: ConversionRequest, *, actor: User) -> None:
    """Tell every manager who can decide the request (not the requester) that it waits."""
    from core_crm.notifications.services import Kind, notify

    title = gettext_lazy("%(actor)s asks to convert the lead %(lead)s")
    params = {"actor": actor.full_name or actor.email, "lead": str(request.lead)}
    for user in User.objects.filter(is_active=True).exclude(pk=actor.pk).select_related("role"):
        if can_approve(user, request.lead):
            notify(
                user,
                Kind.APPROVAL_REQUEST,
                title,
                body=request.request_comment,
                url=reverse("lead_conversion_requests"),
                actor=actor,
                params=params,
            )


def conversion_decide(
    request: ConversionRequest,
    *,
    actor: User,
    approve: bool,
    comment: str = "",
    channel: str = "web",
) -> Conversion | None:
    """Approve (and convert at once, with a new account and contact, when the lead holds all
    they need) or reject with a comment. An approved lead that cannot be converted at once
    (e.g. a required custom field the lead does not have) stays approved: its owner converts
    it from the conversion page, supplying what is missing."""
    if request.decision != ConversionRequest.Decision.PENDING:
        raise ConversionError(_("This request was already decided."))
    if request.requested_by_id == actor.pk or not can_approve(actor, request.lead):
        raise PermissionDenied(
            _("Only a manager of the lead's owner, other than the requester, can decide.")
        )
    if not approve and not comment.strip():
        raise ConversionError(_("Say why the conversion is rejected."))
    with transaction.atomic():
        request.decision = (
            ConversionRequest.Decision.APPROVED if approve else ConversionRequest.Decision.REJECTED
        )
        request.decided_by, request.decided_at = actor, timezone.now()
        request.decision_comment = comment
        request.save()
        _notify_requester(request, actor=actor)
        if approve:
            try:
                with transaction.atomic():
                    return lead_convert(request.lead, actor=actor, channel=channel)
            except ValidationError:
                return None
    return None


def _notify_requester(request: ConversionRequest, *, actor: User) -> None:
    from core_crm.notifications.services import Kind, notify

    approved = request.decision == ConversionRequest.Decision.APPROVED
    values = {"actor": actor.full_name or actor.email, "lead": str(request.lead)}
    title = (
        gettext_lazy("%(actor)s approved converting the lead %(lead)s")
        if approved
        else gettext_lazy("%(actor)s rejected converting the lead %(lead)s")
    )
    notify(
        request.requested_by,
        Kind.APPROVAL_DECISION,
        title,
        body=request.decision_comment,
        url=reverse("leads_detail", args=[request.lead_id]),
        actor=actor,
        params=values,
    )


def requests_to_decide(user: User) -> QuerySet[ConversionRequest]:
    """Pending requests on leads `user` may approve: leads they may edit, with a team or all
    scope on leads, not their own requests."""
    if scope_for(user, "lead", Action.EDIT) not in (Scope.TEAM, Scope.ALL):
        return ConversionRequest.objects.none()
    return (
        ConversionRequest.objects.filter(
            decision=ConversionRequest.Decision.PENDING,
            lead__in=selectors.lead_list(user, Action.EDIT),
        )
        .exclude(requested_by=user)
        .select_related("lead", "requested_by")
        .order_by("requested_at")
    )
