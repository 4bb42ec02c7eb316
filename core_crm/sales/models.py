"""Sales pipelines and their stages, per workspace (tenant schema)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core_crm.customers.models import Owned


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


class Currency(models.Model):
    """A currency the workspace sells in, with its rate to the workspace's base currency
    (`WorkspaceSettings.base_currency`, rate 1). Totals are always shown in the base
    currency: each opportunity stores its amount converted at the current rate."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    rate_to_base = models.DecimalField(
        _("value of one unit in the base currency"), max_digits=18, decimal_places=8
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_to_base__gt=0), name="currency_rate_positive")
        ]

    def __str__(self) -> str:
        return self.code


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Opportunity(Owned):
    """A deal in progress with an account: amount, close date and stage in a pipeline."""

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("account"),
    )
    primary_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("primary contact"),
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage")
    )
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3)
    # The amount in the workspace's base currency at the current rate (kept by the services).
    amount_base = models.DecimalField(max_digits=18, decimal_places=2, default=0, editable=False)
    close_date = models.DateField(_("expected close date"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    source = models.ForeignKey(
        "customers.PicklistValue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"picklist": "source"},
        verbose_name=_("source"),
    )
    source_lead = models.ForeignKey(
        "customers.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        verbose_name=_("from lead"),
    )
    next_step = models.CharField(_("next step"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    lost_reason = models.ForeignKey(
        "customers.PicklistValue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"picklist": "lost_reason"},
        verbose_name=_("lost reason"),
    )
    lost_note = models.CharField(_("lost reason details"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    stage_changed_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["close_date", "pk"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["stage", "close_date"]),
            models.Index(fields=["owner", "close_date"]),
            models.Index(fields=["account"]),
            # Global search: name__icontains is UPPER(name) LIKE UPPER(%term%).
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="opportunity_name_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="opportunity_probability_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="opportunity_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_base(self) -> Decimal:
        return (self.amount_base * self.probability / 100).quantize(Decimal("0.01"))


class OpportunityContact(models.Model):
    """A contact's part in a deal (contact roles): role, influence and attitude."""

    class Influence(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    class Attitude(models.TextChoices):
        CHAMPION = "champion", _("Champion")
        SUPPORTER = "supporter", _("Supporter")
        NEUTRAL = "neutral", _("Neutral")
        SKEPTIC = "skeptic", _("Skeptic")
        OPPONENT = "opponent", _("Opponent")

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_roles"
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="opportunity_roles"
    )
    role = models.ForeignKey(
        "customers.PicklistValue",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"picklist": "contact_role"},
        verbose_name=_("role"),
    )
    influence = models.CharField(
        _("influence"), max_length=6, choices=Influence.choices, default=Influence.MEDIUM
    )
    attitude = models.CharField(
        _("attitude"), max_length=10, choices=Attitude.choices, default=Attitude.NEUTRAL
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact", "role"], name="contact_role_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.role})"


class OpportunityTeamMember(models.Model):
    """A colleague working on a deal besides its owner; team members can read the deal."""

    class Role(models.TextChoices):
        SALES = "sales", _("Sales")
        PRESALES = "presales", _("Pre-sales engineer")
        SPONSOR = "sponsor", _("Executive sponsor")
        SUPPORT = "support", _("Support")
        OTHER = "other", _("Other")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="opportunity_teams"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.SALES)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "user"], name="team_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Competitor(models.Model):
    """A competitor in a deal, with what we know of their offer."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="competitors"
    )
    name = models.CharField(_("competitor"), max_length=200)
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strengths = models.CharField(_("strengths"), max_length=500, blank=True)
    weaknesses = models.CharField(_("weaknesses"), max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """One move of an opportunity between stages (the first entry has no from-stage): who,
    when, from and to, and the amount and probability at that moment."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    amount_base = models.DecimalField(max_digits=18, decimal_places=2)
    probability = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.opportunity}: {self.from_stage} → {self.to_stage}"
