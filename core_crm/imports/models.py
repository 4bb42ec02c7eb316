"""Spreadsheet imports of accounts, contacts and leads: the uploaded file, how its columns map
to fields, the run's progress, and every row that was not imported and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class ObjectType(models.TextChoices):
        ACCOUNT = "account", _("Accounts")
        CONTACT = "contact", _("Contacts")
        LEAD = "lead", _("Leads")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Waiting for column mapping")
        READY = "ready", _("Ready to import")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class OnDuplicate(models.TextChoices):
        SKIP = "skip", _("Skip the row")
        UPDATE = "update", _("Update the existing record")
        CREATE = "create", _("Create a new record anyway")

    class OwnerMode(models.TextChoices):
        ME = "me", _("Me")
        USER = "user", _("A chosen user")
        TEAM = "team", _("Round robin across a team")
        COLUMN = "column", _("The user named in a column (email)")

    object_type = models.CharField(_("import"), max_length=20, choices=ObjectType.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10)  # csv | xlsx
    # The file stays in the workspace's own schema, so the worker reads it wherever it runs.
    content = models.BinaryField()
    encoding = models.CharField(max_length=40, blank=True)  # CSV only
    delimiter = models.CharField(max_length=1, blank=True)  # CSV only
    header = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    # Column index (as a string) → target field name; unmapped columns are ignored.
    mapping = models.JSONField(default=dict)
    on_duplicate = models.CharField(
        _("likely duplicates"), max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    tag = models.CharField(_("tag the imported records"), max_length=60, blank=True)
    owner_mode = models.CharField(
        _("owner"), max_length=10, choices=OwnerMode.choices, default=OwnerMode.ME
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_team = models.ForeignKey(
        "access.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    create_accounts = models.BooleanField(
        _("create accounts for company names not found"), default=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # why the whole run failed, for the person importing
    # What the person mapping the columns should know, e.g. a remembered column whose custom
    # field was archived since; cleared once the mapping is saved.
    notices = models.JSONField(default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ImportIssue(models.Model):
    """A row that was not imported: rejected (invalid) or skipped (a likely duplicate)."""

    class Kind(models.TextChoices):
        INVALID = "invalid", _("Rejected")
        DUPLICATE = "duplicate", _("Skipped as a duplicate")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    line = models.PositiveIntegerField()  # line of the file (CSV) or sheet row (XLSX)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    values = models.JSONField(default=list)  # the row as read, to download and fix
    messages = models.JSONField(default=list)  # ["email: Enter a valid email address.", ...]

    class Meta:
        ordering = ["job", "line"]
        indexes = [models.Index(fields=["job", "line"])]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.line}"


class ImportLayout(models.Model):
    """The mapping last used for files whose header row looks the same: the next file from the
    same trade fair or export tool is mapped already."""

    object_type = models.CharField(max_length=20, choices=ImportJob.ObjectType.choices)
    signature = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "signature"], name="import_layout_once")
        ]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.signature[:8]}"
