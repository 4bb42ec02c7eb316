"""Merging two duplicate records into one, and undoing it from the merge's audit entry.

The record kept (the survivor) takes, field by field, either its own value or the other
record's; every row that points at the other record (the loser) is re-pointed at the survivor;
the loser is deleted. Related rows are found generically, so models added later are covered
without changing this module:

- every foreign key (and one-to-one) to the model, including hidden ones (`related_name="+"`)
  and the auto-created tables behind many-to-many fields, in both directions: tags are joined
  by moving the loser's link rows, a tag the survivor already has being a clash (see below);
- every content type + object id pair (a `GenericForeignKey`, or fields named `content_type`
  and `object_id`) in the workspace's apps, e.g. record shares. Logs (the audit trail) are not
  moved: a record's history stays with the record it describes, and comes back with it on undo.

A row that cannot move because the survivor already has its twin (a unique constraint) is
deleted when nothing can point at it (a many-to-many link, a share) and recorded in full, so
undo recreates it; otherwise the merge is refused, naming the model. Two known clashes are
resolved first: a share the survivor already has (the loser's is removed, an edit right is
kept), and two current employments of merged contacts (the one at the survivor's account
stays current, the other is closed today).

One audit entry of kind "merge" on the survivor holds everything undo needs: the survivor's
previous values, the loser's full row (primary key, owner, many-to-many ids), and the related
rows moved, removed or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache as shared_cache
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import ForeignKey, Model, Q, QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from psycopg.errors import QueryCanceled

from core_crm.access.models import Action, RecordShare
from core_crm.access.policy import PermissionDenied, can, visible
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import _plain, audit, audit_entry, diff, snapshot
from core_crm.users.models import User
from tenants.db import tenant_connection

from .duplicates import NAME_SIMILARITY, PHONE_MIN_DIGITS, RULES
from .fields import ACCOUNT_FIELDS, CONTACT_FIELDS, LEAD_FIELDS
from .models import PHONE_KEY_DIGITS, Account, Contact, Employment, Lead, NotDuplicate
from .services import OBJECT_TYPE, validate_record

SURVIVOR, LOSER = "survivor", "loser"
CUSTOM_PREFIX = "custom_fields."
FORMAT_VERSION = 1

# The fields a person chooses between, in display order (custom fields follow, one per key).
MERGE_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Account: ACCOUNT_FIELDS,
    Contact: CONTACT_FIELDS,
    Lead: LEAD_FIELDS,
}
# Fields that follow another field's choice, so the record stays consistent: a lead's
# conversion links come from the record whose status is kept.
COMPANIONS: dict[type[Model], dict[str, tuple[str, ...]]] = {
    Lead: {"status": ("converted_account", "converted_contact", "converted_at")},
}
# History describes the record it was written for; it is not moved.
LOG_MODELS = {"audit.auditentry", "admin.logentry"}


class MergeError(Exception):
    """The merge or its undo cannot be done; the message says why (and what would allow it)."""


# --- Related rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """Rows of `model` that point at a record through `field` (a foreign key's name, or the
    object id of a content type + object id pair named by `content_type_field`)."""

    model: type[Model]
    field: str
    content_type_field: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field}"

    @property
    def attname(self) -> str:
        return str(getattr(self.model._meta.get_field(self.field), "attname", self.field))

    def rows(self, record: Model) -> QuerySet[Any]:
        """The rows pointing at `record` (never `record` itself, for self-references)."""
        condition: dict[str, Any] = {self.attname: record.pk}
        if self.content_type_field is not None:
            condition[self.content_type_field] = ContentType.objects.get_for_model(type(record))
        rows = self.model._base_manager.filter(**condition)
        if self.model is type(record):
            rows = rows.exclude(pk=record.pk)
        return rows


def _tenant_model(model: type[Model]) -> bool:
    """Only tables in the workspace's schema hold rows about its records."""
    return model._meta.app_config.name in settings.TENANT_APPS


def _generic_pairs(model: type[Model]) -> list[tuple[str, str]]:
    """(content type field, object id field) pairs of `model`."""
    pairs = [
        (f.ct_field, f.fk_field)
        for f in model._meta.private_fields
        if isinstance(f, GenericForeignKey)
    ]
    try:
        content_type = model._meta.get_field("content_type")
        model._meta.get_field("object_id")
    except FieldDoesNotExist:
        return pairs
    if getattr(content_type, "related_model", None) is ContentType and (
        ("content_type", "object_id") not in pairs
    ):
        pairs.append(("content_type", "object_id"))
    return pairs


