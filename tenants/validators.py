import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,28})[a-z0-9]$")


def normalize_subdomain(value: str) -> str:
    return (value or "").strip().lower()


def validate_subdomain_format(value: str) -> None:
    """3-30 characters: lowercase letters, digits and hyphens, no hyphen at either end."""
    if not 3 <= len(value) <= 30:
        raise ValidationError(_("Use 3 to 30 characters."), code="length")
    if not SUBDOMAIN_RE.match(value):
        raise ValidationError(
            _(
                "Use only lowercase letters, digits and hyphens, "
                "and do not start or end with a hyphen."
            ),
            code="format",
        )
    if value.startswith("pg-") or "--" in value:
        raise ValidationError(_("This subdomain is not allowed."), code="format")
    if value in settings.GUANXI_RESERVED_SUBDOMAINS:
        raise ValidationError(
            _("“%(value)s” is reserved. Please choose another.") % {"value": value}, code="reserved"
        )
