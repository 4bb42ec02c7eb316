"""Importing a spreadsheet: upload, map, preview, run (as a Celery task), report.

A row is imported whole or not at all: the record, its tags, its employment entry and its audit
entry are written in one transaction with the rest of its chunk; a row that fails is reported
with its line and reasons and writes nothing. Each chunk commits together with the job's
progress, so a run that stops (worker lost, deploy) resumes after the last committed row.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core_crm.access.models import Action, Team
from core_crm.access.policy import (
    PermissionDenied,
    can,
    may_give_to,
    require_create,
    visible,
)
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit_entry
from core_crm.customers import services as record_services
from core_crm.customers.duplicates import Match, find_duplicates_many, phone_key, reason_labels
from core_crm.customers.models import Account, Contact, Employment, Tag
from core_crm.customers.services import clean_tag_name
from core_crm.customfields.models import CustomField
from core_crm.customfields.values import definitions, definitions_loaded_once
from core_crm.users.models import User

from .mapping import (
    CUSTOM_PREFIX,
    FULL_NAME,
    MODELS,
    OWNER_EMAIL,
    TAGS,
    Converter,
    custom_key,
    custom_label,
    custom_targets,
    guess_mapping,
    signature,
    split_full_name,
    targets,
)
from .models import ImportIssue, ImportJob, ImportLayout
from .reading import UnreadableFile, inspect, iter_rows

CHUNK = 500
REQUIRED = {"account": ("name",), "contact": ("last_name",), "lead": ("last_name",)}


# --- Setting up ------------------------------------------------------------------------------


def import_job_create(
    *, actor: User, object_type: str, file_name: str, content: bytes, encoding: str = ""
) -> ImportJob:
    """Read the file enough to map it; remember nothing if it cannot be read."""
    if object_type not in MODELS:
        raise ValidationError({"object_type": _("Choose what the file holds.")})
    require_create(actor, object_type)
    try:
        sheet = inspect(file_name, content, encoding)
    except UnreadableFile as exc:
        raise ValidationError({"file": str(exc)}) from exc
    layout = ImportLayout.objects.filter(
        object_type=object_type, signature=signature(sheet.header)
    ).first()
    notices: list[str] = []
    if layout:
        mapping, notices = _still_usable(object_type, layout.mapping, sheet.header)
    else:
        mapping = guess_mapping(object_type, sheet.header)
    return ImportJob.objects.create(
        object_type=object_type,
        created_by=actor,
        file_name=file_name[:255],
        file_format=sheet.file_format,
        content=content,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        header=sheet.header,
        total_rows=sheet.total_rows,
        mapping={k: v for k, v in mapping.items() if int(k) < len(sheet.header)},
        notices=notices,
        tag=_default_tag(file_name),
    )


def _still_usable(
    object_type: str, mapping: dict[str, str], header: list[str]
) -> tuple[dict[str, str], list[str]]:
    """A remembered mapping without the fields that are gone since (a custom field archived
    or deleted), and a message for each column that lost its field."""
    allowed = {t.key for t in targets(object_type)}
    every_custom = {f.key: f for f in definitions(object_type, include_archived=True)}
    kept: dict[str, str] = {}
    notices: list[str] = []
    for index, key in mapping.items():
        if not index.isdigit() or int(index) >= len(header):
            continue
        if key in allowed:
            kept[index] = key
            continue
        known = every_custom.get(custom_key(key) or "")
        notices.append(
            _(
                "Column “%(column)s” filled the custom field “%(field)s” last time; that field "
                "has been archived or deleted, so choose another field for the column."
            )
            % {"column": header[int(index)], "field": known.label if known else key}
        )
    return kept, notices


def _default_tag(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0]
    return f"{stem} {timezone.localdate():%Y-%m-%d}"[:60]


def sample_rows(job: ImportJob, limit: int = 5) -> list[list[str]]:
    rows = iter_rows(bytes(job.content), job.file_format, job.encoding, job.delimiter)
    return [cells for _line, cells in itertools.islice(rows, limit)]


def import_job_configure(
    job: ImportJob,
    *,
    actor: User,
    mapping: dict[str, str],
    on_duplicate: str,
    tag: str,
    owner_mode: str,
    owner: User | None = None,
    owner_team: Team | None = None,
    create_accounts: bool = True,
) -> ImportJob:
    """Check and store the column mapping and options; remember the mapping for the layout."""
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.READY):
        raise ValidationError(_("This import has already started."))
    errors: dict[str, list[str]] = {}
    allowed = {t.key: t.label for t in targets(job.object_type)}
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for index, key in mapping.items():
        if not key:
            continue
        if key not in allowed or not index.isdigit() or int(index) >= len(job.header):
            errors.setdefault(f"column_{index}", []).append(_("Choose a field from the list."))
            continue
        if key in seen:
            errors.setdefault(f"column_{index}", []).append(
                _("“%(field)s” is already filled from column “%(column)s”.")
                % {"field": allowed[key], "column": job.header[int(seen[key])]}
            )
            continue
        seen[key] = index
        clean[index] = key
    mapped = set(clean.values())
    required = [*REQUIRED[job.object_type]]
    required += [k for k, f in custom_targets(job.object_type).items() if f.required]
    for name in required:
        if name not in mapped and not (name == "last_name" and FULL_NAME in mapped):
            errors.setdefault("__all__", []).append(
                _("Map a column to “%(field)s”: every record needs it.") % {"field": allowed[name]}
            )
    if on_duplicate not in ImportJob.OnDuplicate.values:
        errors.setdefault("on_duplicate", []).append(_("Choose what to do with duplicates."))
    if owner_mode == ImportJob.OwnerMode.USER:
        if owner is None:
            errors.setdefault("owner", []).append(_("Choose the user who will own the records."))
        elif not may_give_to(actor, owner, job.object_type):
            errors.setdefault("owner", []).append(
                _("You cannot give records to %(user)s.") % {"user": owner}
            )
    elif owner_mode == ImportJob.OwnerMode.TEAM:
        members = _team_members(owner_team) if owner_team else []
        if not members:
            errors.setdefault("owner_team", []).append(_("Choose a team with active members."))
        elif any(not may_give_to(actor, m, job.object_type) for m in members):
            errors.setdefault("owner_team", []).append(
                _("You cannot give records to every member of this team.")
            )
    elif owner_mode == ImportJob.OwnerMode.COLUMN:
        if OWNER_EMAIL not in mapped:
            errors.setdefault("owner_mode", []).append(
                _("Map a column to “Owner (email of a user)” first.")
            )
    elif owner_mode != ImportJob.OwnerMode.ME:
        errors.setdefault("owner_mode", []).append(_("Choose who will own the records."))
    batch_tag = ""
    if tag.strip():
        try:
            batch_tag = clean_tag_name(tag)
        except ValidationError as exc:
            errors.setdefault("tag", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    job.mapping = clean
    job.on_duplicate = on_duplicate
    job.tag = batch_tag
    job.owner_mode = owner_mode
    job.owner = owner if owner_mode == ImportJob.OwnerMode.USER else None
    job.owner_team = owner_team if owner_mode == ImportJob.OwnerMode.TEAM else None
    job.create_accounts = create_accounts
    job.notices = []
    job.status = ImportJob.Status.READY
    job.save()
    ImportLayout.objects.update_or_create(
        object_type=job.object_type, signature=signature(job.header), defaults={"mapping": clean}
    )
    return job


def _team_members(team: Team) -> list[User]:
    return list(team.members.filter(is_active=True).order_by("pk"))


def import_job_start(job: ImportJob, *, actor: User) -> ImportJob:
    from .tasks import run_import

    require_create(actor, job.object_type)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.READY:
            raise ValidationError(_("This import is not ready to start."))
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["status"])
        transaction.on_commit(lambda: run_import.delay(job.pk))
    return job


def import_job_cancel(job: ImportJob, *, actor: User) -> None:
    ImportJob.objects.filter(pk=job.pk, status__in=["queued", "running"]).update(
        cancel_requested=True
    )


# --- Reading rows into records -----------------------------------------------------------------


@dataclass
class Row:
    line: int
    cells: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)  # custom field key → canonical value
    # Foreign keys whose value was read from the database for this chunk (picklists, accounts).
    loaded: set[str] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)
    owner: User | None = None
    account_name: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    obj: Any = None  # the unsaved record
    duplicate_of: list[Match] = field(default_factory=list)

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


class Importer:
    """Turns rows of one job into records; `preview` runs the same checks without saving."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.actor: User = job.created_by
        self.model = MODELS[job.object_type]
        self.converter = Converter(job.object_type)
        self.labels = {t.key: t.label for t in targets(job.object_type)}
        self.custom: dict[str, CustomField] = custom_targets(job.object_type)
        self.users = {u.email.lower(): u for u in User.objects.filter(is_active=True)}
        self.team = _team_members(job.owner_team) if job.owner_team else []
        self.round_robin = job.created_count
        self.seen: dict[str, int] = {}  # email / phone key → line of an earlier row of this file
        self.assignable: dict[int, bool] = {}

    def start_chunk(self) -> None:
        """Read picklists and custom field definitions afresh: one query each per chunk,
        however many rows it has (call inside `definitions_loaded_once`)."""
        self.converter.reload()
        self.custom = custom_targets(self.job.object_type)
        self.labels.update({key: custom_label(f) for key, f in self.custom.items()})

    # Rows → field values -----------------------------------------------------------------
    def parse(self, line: int, cells: list[str]) -> Row:
        row = Row(line, cells)
        full_name = ""
        for index, key in self.job.mapping.items():
            raw = cells[int(index)] if int(index) < len(cells) else ""
            if key == FULL_NAME:
                full_name = raw
            elif key == TAGS:
                names = [t for t in raw.replace("\uff0c", ",").split(",") if t.strip()]
                try:
                    row.tags = [clean_tag_name(t) for t in names]
                except ValidationError as exc:
                    row.fail(key, " ".join(exc.messages))
            elif key == OWNER_EMAIL:
                if raw.strip():
                    owner = self.users.get(raw.strip().lower())
                    if owner is None:
                        row.fail(
                            key,
                            _("No active user has the email “%(value)s”.") % {"value": raw.strip()},
                        )
                    else:
                        row.owner = owner
            elif key == "account" and self.job.object_type == "contact":
                row.account_name = raw.strip()
            elif custom_key(key) is not None:
                definition = self.custom.get(key)
                if definition is None:
                    row.fail(key, _("This custom field has been archived or deleted."))
                    continue
                try:
                    value = self.converter.convert_custom(definition, raw)
                except ValidationError as exc:
                    row.fail(key, " ".join(exc.messages))
                    continue
                if value is not None:
                    row.custom[definition.key] = value
            else:
                try:
                    row.data[key] = self.converter.convert(key, raw)
                except ValidationError as exc:
                    row.fail(key, " ".join(exc.messages))
                    continue
                if isinstance(row.data[key], Model):  # a picklist value read for this chunk
                    row.loaded.add(key)
        if full_name.strip():
            first, last = split_full_name(full_name)
            row.data.setdefault("first_name", first)
            if not row.data.get("last_name"):
                row.data["last_name"] = last
        row.owner = row.owner or self._owner()
        if row.owner is not None and not self._may_assign(row.owner):
            row.fail(
                OWNER_EMAIL, _("You cannot give records to %(user)s.") % {"user": row.owner.email}
            )
        return row

    def _owner(self) -> User | None:
        job = self.job
        if job.owner_mode == ImportJob.OwnerMode.USER:
            return job.owner
        if job.owner_mode == ImportJob.OwnerMode.TEAM and self.team:
            owner = self.team[self.round_robin % len(self.team)]
            self.round_robin += 1
            return owner
        return self.actor

    def _may_assign(self, owner: User) -> bool:
        if owner.pk not in self.assignable:
            self.assignable[owner.pk] = may_give_to(self.actor, owner, self.job.object_type)
        return self.assignable[owner.pk]

    def build(self, rows: list[Row], duplicates: bool = True) -> None:
        """Resolve company names, make unsaved records, validate them with the same rules as
        every other write path, and find likely duplicates."""
        accounts = self._accounts_by_name([r.account_name for r in rows if r.account_name])
        for row in rows:
            if row.account_name:
                account = accounts.get(row.account_name.lower())
                if account is None and not self.job.create_accounts:
                    row.fail(
                        "account",
                        _(
                            "No account named “%(name)s”; create it first or let the import "
                            "create it."
                        )
                        % {"name": row.account_name},
                    )
                row.data["account"] = account
                if account is not None:
                    row.loaded.add("account")
            obj = self.model(owner=row.owner or self.actor)
            for name, value in row.data.items():
                setattr(obj, name, value)
            obj.custom_fields = dict(row.custom)  # type: ignore[attr-defined]
            if not row.errors:
                try:
                    record_services.validate_record(obj, known_related=row.loaded)
                except ValidationError as exc:
                    for name, messages in exc.message_dict.items():
                        key = name.split(".", 1)
                        if key[0] == "custom_fields" and len(key) == 2:
                            name = CUSTOM_PREFIX + key[1]  # the import target's name
                        for message in messages:
                            row.fail(name, message)
            row.obj = obj
        valid = [r for r in rows if not r.errors]
        if duplicates:
            found = find_duplicates_many(
                self.model, [self._match_data(r) for r in valid], user=self.actor
            )
            for index, matches in found.items():
                valid[index].duplicate_of = matches

    def _match_data(self, row: Row) -> dict[str, Any]:
        data = dict(row.data)
        if row.account_name and data.get("account") is not None:
            data["account_id"] = data["account"].pk
        return data

    def _accounts_by_name(self, names: Iterable[str]) -> dict[str, Account]:
        wanted = {n.lower() for n in names}
        if not wanted:
            return {}
        found: dict[str, Account] = {}
        queryset = visible(self.actor, Account.objects.all(), "account").annotate(key=Lower("name"))
        for account in queryset.filter(key__in=wanted).order_by("pk"):
            found.setdefault(account.key, account)
        return found

    def file_duplicate(self, row: Row) -> int | None:
        """The line of an earlier row of this file with the same email or phone."""
        keys = []
        for name in ("email",):
            if row.data.get(name):
                keys.append("e:" + str(row.data[name]).lower())
        for name in ("phone", "mobile"):
            key = phone_key(row.data.get(name))
            if key:
                keys.append("p:" + key)
        earlier = next((self.seen[k] for k in keys if k in self.seen), None)
        for key in keys:
            self.seen.setdefault(key, row.line)
        return earlier

    def messages(self, row: Row) -> list[str]:
        out = []
        columns = {key: self.job.header[int(index)] for index, key in self.job.mapping.items()}
        for name, messages in row.errors.items():
            label = self.labels.get(name) or (
                str(getattr(self.model._meta.get_field(name), "verbose_name", ""))
                if _is_field(self.model, name)
                else ""
            )
            if custom_key(name) is not None:
                label = label or name
                if name in columns:  # custom fields are named with their column, too
                    label = _("%(field)s (column “%(column)s”)") % {
                        "field": label,
                        "column": columns[name],
                    }
            for message in messages:
                out.append(f"{label}: {message}" if label else message)
        return out