@cache
def relations(model: type[Model]) -> tuple[Relation, ...]:
    """Every kind of row that can point at a record of `model`."""
    found: list[Relation] = []
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            found.append(Relation(rel.related_model, rel.field.name))  # type: ignore[arg-type,union-attr]
    for other in apps.get_models():
        if other._meta.label_lower in LOG_MODELS or not _tenant_model(other):
            continue
        for ct_field, id_field in _generic_pairs(other):
            found.append(Relation(other, id_field, ct_field))
    return tuple(found)


def _relation_by_label(label: str) -> Relation:
    for model in MERGE_FIELDS:
        for relation in relations(model):
            if relation.label == label:
                return relation
    raise MergeError(
        _("The merge refers to data that no longer exists (%(what)s).") % {"what": label}
    )


def related_counts(record: Model, *, other: Model | None = None) -> list[tuple[Relation, int]]:
    """How many rows of each kind point at `record` (and would move if it were merged away);
    rows pointing at `other` (the record it would merge into) are not counted."""
    counts = []
    for relation in relations(type(record)):
        rows = relation.rows(record)
        if other is not None and relation.model is type(record):
            rows = rows.exclude(pk=other.pk)
        n = rows.count()
        if n:
            counts.append((relation, n))
    return counts


def _has_dependants(model: type[Model]) -> bool:
    """Whether any row could point at a row of `model` (deleting it could then lose data)."""
    if any(
        rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
        for rel in model._meta.get_fields(include_hidden=True)
    ):
        return True
    content_type = ContentType.objects.get_for_model(model)
    return any(
        other._base_manager.filter(**{ct_field: content_type}).exists()
        for other in apps.get_models()
        if _tenant_model(other)
        for ct_field, _id_field in _generic_pairs(other)
    )


def _row_values(row: Model) -> dict[str, Any]:
    return {
        f.attname: _plain(getattr(row, f.attname))
        for f in row._meta.concrete_fields
        if not f.generated
    }


@dataclass
class MoveLog:
    """What happened to related rows, in the form the audit entry stores."""

    moved: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    def move(self, relation: Relation, pks: list[Any]) -> None:
        if pks:
            self.moved.append(
                {
                    "model": relation.model._meta.label_lower,
                    "field": relation.field,
                    "relation": relation.label,
                    "pks": sorted(pks),
                }
            )

    def remove(self, row: Model, relation: Relation | None = None) -> None:
        self.removed.append(
            {
                "model": row._meta.label_lower,
                "pk": row.pk,
                "relation": relation.label if relation else None,
                "fields": _row_values(row),
            }
        )
        row.delete()

    def change(self, row: Model, name: str, new: Any) -> None:
        attname = str(getattr(row._meta.get_field(name), "attname", name))
        old = getattr(row, attname)
        self.changed.append(
            {
                "model": row._meta.label_lower,
                "pk": row.pk,
                "field": attname,
                "old": _plain(old),
                "new": _plain(new),
            }
        )
        type(row)._base_manager.filter(pk=row.pk).update(**{attname: new})

    def as_json(self) -> dict[str, Any]:
        return {"moved": self.moved, "removed": self.removed, "changed": self.changed}


def _move(relation: Relation, survivor: Model, loser: Model, log: MoveLog) -> None:
    rows = relation.rows(loser)
    if relation.model is type(survivor):
        rows = rows.exclude(pk=survivor.pk)
    pks = list(rows.select_for_update().values_list("pk", flat=True))
    if not pks:
        return
    manager = relation.model._base_manager
    try:
        with transaction.atomic():
            manager.filter(pk__in=pks).update(**{relation.attname: survivor.pk})
        log.move(relation, pks)
        return
    except IntegrityError:
        pass
    # Some rows have a twin on the survivor: move the others one by one.
    moved = []
    for pk in pks:
        try:
            with transaction.atomic():
                manager.filter(pk=pk).update(**{relation.attname: survivor.pk})
            moved.append(pk)
        except IntegrityError as exc:
            if _has_dependants(relation.model):
                raise MergeError(
                    _(
                        "Both records have %(what)s that cannot be combined automatically. "
                        "Remove the duplicate one from either record, then merge."
                    )
                    % {"what": relation.model._meta.verbose_name_plural}
                ) from exc
            log.remove(manager.get(pk=pk), relation)
    log.move(relation, moved)


def _dedupe_shares(survivor: Model, loser: Model, log: MoveLog) -> None:
    """A user or team the survivor is already shared with keeps one share, with the edit
    right if either had it."""
    content_type = ContentType.objects.get_for_model(type(survivor))
    kept = {
        (s.user_id, s.team_id): s
        for s in RecordShare.objects.select_for_update().filter(
            content_type=content_type, object_id=survivor.pk
        )
    }
    for share in RecordShare.objects.select_for_update().filter(
        content_type=content_type, object_id=loser.pk
    ):
        twin = kept.get((share.user_id, share.team_id))
        if twin is None:
            continue
        if share.can_edit and not twin.can_edit:
            log.change(twin, "can_edit", True)
        log.remove(share)


