"""Sales pipelines and their stages, per workspace (tenant schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Pipeline(models.Model):
    """A sales process (e.g. new business, renewals) with ordered stages."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def display(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name


class Stage(models.Model):
    """One step of a pipeline. Won and lost stages close an opportunity; stages in use are
    retired (is_active=False), never deleted."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="stages")
    key = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("default probability (%)"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "key"], name="stage_key_per_pipeline"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_at_most_100"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="won") | Q(probability=100), name="won_stage_is_100"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="lost") | Q(probability=0), name="lost_stage_is_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def display(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN
