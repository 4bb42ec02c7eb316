"""Lead conversion: a qualified lead becomes an account and a contact (new or existing), in one
transaction, with a link back. Where the workspace requires it, a manager approves first."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core_crm.access.models import Action, Scope
from core_crm.access.policy import PermissionDenied, can, scope_for
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from . import services
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


def _check_convertible(lead: Lead) -> None:
    if lead.status == Lead.Status.CONVERTED:
        raise ConversionError(_("This lead was already converted."))
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ConversionError(_("A disqualified lead cannot be converted. Requalify it first."))


def lead_convert(
    lead: Lead,
    *,
    actor: User,
    channel: str,
    account: Account | None = None,
    contact: Contact | None = None,
) -> Conversion:
    """Convert `lead`, linking to `account`/`contact` when given, creating them otherwise."""
    if not can(actor, Action.EDIT, lead, "lead"):
        raise PermissionDenied(_("Your role does not allow editing this lead."))
    if account is not None and not can(actor, Action.READ, account, "account"):
        raise PermissionDenied(_("You cannot link the lead to an account you cannot see."))
    needs_approval = workspace_settings().lead_conversion_needs_approval
    approved = lead.conversion_requests.filter(decision=ConversionRequest.Decision.APPROVED)
    if needs_approval and not can_approve(actor, lead) and not approved.exists():
        raise PermissionDenied(
            _("This workspace requires a manager's approval to convert leads. Request it first.")
        )
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        _check_convertible(lead)
        if account is None:
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
                },
            )
        if contact is None:
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
                },
            )
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
    return ConversionRequest.objects.create(lead=lead, requested_by=actor, request_comment=comment)


def conversion_decide(
    request: ConversionRequest,
    *,
    actor: User,
    approve: bool,
    comment: str = "",
    channel: str = "web",
) -> Conversion | None:
    """Approve (and convert at once) or reject with a comment."""
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
        if approve:
            return lead_convert(request.lead, actor=actor, channel=channel)
    return None
