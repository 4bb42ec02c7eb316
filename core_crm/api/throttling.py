from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # importing rest_framework.views here would be circular
    from rest_framework.request import Request
    from rest_framework.views import APIView


class TokenRateThrottle(SimpleRateThrottle):
    """A request budget per token (per session user for browser calls). The cache key carries
    the tenant through django-tenants' key function; 429 answers carry Retry-After."""

    scope = "token"

    def get_rate(self) -> str:
        return str(settings.GUANXI_API_RATE)  # read per request, not frozen at import

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        auth = request.auth
        if auth is not None and hasattr(auth, "pk"):
            ident = f"token-{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