def _one_current_employment(survivor: Model, loser: Model, log: MoveLog) -> None:
    """Merged contacts keep both histories; only one employment can be current: the one at
    the survivor's (chosen) account, else the survivor's own. The other closes today."""
    if not isinstance(survivor, Contact):
        return
    current = list(
        Employment.objects.select_for_update()
        .filter(contact__in=[survivor.pk, loser.pk], ended_at__isnull=True)
        .order_by("pk")
    )
    if len(current) < 2:
        return
    at_account = [e for e in current if e.account_id and e.account_id == survivor.account_id]
    own = [e for e in current if e.contact_id == survivor.pk]
    keep = (at_account or own)[0]
    for job in current:
        if job.pk != keep.pk:
            log.change(job, "ended_at", timezone.localdate())


# Run before the generic move, for clashes that are not (or not only) unique constraints.
RESOLVERS: list[Callable[[Model, Model, MoveLog], None]] = [
    _dedupe_shares,
    _one_current_employment,
]


# --- Field choices ----------------------------------------------------------------------------


def record_fields(model: type[Model]) -> list[str]:
    """The fields a merge may change (not the database-computed ones, not the change time)."""
    return [
        f.name for f in model._meta.concrete_fields if not f.generated and f.name != "updated_at"
    ]


def choice_fields(survivor: Model, loser: Model) -> list[str]:
    """The names a choice can be made for: the editable fields, then each custom field key."""
    keys = sorted(
        set(getattr(survivor, "custom_fields", {}) or {})
        | set(getattr(loser, "custom_fields", {}) or {})
    )
    return [*MERGE_FIELDS[type(survivor)], *(CUSTOM_PREFIX + k for k in keys)]


def is_empty(value: Any) -> bool:
    """No value worth keeping: a checked box beats an unchecked one (a "do not call" must
    survive a merge), any number is a value."""
    return value is None or value is False or value == "" or value == {} or value == []


def field_value(record: Model, name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (getattr(record, "custom_fields", {}) or {}).get(name[len(CUSTOM_PREFIX) :])
    field_ = record._meta.get_field(name)
    return getattr(record, str(getattr(field_, "attname", name)))


def _points_at_either(record: Model, name: str, pks: Iterable[Any]) -> bool:
    """A self-reference (parent, reports to) to one of the two records being merged: after
    the merge it would point at the record itself."""
    if name.startswith(CUSTOM_PREFIX):
        return False
    field_ = record._meta.get_field(name)
    if not isinstance(field_, ForeignKey) or field_.related_model is not type(record):
        return False
    return field_value(record, name) in set(pks)


def default_choices(survivor: Model, loser: Model) -> dict[str, str]:
    """The survivor's value where it has one, else the other record's."""
    pks = (survivor.pk, loser.pk)
    out = {}
    for name in choice_fields(survivor, loser):
        mine = field_value(survivor, name)
        theirs = field_value(loser, name)
        if _points_at_either(survivor, name, pks):
            mine = None
        if _points_at_either(loser, name, pks):
            theirs = None
        out[name] = LOSER if is_empty(mine) and not is_empty(theirs) else SURVIVOR
    return out


def _apply_choices(survivor: Model, loser: Model, choices: Mapping[str, str]) -> dict[str, str]:
    names = choice_fields(survivor, loser)
    unknown = sorted(set(choices) - set(names))
    errors: dict[str, list[str]] = {}
    for name in unknown:
        errors.setdefault(name, []).append(_("This field cannot be chosen in a merge."))
    for name, pick in choices.items():
        if pick not in (SURVIVOR, LOSER):
            errors.setdefault(name, []).append(_("Choose the value of one of the two records."))
    if errors:
        raise ValidationError(errors)
    final = {**default_choices(survivor, loser), **choices}
    custom = dict(getattr(survivor, "custom_fields", {}) or {})
    companions = COMPANIONS.get(type(survivor), {})
    for name in names:
        if final[name] != LOSER:
            continue
        if name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX) :]
            value = (loser.custom_fields or {}).get(key)  # type: ignore[attr-defined]
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
            continue
        for each in (name, *companions.get(name, ())):
            attname = str(getattr(survivor._meta.get_field(each), "attname", each))
            setattr(survivor, attname, getattr(loser, attname))
    if hasattr(survivor, "custom_fields"):
        survivor.custom_fields = custom
    pks = (survivor.pk, loser.pk)
    for name in names:
        if _points_at_either(survivor, name, pks):
            setattr(survivor, survivor._meta.get_field(name).attname, None)  # type: ignore[union-attr]
    return {name: final[name] for name in names}


