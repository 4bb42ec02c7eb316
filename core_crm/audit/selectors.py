from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from .models import AuditEntry


def history_of(obj: Model) -> QuerySet[AuditEntry]:
    """The record's audit trail, newest first. Callers check the record is visible first."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
    ).select_related("actor")
