"""Reads on accounts, contacts and leads, always through record security."""

from __future__ import annotations

from django.db.models import QuerySet

from core_crm.access.models import Action
from core_crm.access.policy import access_or_404, visible
from core_crm.users.models import User

from .models import Account, Contact, Lead


def account_list(user: User, action: str = Action.READ) -> QuerySet[Account]:
    return visible(user, Account.objects.all(), "account", action).select_related(
        "owner", "industry", "source", "status", "parent"
    )


def contact_list(user: User, action: str = Action.READ) -> QuerySet[Contact]:
    return visible(user, Contact.objects.all(), "contact", action).select_related(
        "owner", "account", "role"
    )


def lead_list(user: User, action: str = Action.READ) -> QuerySet[Lead]:
    return visible(user, Lead.objects.all(), "lead", action).select_related(
        "owner", "source", "disqualify_reason"
    )


def access_account(user: User, pk: object, action: str = Action.READ) -> Account:
    return access_or_404(user, Account.objects.all(), pk, "account", action)


def access_contact(user: User, pk: object, action: str = Action.READ) -> Contact:
    return access_or_404(user, Contact.objects.all(), pk, "contact", action)


def access_lead(user: User, pk: object, action: str = Action.READ) -> Lead:
    return access_or_404(user, Lead.objects.all(), pk, "lead", action)
