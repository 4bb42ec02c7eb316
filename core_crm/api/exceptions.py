from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core_crm.access.policy import PermissionDenied
from core_crm.customers.conversion import ConversionError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service errors become API errors: invalid fields 400 naming each field, refused
    actions 403 with what would allow them."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, ConversionError):
        exc = exceptions.ValidationError({"detail": [str(exc)]})
    return drf_exception_handler(exc, context)