def _is_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _describe(match: Match) -> str:
    reasons = ", ".join(reason_labels(match))
    if match.record is None:
        return _("a record you cannot open (%(reasons)s)") % {"reasons": reasons}
    return _("“%(record)s” (%(reasons)s)") % {"record": match.record, "reasons": reasons}


@dataclass
class PreviewRow:
    line: int
    cells: list[str]
    values: list[tuple[str, str]]
    messages: list[str]
    outcome: str  # create | update | skip | reject


def preview(job: ImportJob, limit: int = 20) -> list[PreviewRow]:
    """What the first rows would become, with the same checks as the real run."""
    importer = Importer(job)
    rows = [
        importer.parse(line, cells)
        for line, cells in itertools.islice(
            iter_rows(bytes(job.content), job.file_format, job.encoding, job.delimiter), limit
        )
    ]
    with definitions_loaded_once():
        importer.build(rows)
    out = []
    for row in rows:
        messages = importer.messages(row)
        outcome = "reject" if messages else "create"
        earlier = None if messages else importer.file_duplicate(row)
        if not messages and (row.duplicate_of or earlier):
            described = [_describe(m) for m in row.duplicate_of] or [
                _("line %(line)d of this file") % {"line": earlier}
            ]
            messages = [_("Likely duplicate of %(what)s.") % {"what": "; ".join(described)}]
            outcome = {"skip": "skip", "update": "update", "create": "create"}[job.on_duplicate]
        values = [
            (importer.labels.get(key, key), cells_value(row, index))
            for index, key in sorted(job.mapping.items(), key=lambda kv: int(kv[0]))
        ]
        out.append(PreviewRow(row.line, row.cells, values, messages, outcome))
    return out


