"""Deployment checks of our own, run by `manage.py check --deploy`."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def email_configured(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if "EMAIL_URL" in os.environ or settings.DEBUG:
        return []
    return [
        checks.Warning(
            "EMAIL_URL is not set: verification, password-reset and invitation emails (with "
            "their secret links) go to the process's console log.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587",
            id="guanxi.W001",
        )
    ]
