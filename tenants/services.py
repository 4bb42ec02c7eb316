"""Writes on the public schema: signup, sign-in hand-off tokens, the workspace finder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.users.services import user_create
from guanxi.ratelimit import hit
from guanxi.tokens import new_token, token_hash

from .db import tenant_connection
from .models import SigninToken, Tenant, WorkspaceMember
from .provisioning import provision_tenant

log = logging.getLogger(__name__)


class SignupRateLimited(Exception):
    """Too many workspaces were created from one client address within the hour."""


class SubdomainTaken(Exception):
    """Another signup took the subdomain between the form check and the insert."""


@dataclass(frozen=True)
class SignupResult:
    tenant: Tenant
    user_id: int
    handoff_url: str


def tenant_signup(
    *,
    company_name: str,
    slug: str,
    full_name: str,
    email: str,
    password: str,
    client_ip: str,
    language: str = "en",
) -> SignupResult:
    """Create a workspace with its first admin and start the trial, all or nothing.

    The tenant row, its domain, its schema (cloned from the template), the admin user and the
    sign-in token are created in one transaction; the verification email is queued only after
    it commits. Any failure leaves no row and no schema behind.
    """
    if not hit(f"signup-rate:{client_ip}", settings.GUANXI_SIGNUP_RATE_LIMIT):
        raise SignupRateLimited
    try:
        with transaction.atomic():
            tenant = provision_tenant(
                slug=slug,
                name=company_name,
                status=Tenant.Status.TRIALING,
                trial_ends_at=timezone.now() + timedelta(days=settings.GUANXI_TRIAL_DAYS),
            )
            with tenant_context(tenant):
                user = user_create(
                    email=email,
                    full_name=full_name,
                    password=password,
                    is_workspace_admin=True,
                    language=language,
                    send_verification=True,
                )
            token = signin_token_issue(tenant=tenant, user_id=user.pk)
    except (IntegrityError, ValidationError) as exc:
        # PostgreSQL DDL is transactional: the rollback removed the schema with the rows.
        raise SubdomainTaken from exc
    finally:
        tenant_connection().set_schema_to_public()
    log.info("workspace %s created", slug)
    handoff_url = tenant.url(f"/auth/handoff/{token}/")
    return SignupResult(tenant=tenant, user_id=user.pk, handoff_url=handoff_url)


def signin_token_issue(*, tenant: Tenant, user_id: int) -> str:
    token = new_token()
    SigninToken.objects.create(
        tenant=tenant,
        user_id=user_id,
        token_hash=token_hash(token),
        expires_at=timezone.now() + timedelta(seconds=settings.GUANXI_HANDOFF_TOKEN_SECONDS),
    )
    return token


def signin_token_redeem(*, tenant: Tenant, token: str) -> int | None:
    """The user id the token signs in on `tenant`, once; None if unknown, used or expired."""
    with transaction.atomic():
        row = (
            SigninToken.objects.select_for_update()
            .filter(
                token_hash=token_hash(token),
                tenant=tenant,
                used_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .first()
        )
        if row is None:
            return None
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        return row.user_id


def signin_tokens_purge() -> int:
    """Delete tokens that are used or expired; returns how many."""
    deleted, _ = SigninToken.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def workspace_member_add(*, tenant: Tenant, email: str) -> None:
    WorkspaceMember.objects.get_or_create(tenant=tenant, email=email.strip().lower())


def workspace_member_remove(*, tenant: Tenant, email: str) -> None:
    WorkspaceMember.objects.filter(tenant=tenant, email__iexact=email.strip()).delete()


def workspace_finder_request(*, email: str) -> None:
    """Email the address the sign-in links of its workspaces (after commit, via Celery).

    The caller answers the same whether or not the address has workspaces, so the finder does
    not reveal who uses Guanxi.
    """
    from .tasks import send_workspace_links

    transaction.on_commit(lambda: send_workspace_links.delay(email.strip().lower()), robust=True)
