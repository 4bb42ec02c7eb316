from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from guanxi.context_processors import public_site_url

from . import services
from .selectors import workspaces_for_email


@shared_task
def send_workspace_links(email: str) -> int:
    """Send `email` the sign-in links of the workspaces it belongs to; returns how many."""
    workspaces = list(workspaces_for_email(email))
    context = {
        "workspaces": [(t.name, t.url("/accounts/login/")) for t in workspaces],
        "signup_url": public_site_url("/signup/"),
    }
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Your Guanxi workspaces",
        message=render_to_string("tenants/email/workspace_links.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    return len(workspaces)


@shared_task
def purge_expired_signin_tokens() -> int:
    return services.signin_tokens_purge()
