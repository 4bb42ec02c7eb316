from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from tenants.db import tenant_connection

from .models import Invitation


@shared_task
def send_invitation(invitation_id: int, token: str) -> str | None:
    """Email the invitation link; runs in the workspace's schema."""
    invitation = (
        Invitation.objects.pending().select_related("invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None:
        return None
    tenant = tenant_connection().tenant
    context = {
        "invitation": invitation,
        "workspace": tenant,
        "url": tenant.url(
            reverse("invitation_accept", args=[token], urlconf=settings.ROOT_URLCONF)
        ),
    }
    send_mail(
        render_to_string("access/email/invitation_subject.txt", context).strip(),
        render_to_string("access/email/invitation_body.txt", context),
        None,
        [invitation.email],
    )
    return invitation.email
