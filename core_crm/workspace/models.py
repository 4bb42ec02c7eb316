from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkspaceSettings(models.Model):
    """One row per workspace (schema)."""

    lead_conversion_needs_approval = models.BooleanField(
        _("lead conversion needs a manager's approval"), default=False
    )

    class Meta:
        verbose_name = _("workspace settings")

    def __str__(self) -> str:
        return "Workspace settings"


def workspace_settings() -> WorkspaceSettings:
    settings, _created = WorkspaceSettings.objects.get_or_create(pk=1)
    return settings
