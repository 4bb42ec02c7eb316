"""Saved list views and each person's list columns, for accounts, contacts and leads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ObjectType(models.TextChoices):
    ACCOUNT = "account", _("Accounts")
    CONTACT = "contact", _("Contacts")
    LEAD = "lead", _("Leads")


class SavedView(models.Model):
    """A named list: the query string of its search, filters, sort order and columns.

    Private views are seen by their owner only; shared ones by everyone in the workspace
    (each still sees only the records their role lets them read)."""

    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    query = models.TextField(blank=True)
    shared = models.BooleanField(_("shared with everyone in the workspace"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "object_type", "name"], name="saved_view_name_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ListColumns(models.Model):
    """The columns a person chose for one object's list."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_columns"
    )
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "object_type"], name="list_columns_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.object_type}"
