"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest, QueryDict


def posted(request: HttpRequest) -> QueryDict | None:
    """Form data for a POST, even an empty one (so the form is bound and reports what is
    missing); None for other methods (an unbound form)."""
    return request.POST if request.method == "POST" else None