# --- Merge ------------------------------------------------------------------------------------


def _check_deferred_constraints(message: str) -> None:
    """Foreign keys are checked at commit; check now, to answer with a message."""
    try:
        with transaction.atomic():
            connection.check_constraints()
    except IntegrityError as exc:
        raise MergeError(message) from exc


def record_merge(
    *,
    actor: User,
    survivor: Model,
    loser: Model,
    choices: Mapping[str, str],
    channel: str = "web",
) -> AuditEntry:
    """Merge `loser` into `survivor` and return the audit entry that can undo it.

    `choices` maps a field name (or "custom_fields.<key>") to "survivor" or "loser": whose
    value the survivor keeps; fields left out keep the survivor's value unless it is empty.
    Tags (and any many-to-many) end up as the union. The actor must be allowed to edit the
    survivor and to delete the loser."""
    model = type(survivor)
    if type(loser) is not model or model not in MERGE_FIELDS:
        raise MergeError(_("Only two records of the same type can be merged."))
    if survivor.pk == loser.pk:
        raise MergeError(_("Choose two different records to merge."))
    object_type = OBJECT_TYPE[model]
    if not can(actor, Action.EDIT, survivor, object_type):
        raise PermissionDenied(
            _(
                "Your role does not allow editing the record to keep. Keep the other one, "
                "or ask a manager."
            )
        )
    if not can(actor, Action.DELETE, loser, object_type):
        raise PermissionDenied(
            _(
                "Your role does not allow deleting the record that would be merged away. "
                "Keep it instead, or ask a manager or workspace admin to merge."
            )
        )
    with transaction.atomic():
        locked = {
            obj.pk: obj
            for obj in model._default_manager.select_for_update()
            .filter(pk__in=[survivor.pk, loser.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise MergeError(_("One of the two records was deleted meanwhile."))
        survivor, loser = locked[survivor.pk], locked[loser.pk]
        names = record_fields(model)
        before = snapshot(survivor, names)
        loser_row = _row_values(loser)
        loser_m2m = {
            m2m.name: sorted(getattr(loser, m2m.name).values_list("pk", flat=True))
            for m2m in model._meta.many_to_many
        }
        final_choices = _apply_choices(survivor, loser, choices)
        # Every value comes from one of the two records: a retired list value may be kept.
        validate_record(survivor, snapshot(survivor, names))
        survivor.save()
        log = MoveLog()
        for resolve in RESOLVERS:
            resolve(survivor, loser, log)
        for relation in relations(model):
            _move(relation, survivor, loser, log)
        changes = {
            "format": FORMAT_VERSION,
            "fields": diff(before, snapshot(survivor, names)),
            "choices": final_choices,
            "loser": {
                "model": model._meta.label_lower,
                "pk": loser.pk,
                "repr": str(loser)[:300],
                "row": loser_row,
                "m2m": loser_m2m,
            },
            **log.as_json(),
        }
        entry = audit(
            obj=survivor, kind=AuditEntry.Kind.MERGE, actor=actor, channel=channel, changes=changes
        )
        audit(
            obj=loser,
            kind=AuditEntry.Kind.MERGE,
            actor=actor,
            channel=channel,
            changes={"merged_into": survivor.pk, "merge_entry": entry.pk},
        )
        loser.delete()
        _check_deferred_constraints(_("The records changed while merging; try again."))
    return entry


# --- Undo -------------------------------------------------------------------------------------


def is_merge_entry(entry: AuditEntry) -> bool:
    """An entry written on the survivor by `record_merge` (not the note on the loser)."""
    return (
        entry.kind == AuditEntry.Kind.MERGE
        and isinstance(entry.changes, dict)
        and ("loser" in entry.changes)
    )


def undo_entry_of(entry: AuditEntry) -> AuditEntry | None:
    """The entry that undid this merge, if any."""
    return AuditEntry.objects.filter(
        kind=AuditEntry.Kind.UNMERGE,
        content_type_id=entry.content_type_id,
        object_id=entry.object_id,
        changes__merge_entry=entry.pk,
    ).first()


def merged_model(entry: AuditEntry) -> type[Model] | None:
    model = entry.content_type.model_class()
    return model if model in MERGE_FIELDS else None


def _python(model: type[Model], attname: str, value: Any) -> Any:
    if value is None:
        return None
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            target = f.target_field if isinstance(f, ForeignKey) else f
            return target.to_python(value)
    return value


def _restore_row(model: type[Model], values: Mapping[str, Any]) -> Model:
    """Insert a row again with its old primary key and values."""
    row = model()
    for attname, value in values.items():
        setattr(row, attname, _python(model, attname, value))
    row.save(force_insert=True)
    # auto_now(_add) fields were stamped with the time of the undo: put the old times back.
    stamped = {
        f.attname: _python(model, f.attname, values[f.attname])
        for f in model._meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        and f.attname in values
    }
    if stamped:
        model._base_manager.filter(pk=row.pk).update(**stamped)
    return row


def _check_references(model: type[Model], values: dict[str, Any]) -> None:
    """Links the restored record had to rows deleted since: emptied where allowed."""
    for f in model._meta.concrete_fields:
        if not isinstance(f, ForeignKey) or values.get(f.attname) is None:
            continue
        if f.related_model._base_manager.filter(pk=values[f.attname]).exists():
            continue
        if not f.null:
            raise MergeError(
                _("The merged record's %(field)s no longer exists, so it cannot be restored.")
                % {"field": f.verbose_name}
            )
        values[f.attname] = None


def record_merge_undo(*, actor: User, entry: AuditEntry, channel: str = "web") -> Model:
    """Undo a merge from its audit entry: recreate the merged-away record with its old id and
    values, restore the survivor's previous values, move the related rows back, and recreate
    or restore what clashed. Returns the recreated record. Refused with MergeError when that
    cannot be done safely (already undone, the kept record deleted, the old id taken)."""
    with transaction.atomic():
        entry = (
            AuditEntry.objects.select_for_update().select_related("content_type").get(pk=entry.pk)
        )
        model = merged_model(entry)
        if model is None or not is_merge_entry(entry):
            raise MergeError(_("This history entry is not a merge."))
        if undo_entry_of(entry) is not None:
            raise MergeError(_("This merge was already undone."))
        survivor = model._default_manager.select_for_update().filter(pk=entry.object_id).first()
        if survivor is None:
            raise MergeError(
                _("The record that was kept has been deleted since, so the merge cannot be undone.")
            )
        if not can(actor, Action.EDIT, survivor, OBJECT_TYPE[model]):
            raise PermissionDenied(_("Your role does not allow editing this record."))
        data = entry.changes
        loser_data = data["loser"]
        loser_pk = loser_data["pk"]
        if model._base_manager.filter(pk=loser_pk).exists():
            raise MergeError(
                _(
                    "Another record now has the merged record's id (%(pk)s), so it cannot be "
                    "restored."
                )
                % {"pk": loser_pk}
            )
        values = dict(loser_data["row"])
        _check_references(model, values)
        loser = _restore_row(model, values)

        for group in data.get("moved", []):
            relation = _relation_by_label(group["relation"])
            try:
                with transaction.atomic():
                    relation.model._base_manager.filter(
                        pk__in=group["pks"], **{relation.attname: survivor.pk}
                    ).update(**{relation.attname: loser.pk})
            except IntegrityError as exc:
                raise MergeError(
                    _(
                        "%(what)s cannot be moved back without a conflict, so the merge "
                        "cannot be undone."
                    )
                    % {"what": capfirst(str(relation.model._meta.verbose_name_plural))}
                ) from exc
        for row in data.get("removed", []):
            removed_model = apps.get_model(row["model"])
            if removed_model._base_manager.filter(pk=row["pk"]).exists():
                raise MergeError(
                    _("A removed %(what)s cannot be recreated (its id is taken).")
                    % {"what": removed_model._meta.verbose_name}
                )
            try:
                with transaction.atomic():
                    _restore_row(removed_model, row["fields"])
            except IntegrityError as exc:
                raise MergeError(
                    _("A removed %(what)s cannot be recreated without a conflict.")
                    % {"what": removed_model._meta.verbose_name}
                ) from exc
        for change in data.get("changed", []):
            changed_model = apps.get_model(change["model"])
            attname = change["field"]
            changed_model._base_manager.filter(
                pk=change["pk"], **{attname: _python(changed_model, attname, change["new"])}
            ).update(**{attname: _python(changed_model, attname, change["old"])})

        before = snapshot(survivor, record_fields(model))
        for name, (old, _new) in data.get("fields", {}).items():
            attname = str(getattr(model._meta.get_field(name), "attname", name))
            setattr(survivor, attname, _python(model, attname, old))
        survivor.save()
        after = snapshot(survivor, record_fields(model))
        audit(
            obj=survivor,
            kind=AuditEntry.Kind.UNMERGE,
            actor=actor,
            channel=channel,
            changes={
                "merge_entry": entry.pk,
                "restored": {"model": model._meta.label_lower, "pk": loser.pk},
                "fields": diff(before, after),
            },
        )
        audit(
            obj=loser,
            kind=AuditEntry.Kind.UNMERGE,
            actor=actor,
            channel=channel,
            changes={"merge_entry": entry.pk, "split_from": survivor.pk},
        )
        _check_deferred_constraints(
            _(
                "Some records linked before the merge were deleted since; the merge "
                "cannot be undone."
            )
        )
    return loser


# --- Likely duplicate pairs -------------------------------------------------------------------

REASONS = {1: "email", 2: "phone", 3: "name"}
# A page that would take longer says so instead of holding a worker (see README: limits).
PAIRS_TIMEOUT_MS = 20_000
# The pairs of every record are computed once per data version and kept in the cache; each
# view filters them by what the viewer may read. Bump PAIRS_FORMAT when the rules change.
PAIRS_FORMAT = 1
PAIRS_CACHE_SECONDS = 24 * 3600
# A comparison that timed out is not retried on every view while the data stays the same.
PAIRS_TIMED_OUT_SECONDS = 10 * 60


@dataclass(frozen=True)
class PairPage:
    """One page of likely duplicate pairs, grouped by their older record."""

    pairs: list[tuple[int, int, list[str]]]  # (older pk, newer pk, reasons), group by group
    groups: int  # groups on all pages
    number: int
    per_page: int
    timed_out: bool = False  # too many records to compare within PAIRS_TIMEOUT_MS

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.groups // self.per_page))


def _identity_columns(model: type[Model]) -> list[str]:
    """The columns the pair comparison reads."""
    rule = RULES[model]
    return list(dict.fromkeys([*rule.emails, *rule.phones, *rule.name_fields, rule.place]))


def _pairs_sql(model: type[Model]) -> str:
    """Every likely duplicate pair of the workspace's records: (lower id, higher id, reason
    numbers). Record security is applied afterwards, per viewer."""
    rule = RULES[model]
    table = connection.ops.quote_name(model._meta.db_table)

    def digits(name: str) -> str:
        # The digits of models.phone_key_expression, inside a raw query.
        return f"regexp_replace(coalesce(t.{name}, ''), '[^0-9]', '', 'g')"

    emails = ", ".join(f"nullif(lower(trim(t.{n})), '')" for n in rule.emails)
    phones = ", ".join(
        f"CASE WHEN length({digits(n)}) >= {PHONE_MIN_DIGITS} "
        f"THEN right({digits(n)}, {PHONE_KEY_DIGITS}) END"
        for n in rule.phones
    )
    name = " || ' ' || ".join(f"coalesce(t.{n}, '')" for n in rule.name_fields)
    place = (
        "t.account_id::text" if rule.place == "account_id" else f"nullif(lower(t.{rule.place}), '')"
    )
    # Identifiers come from the models; values are parameters.
    return f"""
        WITH v AS MATERIALIZED (
            SELECT t.id, ARRAY[{emails}] AS emails, ARRAY[{phones}] AS phones,
                   lower(trim({name})) AS name, ({place}) COLLATE "C" AS place
            FROM {table} t
        ),
        em AS (
            SELECT v.id, k COLLATE "C" AS k FROM v, unnest(v.emails) AS k WHERE k IS NOT NULL
        ),
        ph AS (
            SELECT v.id, k COLLATE "C" AS k FROM v, unnest(v.phones) AS k WHERE k IS NOT NULL
        ),
        -- Similar names, by prefix filtering (an exact set-similarity join): with the
        -- trigrams of every name in one global order (rarest first), two names of Jaccard
        -- similarity >= t share a trigram among the first |A| - ceil(t|A|) + 1 of each. Only
        -- those candidate pairs get their similarity computed, not every pair in a city.
        tri AS (
            SELECT v.id, v.place, g FROM v, unnest(show_trgm(v.name)) AS g
            WHERE v.place IS NOT NULL AND v.name <> ''
        ),
        trigrams AS (
            SELECT g, row_number() OVER (ORDER BY count(*), g COLLATE "C") AS o
            FROM tri GROUP BY g
        ),
        ordered AS (
            SELECT tri.id, tri.place, trigrams.o,
                   row_number() OVER (PARTITION BY tri.id ORDER BY trigrams.o) AS rk,
                   count(*) OVER (PARTITION BY tri.id) AS size
            FROM tri JOIN trigrams USING (g)
        ),
        prefix AS (
            SELECT id, place, o, size, ceil(%s::numeric * size) AS least
            FROM ordered WHERE rk <= size - ceil(%s::numeric * size) + 1
        ),
        -- ... and neither name can have fewer than t times the other's trigrams.
        candidates AS (
            SELECT DISTINCT a.id AS a, b.id AS b
            FROM prefix a JOIN prefix b ON a.o = b.o AND a.place = b.place AND a.id < b.id
            WHERE b.size >= a.least AND a.size >= b.least
        ),
        pairs AS (
            SELECT a.id AS a, b.id AS b, 1 AS reason
            FROM em a JOIN em b ON a.k = b.k AND a.id < b.id
            UNION ALL
            SELECT a.id, b.id, 2 FROM ph a JOIN ph b ON a.k = b.k AND a.id < b.id
            UNION ALL
            SELECT c.a, c.b, 3 FROM candidates c
            JOIN v a ON a.id = c.a JOIN v b ON b.id = c.b
            WHERE similarity(a.name, b.name) >= %s
        )
        SELECT a, b, array_agg(DISTINCT reason ORDER BY reason) AS reasons
        FROM pairs GROUP BY a, b
        ORDER BY a, b
    """  # noqa: S608


def _data_version(model: type[Model]) -> str:
    """A digest of exactly the values the comparison reads (and of the rules), so a change to
    any record's email, phone, name or place, an added or a deleted record gives a new version,
    whichever way the row was written; other edits keep the cached pairs."""
    table = connection.ops.quote_name(model._meta.db_table)
    by_name = {
        name: str(f.column) for f in model._meta.concrete_fields for name in (f.name, f.attname)
    }
    columns = ", ".join(
        f"t.{connection.ops.quote_name(by_name[n])}" for n in _identity_columns(model)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(hashtextextended(concat_ws(chr(31), t.id, "  # noqa: S608
            f"{columns}), 0)::numeric), 0) FROM {table} t"
        )
        count, digest = cursor.fetchone() or (0, 0)
    rules = (NAME_SIMILARITY, PHONE_MIN_DIGITS, PHONE_KEY_DIGITS, PAIRS_FORMAT)
    return f"{count}:{digest}:{rules}"


def pairs_cache_key(model: type[Model]) -> str:
    """Where the pairs of the current workspace's `model` records are cached (one entry per
    schema and model: a new version replaces the old one)."""
    schema = tenant_connection().schema_name
    return f"customers:duplicate-pairs:{schema}:{model._meta.label_lower}"


@dataclass(frozen=True)
class AllPairs:
    """Every likely duplicate pair of a model's records, at one data version."""

    version: str
    pairs: list[tuple[int, int, tuple[int, ...]]]  # (lower pk, higher pk, reason numbers)
    timed_out: bool = False


def _compute_pairs(model: type[Model], version: str) -> AllPairs:
    sql = _pairs_sql(model)
    params: list[str | float] = [
        str(NAME_SIMILARITY),  # exact, for the prefix and size bounds
        str(NAME_SIMILARITY),
        NAME_SIMILARITY,
    ]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Row estimates of the self-joins are poor (no statistics on the CTEs), which
            # makes PostgreSQL compile the query to machine code first: slower than running.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"SET LOCAL statement_timeout = {int(PAIRS_TIMEOUT_MS)}")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):
            raise
        return AllPairs(version, [], timed_out=True)
    return AllPairs(version, [(a, b, tuple(reasons)) for a, b, reasons in rows])


def all_pairs(model: type[Model]) -> AllPairs:
    """Every likely duplicate pair of the workspace's `model` records (no record security:
    callers filter by what the viewer may read), from the cache while the data is unchanged."""
    key = pairs_cache_key(model)
    version = _data_version(model)
    cached = shared_cache.get(key)
    if isinstance(cached, AllPairs) and cached.version == version:
        return cached
    computed = _compute_pairs(model, version)
    timeout = PAIRS_TIMED_OUT_SECONDS if computed.timed_out else PAIRS_CACHE_SECONDS
    shared_cache.set(key, computed, timeout)
    return computed


def marked_distinct(model: type[Model], pks: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """(lower pk, higher pk) of pairs marked as not duplicates (those involving `pks`)."""
    marks = NotDuplicate.objects.filter(content_type=ContentType.objects.get_for_model(model))
    if pks is not None:
        pks = list(pks)
        marks = marks.filter(Q(low_id__in=pks) | Q(high_id__in=pks))
    return set(marks.values_list("low_id", "high_id"))


def duplicate_pairs(
    user: User, model: type[Model], *, page: int = 1, per_page: int = 20
) -> PairPage:
    """Likely duplicate pairs among the records `user` can read (same email, same phone,
    similar name at the same place, as in duplicates.py), leaving out pairs marked as not
    duplicates. Groups are a record and its likely duplicates with higher ids, newest first.
    The comparison runs once per data version (see `all_pairs`); a view costs a fixed number
    of queries whatever the number of records."""
    found = all_pairs(model)
    if found.timed_out:
        return PairPage([], 0, 1, per_page, timed_out=True)
    ids = {pk for a, b, _reasons in found.pairs for pk in (a, b)}
    readable: set[int] = set()
    if ids:
        readable = set(
            visible(
                user, model._default_manager.filter(pk__in=ids), OBJECT_TYPE[model]
            ).values_list("pk", flat=True)
        )
    marked = marked_distinct(model) if readable else set()
    groups: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
    for a, b, reasons in found.pairs:
        if a in readable and b in readable and (a, b) not in marked:
            groups.setdefault(a, []).append((b, reasons))
    order = sorted(groups, key=lambda a: (-max(b for b, _r in groups[a]), a))
    page = max(1, page)
    if (page - 1) * per_page >= len(order):
        page = 1
    pairs = [
        (a, b, [REASONS[r] for r in reasons])
        for a in order[(page - 1) * per_page : page * per_page]
        for b, reasons in sorted(groups[a], key=lambda m: (-len(m[1]), m[0]))
    ]
    return PairPage(pairs, len(order), page, per_page)


# --- Pairs marked as not duplicates -----------------------------------------------------------


# The key of a mark's audit entries: {"not_duplicate_of": [before, after]} with the other
# record's name, in the shape of a field change.
NOT_DUPLICATE_CHANGE = "not_duplicate_of"


def _pair(first: Model, second: Model) -> tuple[type[Model], ContentType, int, int]:
    model = type(first)
    if type(second) is not model or model not in MERGE_FIELDS:
        raise MergeError(_("Only two records of the same type can be compared."))
    if first.pk == second.pk:
        raise MergeError(_("Choose two different records."))
    low, high = sorted((int(first.pk), int(second.pk)))
    return model, ContentType.objects.get_for_model(model), low, high


def _require_edit_both(actor: User, model: type[Model], first: Model, second: Model) -> None:
    object_type = OBJECT_TYPE[model]
    if not (
        can(actor, Action.EDIT, first, object_type) and can(actor, Action.EDIT, second, object_type)
    ):
        raise PermissionDenied(
            _("Your role does not allow editing both records. Ask a manager or workspace admin.")
        )


def _audit_mark(actor: User, first: Model, second: Model, channel: str, *, marked: bool) -> None:
    entries = []
    for obj, other in ((first, second), (second, first)):
        name = str(other)[:300]
        change = [None, name] if marked else [name, None]
        entries.append(
            audit_entry(
                obj=obj,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes={NOT_DUPLICATE_CHANGE: change},
            )
        )
    AuditEntry.objects.bulk_create(entries)


def pair_mark_distinct(
    *, actor: User, first: Model, second: Model, channel: str = "web"
) -> NotDuplicate:
    """Mark two records as not duplicates of each other, so the duplicates page and the merge
    picker stop offering the pair. The actor must be allowed to edit both. Marking a marked
    pair again changes nothing. Audited on both records."""
    model, content_type, low, high = _pair(first, second)
    _require_edit_both(actor, model, first, second)
    with transaction.atomic():
        mark, created = NotDuplicate.objects.get_or_create(
            content_type=content_type,
            low_id=low,
            high_id=high,
            defaults={"marked_by": actor if actor.pk else None},
        )
        if created:
            _audit_mark(actor, first, second, channel, marked=True)
    return mark


def pair_unmark(*, actor: User, first: Model, second: Model, channel: str = "web") -> bool:
    """Take back a "not duplicates" mark: the pair can be offered again. The actor must be
    allowed to edit both. Returns whether there was a mark. Audited on both records."""
    model, content_type, low, high = _pair(first, second)
    _require_edit_both(actor, model, first, second)
    with transaction.atomic():
        deleted, _by_model = NotDuplicate.objects.filter(
            content_type=content_type, low_id=low, high_id=high
        ).delete()
        if deleted:
            _audit_mark(actor, first, second, channel, marked=False)
    return bool(deleted)


def marked_pairs(user: User, model: type[Model]) -> QuerySet[NotDuplicate]:
    """Pairs marked as not duplicates whose two records `user` can read, newest first (marks
    naming a deleted record are left out)."""
    readable = visible(user, model._default_manager.all(), OBJECT_TYPE[model]).values("pk")
    return (
        NotDuplicate.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            low_id__in=readable,
            high_id__in=readable,
        )
        .select_related("marked_by")
        .order_by("-marked_at", "-pk")
    )
