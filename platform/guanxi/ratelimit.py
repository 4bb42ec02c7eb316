"""Fixed-window counters in the (tenant-aware) cache, and the client's address."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the entry GUANXI_TRUSTED_PROXIES from the right
    of X-Forwarded-For when the app runs behind that many proxies."""
    proxies = settings.GUANXI_TRUSTED_PROXIES
    if proxies > 0:
        hops = [
            h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()
        ]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def hit(key: str, limit: int, window_seconds: int = 3600) -> bool:
    """Count one attempt; True while the window's count is within `limit`. Atomic: the
    count is taken before the work, so parallel requests cannot slip past together."""
    if cache.add(key, 1, timeout=window_seconds):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_seconds)
            count = 1
    return count <= limit
