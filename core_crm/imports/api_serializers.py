"""What the imports API reads and answers; the import services do the checking."""

from __future__ import annotations

import codecs
from typing import Any, cast

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .mapping import targets
from .models import ImportIssue, ImportJob

# The API's names for the kinds of rows not imported (the counts say rows_rejected/skipped).
ISSUE_KINDS = {ImportIssue.Kind.INVALID: "rejected", ImportIssue.Kind.DUPLICATE: "skipped"}


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (any common encoding) or Excel .xlsx, ≤ 25 MB.")
    object_type = serializers.ChoiceField(
        choices=ImportJob.ObjectType.choices, help_text="What the file holds."
    )
    encoding = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text="A CSV file's text encoding (e.g. gb18030); detected when left out.",
    )

    def validate_encoding(self, value: str) -> str:
        if value:
            try:
                codecs.lookup(value)
            except LookupError:
                raise serializers.ValidationError(
                    _("“%(value)s” is not a known text encoding (e.g. utf-8, gb18030, big5).")
                    % {"value": value}
                ) from None
        return value


class TargetSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='A field name, or "cf_<key>" for a custom field.')
    label = serializers.CharField()  # type: ignore[assignment]


class ImportJobSerializer(serializers.ModelSerializer):
    """A job: its file's columns, the mapping, options, and how far the run is."""

    columns = serializers.ListField(
        source="header",
        child=serializers.CharField(),
        help_text="The header row of the file, in order; mapping keys are their positions.",
    )
    mapping = serializers.DictField(
        child=serializers.CharField(),
        help_text='Column position (as a string) → field, e.g. {"0": "full_name", "3": "email"}.',
    )
    targets = serializers.SerializerMethodField(
        help_text="The fields a column may fill, in the caller's language."
    )
    notices = serializers.ListField(
        child=serializers.CharField(),
        help_text="What to know before confirming the mapping, e.g. a remembered column whose "
        "custom field was archived since.",
    )
    created_by: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    owner: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    owner_team: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    rows_total = serializers.IntegerField(source="total_rows")
    rows_done = serializers.IntegerField(source="processed_rows")
    rows_created = serializers.IntegerField(source="created_count")
    rows_updated = serializers.IntegerField(source="updated_count")
    rows_skipped = serializers.IntegerField(source="skipped_count")
    rows_rejected = serializers.IntegerField(source="failed_count")
    progress = serializers.IntegerField(source="percent", help_text="Percent of rows done.")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "object_type",
            "file_name",
            "file_format",
            "encoding",
            "status",
            "columns",
            "mapping",
            "targets",
            "notices",
            "on_duplicate",
            "tag",
            "owner_mode",
            "owner",
            "owner_team",
            "create_accounts",
            "rows_total",
            "rows_done",
            "rows_created",
            "rows_updated",
            "rows_skipped",
            "rows_rejected",
            "accounts_created",
            "progress",
            "error",
            "cancel_requested",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TargetSerializer(many=True))
    def get_targets(self, job: ImportJob) -> list[dict[str, str]]:
        # Read once per object type for a whole list, not once per job.
        context = cast(dict[str, Any], self.context)  # the list's, shared by its items
        known: dict[str, list[dict[str, str]]] = context.setdefault("targets", {})
        if job.object_type not in known:
            known[job.object_type] = [
                {"key": t.key, "label": t.label} for t in targets(job.object_type)
            ]
        return list(known[job.object_type])


class ConfigureSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Column position → field key (see the job's `targets`); an empty string "
        "leaves the column out. Left out: the job's current (guessed or remembered) mapping.",
    )
    on_duplicate = serializers.CharField(
        default=ImportJob.OnDuplicate.SKIP,
        help_text="skip, update or create: what to do with a row like an existing record.",
    )
    tag = serializers.CharField(
        required=False, allow_blank=True, help_text="A tag for every imported record."
    )
    owner_mode = serializers.CharField(
        default=ImportJob.OwnerMode.ME,
        help_text="me, user (give `owner`), team (round robin across `owner_team`) or column "
        "(the user whose email is in the column mapped to owner_email).",
    )
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="A user id.")
    owner_team = serializers.IntegerField(required=False, allow_null=True, help_text="A team id.")
    create_accounts = serializers.BooleanField(
        default=True, help_text="Contacts: create accounts for company names not found."
    )


class ImportIssueSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField(help_text="rejected (invalid) or skipped (duplicate)")
    values = serializers.ListField(child=serializers.CharField(), help_text="The row as read.")
    messages = serializers.ListField(child=serializers.CharField(), help_text="The reasons.")

    class Meta:
        model = ImportIssue
        fields = ["line", "kind", "values", "messages"]
        read_only_fields = fields

    def get_kind(self, issue: ImportIssue) -> str:
        return ISSUE_KINDS.get(issue.kind, issue.kind)  # type: ignore[call-overload]


def api_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """The mapping errors of the service under the request's own names: column_3 →
    mapping.3, errors of the mapping as a whole → mapping."""
    out: dict[str, Any] = {}
    for key, messages in errors.items():
        if key.startswith("column_"):
            key = "mapping." + key.removeprefix("column_")
        elif key == "__all__":
            key = "mapping"
        out.setdefault(key, []).extend(messages)
    return out
