from __future__ import annotations

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from tenants.db import tenant_connection

from .models import User


@shared_task
def send_verification_email(user_id: int) -> str | None:
    """Email the user a link that verifies their primary address; runs in their tenant."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    address = EmailAddress.objects.filter(user=user, primary=True, verified=False).first()
    if address is None:
        return None
    key = EmailConfirmationHMAC(address).key
    tenant = tenant_connection().tenant
    with translation.override(user.language):
        context = {
            "user": user,
            "workspace": tenant,
            "activate_url": tenant.url(
                reverse("account_confirm_email", args=[key], urlconf=settings.ROOT_URLCONF)
            ),
        }
        subject = render_to_string("users/email/verify_subject.txt", context).strip()
        body = render_to_string("users/email/verify_body.txt", context)
    send_mail(subject, body, None, [address.email])
    return address.email