def cells_value(row: Row, index: str) -> str:
    return row.cells[int(index)] if int(index) < len(row.cells) else ""


# --- The run -----------------------------------------------------------------------------------


def _chunks(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def import_run(job_id: int) -> ImportJob:
    """Import every row of a queued job; resumes after the last committed chunk."""
    job = ImportJob.objects.select_related("created_by", "owner", "owner_team").get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=job.started_at or timezone.now()
    )
    importer = Importer(job)
    done = job.processed_rows
    line = 0
    try:
        rows = iter_rows(bytes(job.content), job.file_format, job.encoding, job.delimiter)
        for position, chunk in enumerate(_chunks(rows, CHUNK)):
            first = position * CHUNK
            if first + len(chunk) <= done:  # committed before the run was interrupted
                for line, cells in chunk:
                    importer.file_duplicate(importer.parse(line, cells))
                continue
            if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                ImportJob.objects.filter(pk=job.pk).update(
                    status=ImportJob.Status.CANCELED, finished_at=timezone.now()
                )
                return ImportJob.objects.get(pk=job.pk)
            line = chunk[0][0]
            _run_chunk(job, importer, chunk[max(0, done - first) :])
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            error=_("The import stopped near line %(line)d: %(error)s")
            % {"line": line, "error": exc},
        )
        raise
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now()
    )
    return ImportJob.objects.get(pk=job.pk)


