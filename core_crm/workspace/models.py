from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkspaceSettings(models.Model):
    """One row per workspace (schema)."""

    lead_conversion_needs_approval = models.BooleanField(
        _("lead conversion needs a manager's approval"), default=False
    )
    base_currency = models.CharField(
        _("base currency"),
        max_length=3,
        default="CNY",
        help_text=_("Totals, forecasts and quotas are shown in this currency."),
    )
    quote_discount_limit = models.DecimalField(
        _("largest quote discount without approval (%)"),
        max_digits=5,
        decimal_places=2,
        default=15,
    )
    default_tax_rate = models.DecimalField(
        _("default tax rate on quotes (%)"), max_digits=5, decimal_places=2, default=13
    )
    quote_validity_days = models.PositiveSmallIntegerField(_("quotes valid for (days)"), default=30)

    class Meta:
        verbose_name = _("workspace settings")

    def __str__(self) -> str:
        return "Workspace settings"


def workspace_settings() -> WorkspaceSettings:
    settings, _created = WorkspaceSettings.objects.get_or_create(pk=1)
    return settings
