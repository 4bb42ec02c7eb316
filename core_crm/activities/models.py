"""Activities (calls, meetings, visits, logged emails, tasks, notes), follow-up plans and
private calendar feed links."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core_crm.customers.models import Owned


class Kind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("Email")
    TASK = "task", _("Task")
    NOTE = "note", _("Note")


# Kinds with a start and an end on the calendar; tasks have a due time; notes and logged
# emails happen when they are written/sent.
TIMED_KINDS = {Kind.CALL, Kind.MEETING, Kind.VISIT}
REMINDER_KINDS = {Kind.CALL, Kind.MEETING, Kind.VISIT, Kind.TASK}
DEFAULT_REMINDER_MINUTES = 15


class Priority(models.TextChoices):
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class FollowUpPlan(models.Model):
    """A recurring follow-up the workspace admin defines, e.g. "Monthly visit to A-class
    accounts": completing one of its activities plans the next one."""

    class Unit(models.TextChoices):
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VISIT)
    interval = models.PositiveSmallIntegerField(_("every"), default=1)
    unit = models.CharField(_("unit"), max_length=6, choices=Unit.choices, default=Unit.MONTHS)
    value_class = models.CharField(
        _("accounts of value class"),
        max_length=1,
        blank=True,
        choices=[("A", "A"), ("B", "B"), ("C", "C")],
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("account"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(value_class="") | Q(account__isnull=False),
                name="follow_up_plan_has_target",
            ),
            models.CheckConstraint(
                condition=Q(interval__gte=1), name="follow_up_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The moment one interval after `when` (months keep the day, clamped to month end)."""
        if self.unit == self.Unit.DAYS:
            return when + dt.timedelta(days=self.interval)
        month0 = when.month - 1 + self.interval
        year, month = when.year + month0 // 12, month0 % 12 + 1
        for day in range(when.day, 27, -1):
            try:
                return when.replace(year=year, month=month, day=day)
            except ValueError:
                continue
        return when.replace(year=year, month=month, day=28)


class Activity(Owned):
    """Something done or to do with a customer. `owner` is the assignee (record security
    object type "activity")."""

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    start_at = models.DateTimeField(_("start"), null=True, blank=True)
    end_at = models.DateTimeField(_("end"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=6, choices=Priority.choices, default=Priority.NORMAL
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        verbose_name=_("contact"),
    )
    lead = models.ForeignKey(
        "customers.Lead",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
        verbose_name=_("lead"),
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
        verbose_name=_("opportunity"),
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="activity_participations",
        verbose_name=_("participants"),
    )
    contact_participants = models.ManyToManyField(
        "customers.Contact",
        blank=True,
        related_name="activity_participations",
        verbose_name=_("contacts taking part"),
    )
    remind_minutes_before = models.PositiveIntegerField(
        _("reminder (minutes before)"), null=True, blank=True
    )
    reminder_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    plan = models.ForeignKey(
        FollowUpPlan,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        verbose_name=_("follow-up plan"),
    )
    next_activity = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="previous_activity",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-start_at", "-pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["owner", "start_at"]),
            models.Index(fields=["owner", "due_at"]),
            models.Index(fields=["account", "start_at"]),
            # Global search (icontains on the subject).
            GinIndex(OpClass(Upper("subject"), name="gin_trgm_ops"), name="activity_subject_trgm"),
            models.Index(
                fields=["reminder_at"],
                name="activity_reminder_pending",
                condition=Q(reminder_sent_at__isnull=True, done=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__isnull=True)
                | Q(start_at__isnull=True)
                | Q(end_at__gte=models.F("start_at")),
                name="activity_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def when(self) -> dt.datetime | None:
        """The moment that places the activity on the calendar and in lists."""
        return self.start_at or self.due_at

    @property
    def is_overdue(self) -> bool:
        when = self.due_at if self.kind == Kind.TASK else self.when
        return (
            not self.done
            and self.kind not in (Kind.NOTE, Kind.EMAIL)
            and when is not None
            and when < timezone.now()
        )

    @property
    def duration_minutes(self) -> int | None:
        if self.start_at and self.end_at:
            return int((self.end_at - self.start_at).total_seconds() // 60)
        return None


class CalendarFeed(models.Model):
    """A person's private calendar subscription link; only the token's hash is stored, and a
    reset replaces it (the old link stops working)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"