def _run_chunk(job: ImportJob, importer: Importer, chunk: list[tuple[int, list[str]]]) -> None:
    with definitions_loaded_once():
        importer.start_chunk()
        rows = [importer.parse(line, cells) for line, cells in chunk]
        importer.build(rows, duplicates=job.on_duplicate != ImportJob.OnDuplicate.CREATE)
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0, "accounts": 0}
    issues: list[ImportIssue] = []
    to_create: list[Row] = []
    to_update: list[tuple[Row, Any]] = []
    for row in rows:
        if row.errors:
            issues.append(_issue(job, row, ImportIssue.Kind.INVALID, importer.messages(row)))
            continue
        earlier = importer.file_duplicate(row)
        matches = row.duplicate_of
        if (matches or earlier) and job.on_duplicate != ImportJob.OnDuplicate.CREATE:
            described = [_describe(m) for m in matches] or [
                _("line %(line)d of this file") % {"line": earlier}
            ]
            message = _("Likely duplicate of %(what)s.") % {"what": "; ".join(described)}
            if job.on_duplicate == ImportJob.OnDuplicate.SKIP or not matches:
                issues.append(_issue(job, row, ImportIssue.Kind.DUPLICATE, [message]))
                continue
            target = next(
                (
                    m.record
                    for m in matches
                    if m.record is not None
                    and can(importer.actor, Action.EDIT, m.record, job.object_type)
                ),
                None,
            )
            if target is None:
                issues.append(
                    _issue(
                        job,
                        row,
                        ImportIssue.Kind.INVALID,
                        [message + " " + _("You may not edit it, so it was not updated.")],
                    )
                )
                continue
            to_update.append((row, target))
            continue
        to_create.append(row)

    with transaction.atomic():
        try:
            with transaction.atomic():
                counts["accounts"] = _save_new(job, importer, to_create)
                counts["created"] = len(to_create)
        except DatabaseError:
            # One row broke a constraint the checks did not foresee: save row by row instead,
            # so only that row is reported.
            counts["created"] = counts["accounts"] = 0
            for row in to_create:
                try:
                    with transaction.atomic():
                        counts["accounts"] += _save_new(job, importer, [row])
                        counts["created"] += 1
                except DatabaseError as exc:
                    issues.append(_issue(job, row, ImportIssue.Kind.INVALID, [str(exc).strip()]))
        for row, target in to_update:
            data = {k: v for k, v in row.data.items() if v not in (None, "")}
            if row.custom:  # merged into the record's custom values, the others kept
                data["custom_fields"] = dict(row.custom)
            try:
                with transaction.atomic():
                    record_services.record_update(
                        target, actor=importer.actor, data=data, channel="import"
                    )
                    _add_tags([target], [row.tags + ([job.tag] if job.tag else [])])
                counts["updated"] += 1
            except (ValidationError, PermissionDenied, DatabaseError) as exc:
                messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                issues.append(_issue(job, row, ImportIssue.Kind.INVALID, list(messages)))
        ImportIssue.objects.bulk_create(issues)
        counts["failed"] = sum(1 for i in issues if i.kind == ImportIssue.Kind.INVALID)
        counts["skipped"] = sum(1 for i in issues if i.kind == ImportIssue.Kind.DUPLICATE)
        job.processed_rows += len(rows)
        job.created_count += counts["created"]
        job.updated_count += counts["updated"]
        job.skipped_count += counts["skipped"]
        job.failed_count += counts["failed"]
        job.accounts_created += counts["accounts"]
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=job.processed_rows,
            created_count=job.created_count,
            updated_count=job.updated_count,
            skipped_count=job.skipped_count,
            failed_count=job.failed_count,
            accounts_created=job.accounts_created,
        )


