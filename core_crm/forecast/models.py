"""Sales quotas: what a person or a team should close in a month or a quarter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class Quota(models.Model):
    """A target in the workspace's base currency for one person or one team and one period
    (a calendar month, or a calendar quarter starting in January, April, July or October)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
        verbose_name=_("person"),
    )
    team = models.ForeignKey(
        "access.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
        verbose_name=_("team"),
    )
    period_kind = models.CharField(_("period"), max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    amount = models.DecimalField(_("quota"), max_digits=18, decimal_places=2)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="quota_user_or_team",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_not_negative"),
            models.CheckConstraint(
                condition=Q(period_start__day=1), name="quota_period_starts_on_the_first"
            ),
            models.CheckConstraint(
                condition=~Q(period_kind="quarter") | Q(period_start__month__in=[1, 4, 7, 10]),
                name="quota_quarter_starts_a_quarter",
            ),
            models.UniqueConstraint(
                fields=["user", "period_kind", "period_start"],
                condition=Q(user__isnull=False),
                name="quota_once_per_user_period",
            ),
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start"],
                condition=Q(team__isnull=False),
                name="quota_once_per_team_period",
            ),
        ]

    def __str__(self) -> str:
        who = self.user if self.user_id else self.team
        return f"{who} {self.period_kind} {self.period_start:%Y-%m}: {self.amount}"
