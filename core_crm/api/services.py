from __future__ import annotations

from django.utils import timezone

from core_crm.users.models import User
from guanxi.tokens import new_token, token_hash

from .models import PersonalAccessToken

TOKEN_PREFIX = "gx_"  # noqa: S105 (marks Guanxi tokens, e.g. for secret scanners)


def token_create(*, user: User, name: str) -> tuple[PersonalAccessToken, str]:
    """Create a token; returns the row and the token itself, which is never stored."""
    token = new_token(TOKEN_PREFIX)
    row = PersonalAccessToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        prefix=token[:10],
        token_hash=token_hash(token),
    )
    return row, token


def token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False if there is no such active token."""
    return bool(
        PersonalAccessToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
