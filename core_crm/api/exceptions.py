from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core_crm.access.policy import PermissionDenied
from core_crm.access.services import AccessError
from core_crm.customers.conversion import ConversionError
from core_crm.customers.merge import MergeError
from core_crm.customers.picklists import PicklistError


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service errors become API errors: invalid fields 400 naming each field, refused
    actions 403 with what would allow them, changes the current state forbids (a picklist
    value or role in use, a merge that cannot be done or undone) 409 saying why."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, ConversionError):
        exc = exceptions.ValidationError({"detail": [str(exc)]})
    elif isinstance(exc, (PicklistError, AccessError, MergeError)):
        exc = Conflict(str(exc))
    return drf_exception_handler(exc, context)