def _issue(job: ImportJob, row: Row, kind: str, messages: list[str]) -> ImportIssue:
    return ImportIssue(job=job, line=row.line, kind=kind, values=row.cells, messages=messages)


def _save_new(job: ImportJob, importer: Importer, rows: list[Row]) -> int:
    """Insert the new records of a chunk with their tags, employments and audit entries.
    Returns how many accounts were created for unknown company names."""
    if not rows:
        return 0
    now = timezone.now()
    new_accounts: dict[str, Account] = {}
    for row in rows:
        if row.account_name and row.data.get("account") is None:
            key = row.account_name.lower()
            if key not in new_accounts:
                new_accounts[key] = Account(
                    name=row.account_name[:200], owner=row.obj.owner, created_at=now
                )
    if new_accounts:
        Account.objects.bulk_create(new_accounts.values())
        _audit_created(list(new_accounts.values()), importer.actor)
        for row in rows:
            if row.account_name and row.data.get("account") is None:
                row.obj.account = new_accounts[row.account_name.lower()]
    objs: list[Any] = [row.obj for row in rows]
    for obj in objs:
        obj.created_at = now
    importer.model._default_manager.bulk_create(objs)
    _add_tags(objs, [row.tags + ([job.tag] if job.tag else []) for row in rows])
    if importer.model is Contact:
        Employment.objects.bulk_create(
            Employment(contact=c, account=c.account, account_name=c.account.name, title=c.title)
            for c in objs
            if c.account is not None
        )
    _audit_created(objs, importer.actor)
    return len(new_accounts)


