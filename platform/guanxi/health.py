"""Liveness and readiness endpoints for load balancers.

Answered before tenant resolution, on every host (a probe may use the pod's address), and
before the HTTPS redirect, so probes work over plain HTTP inside the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    from guanxi.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok\n", content_type="text/plain")
        if request.path == "/readyz":
            checks = {"database": _check_database(), "broker": _check_broker()}
            ready = all(v == "ok" for v in checks.values())
            return HttpResponse(
                json.dumps({"ready": ready, **checks}),
                status=200 if ready else 503,
                content_type="application/json",
            )
        return self.get_response(request)