def _audit_created(objs: list[Model], actor: User) -> None:
    AuditEntry.objects.bulk_create(
        audit_entry(
            obj=obj,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel="import",
            changes=record_services.creation_changes(obj),
        )
        for obj in objs
    )


def _add_tags(objs: list[Model], names_per_obj: list[list[str]]) -> None:
    wanted = {n for names in names_per_obj for n in names}
    if not wanted:
        return
    existing = {
        t.name.lower(): t
        for t in Tag.objects.annotate(key=Lower("name")).filter(key__in={w.lower() for w in wanted})
    }
    missing = {w.lower(): Tag(name=w) for w in wanted if w.lower() not in existing}
    if missing:
        Tag.objects.bulk_create(missing.values(), ignore_conflicts=True)
        existing.update(
            {
                t.name.lower(): t
                for t in Tag.objects.annotate(key=Lower("name")).filter(key__in=set(missing))
            }
        )
    through = type(objs[0]).tags.through  # type: ignore[attr-defined]
    column = f"{type(objs[0])._meta.model_name}_id"
    links = {
        (obj.pk, existing[name.lower()].pk)
        for obj, names in zip(objs, names_per_obj, strict=True)
        for name in names
    }
    through.objects.bulk_create(
        [through(**{column: obj_id, "tag_id": tag_id}) for obj_id, tag_id in links],
        ignore_conflicts=True,
    )


# --- Report ------------------------------------------------------------------------------------


def rejected_rows_csv(job: ImportJob) -> str:
    """The rows that were not imported, in the file's own columns plus the line and the reasons,
    ready to fix and import again (UTF-8 with BOM, so Excel shows Chinese correctly)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([*job.header, _("Line"), _("Problem")])
    width = len(job.header)
    for issue in job.issues.order_by("line").iterator():
        cells = (list(issue.values) + [""] * width)[:width]
        writer.writerow([*cells, issue.line, " | ".join(issue.messages)])
    return out.getvalue()
