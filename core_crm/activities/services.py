"""Writes on activities and follow-up plans: permission check, rules that name their field,
one transaction, audit entry; notifications (assignment, @mentions) and reminders here too.
The pages, the calendar and the REST API all call these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, can, may_give_to, require_create, visible
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit, diff, snapshot
from core_crm.customers.models import Account, Contact, Lead
from core_crm.notifications.services import notify
from core_crm.sales.models import Opportunity
from core_crm.users.models import User

from .mentions import mentioned_users
from .models import (
    DEFAULT_REMINDER_MINUTES,
    REMINDER_KINDS,
    TIMED_KINDS,
    Activity,
    FollowUpPlan,
    Kind,
)

OBJECT_TYPE = "activity"
RELATED: dict[str, tuple[type[Model], str]] = {
    "account": (Account, "account"),
    "contact": (Contact, "contact"),
    "lead": (Lead, "lead"),
    "opportunity": (Opportunity, "opportunity"),
}
EDITABLE = {
    "kind",
    "subject",
    "description",
    "start_at",
    "end_at",
    "due_at",
    "priority",
    "location",
    "outcome",
    "account",
    "contact",
    "lead",
    "opportunity",
    "owner",
    "remind_minutes_before",
    "plan",
}
AUDITED = [
    "kind",
    "subject",
    "description",
    "start_at",
    "end_at",
    "due_at",
    "done",
    "done_at",
    "outcome",
    "priority",
    "location",
    "account",
    "contact",
    "lead",
    "opportunity",
    "owner",
    "remind_minutes_before",
    "plan",
]
DEFAULT_LENGTH = {Kind.CALL: 15, Kind.MEETING: 60, Kind.VISIT: 60}


def _user_can_read(user: User, obj: Model, object_type: str) -> bool:
    return visible(user, type(obj)._default_manager.filter(pk=obj.pk), object_type).exists()


def related_record(activity: Activity) -> tuple[Model, str] | None:
    """The most specific record the activity is about (opportunity, contact, lead, account)."""
    for name in ("opportunity", "contact", "lead", "account"):
        obj = getattr(activity, name)
        if obj is not None:
            return obj, RELATED[name][1]
    return None


def record_url(obj: Model) -> str:
    names: dict[type[Model], tuple[str, ...]] = {
        Account: ("customers_detail",),
        Contact: ("contacts_detail",),
        Lead: ("leads_detail",),
        Opportunity: ("opportunity_detail",),
    }
    for name in names.get(type(obj), ()):
        try:
            return reverse(name, args=[obj.pk])
        except NoReverseMatch:
            continue
    return ""


def activity_url(activity: Activity) -> str:
    return reverse("activity_detail", args=[activity.pk])


def _validate(activity: Activity, *, actor: User, data: dict[str, Any], creating: bool) -> None:
    """Apply `data` to `activity` and check every rule; errors name their field."""
    errors: dict[str, list[str]] = {}

    def err(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    duration = data.pop("duration", None)
    participants = data.pop("participants", None)
    contact_participants = data.pop("contact_participants", None)
    for name, value in data.items():
        if name in EDITABLE:
            setattr(activity, name, value)
    kind = activity.kind
    if kind not in Kind.values:
        err("kind", _("Choose a kind of activity."))
    if not (activity.subject or "").strip():
        err("subject", _("Give the activity a subject."))
    activity.subject = (activity.subject or "").strip()

    # What it is about: at least one record, each one the actor may read.
    for name, (_model, object_type) in RELATED.items():
        obj = getattr(activity, name)
        changed = name in data
        if obj is not None and changed and not _user_can_read(actor, obj, object_type):
            err(name, _("Choose a record you can see."))
    if activity.contact is not None and activity.contact.account_id:
        if activity.account_id is None:
            activity.account = activity.contact.account
        elif activity.account_id != activity.contact.account_id:
            err("contact", _("This contact works at another account."))
    if activity.opportunity is not None:
        if activity.account_id is None:
            activity.account = activity.opportunity.account
        elif activity.account_id != activity.opportunity.account_id:
            err("opportunity", _("This opportunity belongs to another account."))
    if not any(getattr(activity, f"{name}_id") for name in RELATED):
        err("account", _("Relate the activity to an account, contact, lead or opportunity."))

    # Times.
    if kind in TIMED_KINDS:
        if activity.start_at is None:
            err("start_at", _("Give the start time."))
        elif duration not in (None, ""):
            try:
                minutes = int(duration)
            except (TypeError, ValueError):
                minutes = -1
            if minutes <= 0:
                err("duration", _("The duration is a number of minutes above zero."))
            else:
                activity.end_at = activity.start_at + dt.timedelta(minutes=minutes)
        elif activity.end_at is None:
            activity.end_at = activity.start_at + dt.timedelta(minutes=DEFAULT_LENGTH[Kind(kind)])
        if activity.start_at and activity.end_at and activity.end_at <= activity.start_at:
            err("end_at", _("The end must be after the start."))
        activity.due_at = None
    elif kind == Kind.TASK:
        if activity.due_at is None and activity.start_at is not None:
            activity.due_at = activity.start_at
        activity.start_at = activity.end_at = None
    elif kind in (Kind.NOTE, Kind.EMAIL):
        activity.start_at = activity.start_at or timezone.now()
        activity.end_at = activity.due_at = None
        if activity.remind_minutes_before is not None:
            err("remind_minutes_before", _("Notes and emails have no reminders."))
    if activity.remind_minutes_before is not None and activity.remind_minutes_before > 60 * 24 * 30:
        err("remind_minutes_before", _("A reminder comes at most 30 days before."))

    # Who.
    if activity.owner_id is None:
        activity.owner = actor
    elif ("owner" in data or creating) and not may_give_to(actor, activity.owner, OBJECT_TYPE):
        err("owner", _("You cannot assign activities to %(name)s.") % {"name": activity.owner})
    if participants is not None:
        inactive = [p for p in participants if not p.is_active]
        if inactive:
            err("participants", _("%(name)s is no longer active.") % {"name": inactive[0]})
    if contact_participants:
        readable = set(
            visible(
                actor,
                Contact.objects.filter(pk__in=[c.pk for c in contact_participants]),
                "contact",
            ).values_list("pk", flat=True)
        )
        if any(c.pk not in readable for c in contact_participants):
            err("contact_participants", _("Choose contacts you can see."))
    if activity.plan is not None and "plan" in data and not activity.plan.is_active:
        err("plan", _("This follow-up plan is retired."))
    try:
        activity.full_clean(
            exclude=[
                "owner",
                "account",
                "contact",
                "lead",
                "opportunity",
                "plan",
                "custom_fields",
                "participants",
                "contact_participants",
            ],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                err(name, message)
    if errors:
        raise ValidationError(errors)
    activity._pending_m2m = (participants, contact_participants)  # type: ignore[attr-defined]


def _schedule_reminder(activity: Activity, *, explicit: bool) -> None:
    """Set when the reminder goes out. A time change re-arms it; a moment already past
    sends none (logging yesterday's call must not remind anyone)."""
    moment = activity.due_at if activity.kind == Kind.TASK else activity.start_at
    if activity.kind not in REMINDER_KINDS or moment is None or activity.done:
        activity.reminder_at = None
        return
    if not explicit and activity.remind_minutes_before is None and activity.pk is None:
        activity.remind_minutes_before = DEFAULT_REMINDER_MINUTES
    if activity.remind_minutes_before is None:
        activity.reminder_at = None
        return
    new = moment - dt.timedelta(minutes=activity.remind_minutes_before)
    if new != activity.reminder_at:
        activity.reminder_at = new
        activity.reminder_sent_at = timezone.now() if moment <= timezone.now() else None


def _mention_text(activity: Activity) -> str:
    return "\n".join(t for t in (activity.description, activity.outcome) if t)


def _notify_mentions(activity: Activity, *, actor: User, before_text: str = "") -> None:
    """Tell colleagues newly @mentioned, when they may read what the note is about."""
    already = {u.pk for u in mentioned_users(before_text)} if before_text else set()
    related = related_record(activity)
    for person in mentioned_users(_mention_text(activity)):
        if person.pk in already or person.pk == actor.pk:
            continue
        if related is not None and not _user_can_read(person, related[0], related[1]):
            continue
        where = str(related[0]) if related else activity.subject
        notify(
            person,
            "mention",
            gettext_lazy("%(actor)s mentioned you: %(subject)s (%(where)s)"),
            params={"actor": actor, "subject": activity.subject, "where": where},
            body=_mention_text(activity)[:1000],
            url=(
                activity_url(activity)
                if can_read(person, activity)
                else (record_url(related[0]) if related else "")
            ),
            actor=actor,
        )


def _notify_assigned(activity: Activity, *, actor: User) -> None:
    notify(
        activity.owner,
        "assigned",
        gettext_lazy("%(actor)s assigned you: %(subject)s"),
        params={"actor": actor, "subject": activity.subject},
        url=activity_url(activity),
        actor=actor,
    )


def can_read(user: User, activity: Activity) -> bool:
    from .selectors import activity_list

    return activity_list(user).filter(pk=activity.pk).exists()


def _save_m2m(activity: Activity) -> None:
    participants, contact_participants = getattr(activity, "_pending_m2m", (None, None))
    if participants is not None:
        activity.participants.set(participants)
    if contact_participants is not None:
        activity.contact_participants.set(contact_participants)


def activity_create(*, actor: User, data: dict[str, Any], channel: str) -> Activity:
    """Create an activity (assigned to the actor unless `owner` is given)."""
    require_create(actor, OBJECT_TYPE)
    data = dict(data)
    done = bool(data.pop("done", False))
    with transaction.atomic():
        activity = Activity(created_by=actor)
        _validate(activity, actor=actor, data=data, creating=True)
        if done:
            activity.done, activity.done_at = True, timezone.now()
        _schedule_reminder(activity, explicit="remind_minutes_before" in data)
        activity.save()
        _save_m2m(activity)
        audit(
            obj=activity,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={
                k: [None, v]
                for k, v in snapshot(activity, AUDITED).items()
                if v not in (None, "", False)
            },
        )
        if activity.owner_id != actor.pk:
            _notify_assigned(activity, actor=actor)
        _notify_mentions(activity, actor=actor)
    return activity


def _require_edit(actor: User, activity: Activity) -> None:
    if not can(actor, Action.EDIT, activity, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow changing this activity."))


def activity_update(
    activity: Activity, *, actor: User, data: dict[str, Any], channel: str
) -> Activity:
    """Change an activity the actor may edit; audits what changed."""
    _require_edit(actor, activity)
    data = dict(data)
    # Done changes only through activity_complete / activity_reopen (their side effects: the
    # outcome, the next activity of a plan, the reminder); an assignee is always there.
    errors: dict[str, list[str]] = {}
    if "done" in data and bool(data.pop("done")) != activity.done:
        errors["done"] = [_("Mark the activity done, or open it again, with its own action.")]
    if "owner" in data and data["owner"] is None:
        errors["owner"] = [_("An activity always has an assignee: give a user id.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        before = snapshot(activity, AUDITED)
        before_text = _mention_text(activity)
        previous_owner = activity.owner_id
        _validate(activity, actor=actor, data=data, creating=False)
        _schedule_reminder(activity, explicit=True)
        activity.save()
        _save_m2m(activity)
        changes = diff(before, snapshot(activity, AUDITED))
        if changes:
            audit(
                obj=activity,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
        if activity.owner_id != previous_owner and activity.owner_id != actor.pk:
            _notify_assigned(activity, actor=actor)
        _notify_mentions(activity, actor=actor, before_text=before_text)
    return activity


def activity_reschedule(
    activity: Activity,
    *,
    actor: User,
    start: dt.datetime,
    end: dt.datetime | None,
    channel: str,
) -> Activity:
    """Move an activity on the calendar (tasks: the due time), keeping its length when no
    end is given."""
    if activity.kind == Kind.TASK:
        data: dict[str, Any] = {"due_at": start}
    else:
        length = (
            activity.end_at - activity.start_at
            if activity.start_at and activity.end_at
            else dt.timedelta(minutes=DEFAULT_LENGTH.get(Kind(activity.kind), 60))
        )
        data = {"start_at": start, "end_at": end or start + length}
    return activity_update(activity, actor=actor, data=data, channel=channel)


def activity_complete(
    activity: Activity,
    *,
    actor: User,
    outcome: str = "",
    channel: str,
    done_at: dt.datetime | None = None,
) -> Activity:
    """Mark done (with an optional outcome). An activity of a follow-up plan plans the next
    one: one interval after completion, same assignee; the done one links to it."""
    _require_edit(actor, activity)
    with transaction.atomic():
        activity = (
            Activity.objects.select_for_update(of=("self",))
            .select_related("plan")
            .get(pk=activity.pk)
        )
        if activity.done:
            raise ValidationError({"done": [_("This activity is already done.")]})
        if activity.kind == Kind.NOTE:
            raise ValidationError({"done": [_("Notes are not done or open.")]})
        before = snapshot(activity, AUDITED)
        before_text = _mention_text(activity)
        activity.done = True
        activity.done_at = done_at or timezone.now()
        if outcome:
            activity.outcome = outcome.strip()
        activity.reminder_at = None
        plan = activity.plan
        if plan is not None and plan.is_active and activity.next_activity_id is None:
            activity.next_activity = _plan_next(activity, plan, actor=actor, channel=channel)
        activity.save()
        audit(
            obj=activity,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes=diff(before, snapshot(activity, AUDITED)),
        )
        _notify_mentions(activity, actor=actor, before_text=before_text)
    return activity


def activity_reopen(activity: Activity, *, actor: User, channel: str) -> Activity:
    _require_edit(actor, activity)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        if not activity.done:
            return activity
        before = snapshot(activity, AUDITED)
        activity.done, activity.done_at = False, None
        _schedule_reminder(activity, explicit=True)
        activity.save()
        audit(
            obj=activity,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes=diff(before, snapshot(activity, AUDITED)),
        )
    return activity


def activity_delete(activity: Activity, *, actor: User, channel: str) -> None:
    if not can(actor, Action.DELETE, activity, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow deleting this activity."))
    with transaction.atomic():
        audit(
            obj=activity,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(activity, AUDITED),
        )
        activity.delete()


# --- Follow-up plans -------------------------------------------------------------------------


def _plan_moment(when: dt.datetime, hour_from: dt.datetime | None) -> dt.datetime:
    """`when`'s date at the time of day of `hour_from` (local time), or 09:00."""
    local = timezone.localtime(when)
    if hour_from is not None:
        ref = timezone.localtime(hour_from)
        return local.replace(hour=ref.hour, minute=ref.minute, second=0, microsecond=0)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


def _plan_next(activity: Activity, plan: FollowUpPlan, *, actor: User, channel: str) -> Activity:
    done_at = activity.done_at or timezone.now()
    moment = _plan_moment(plan.next_after(done_at), activity.start_at or activity.due_at)
    nxt = Activity(
        kind=activity.kind,
        subject=activity.subject,
        description="",
        priority=activity.priority,
        location=activity.location,
        account=activity.account,
        contact=activity.contact,
        lead=activity.lead,
        opportunity=activity.opportunity,
        owner=activity.owner,
        plan=plan,
        created_by=actor,
        remind_minutes_before=activity.remind_minutes_before,
    )
    if activity.kind == Kind.TASK:
        nxt.due_at = moment
    else:
        nxt.start_at = moment
        nxt.end_at = moment + (
            (activity.end_at - activity.start_at)
            if activity.start_at and activity.end_at
            else dt.timedelta(minutes=DEFAULT_LENGTH.get(Kind(activity.kind), 60))
        )
    _schedule_reminder(nxt, explicit=True)
    nxt.save()
    audit(
        obj=nxt,
        kind=AuditEntry.Kind.CREATE,
        actor=actor,
        channel=channel,
        changes={"plan": [None, plan.pk], "previous": [None, activity.pk]},
    )
    return nxt


PLAN_FIELDS = ["name", "kind", "interval", "unit", "value_class", "account", "is_active"]


def _plan_validate(plan: FollowUpPlan) -> None:
    errors: dict[str, list[str]] = {}
    if not plan.value_class and plan.account_id is None:
        errors["value_class"] = [_("Choose a value class or an account the plan applies to.")]
    if plan.kind == Kind.NOTE:
        errors["kind"] = [_("A follow-up is a call, meeting, visit, email or task.")]
    try:
        plan.full_clean(exclude=["account"], validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def plan_create(*, actor: User, data: dict[str, Any], channel: str) -> FollowUpPlan:
    from core_crm.access.policy import require_workspace_admin

    require_workspace_admin(actor, _("Only workspace admins define follow-up plans."))
    with transaction.atomic():
        plan = FollowUpPlan(**{k: v for k, v in data.items() if k in PLAN_FIELDS})
        _plan_validate(plan)
        plan.save()
        audit(
            obj=plan,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={k: [None, v] for k, v in snapshot(plan, PLAN_FIELDS).items() if v},
        )
    return plan


def plan_update(
    plan: FollowUpPlan, *, actor: User, data: dict[str, Any], channel: str
) -> FollowUpPlan:
    from core_crm.access.policy import require_workspace_admin

    require_workspace_admin(actor, _("Only workspace admins change follow-up plans."))
    with transaction.atomic():
        plan = FollowUpPlan.objects.select_for_update().get(pk=plan.pk)
        before = snapshot(plan, PLAN_FIELDS)
        for key, value in data.items():
            if key in PLAN_FIELDS:
                setattr(plan, key, value)
        _plan_validate(plan)
        plan.save()
        changes = diff(before, snapshot(plan, PLAN_FIELDS))
        if changes:
            audit(
                obj=plan, kind=AuditEntry.Kind.UPDATE, actor=actor, channel=channel, changes=changes
            )
    return plan


def plan_delete(plan: FollowUpPlan, *, actor: User, channel: str) -> None:
    from core_crm.access.policy import require_workspace_admin

    require_workspace_admin(actor, _("Only workspace admins delete follow-up plans."))
    with transaction.atomic():
        audit(
            obj=plan,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=snapshot(plan, PLAN_FIELDS),
        )
        plan.delete()


def plan_accounts(plan: FollowUpPlan) -> Any:
    if plan.account_id is not None:
        return Account.objects.filter(pk=plan.account_id)
    return Account.objects.filter(value_class=plan.value_class)


def plan_start(
    plan: FollowUpPlan, *, actor: User, channel: str, first_at: dt.datetime | None = None
) -> int:
    """Plan the first activity for each account the plan applies to that has no open one of
    this plan yet (assigned to the account's owner). Returns how many were planned."""
    from core_crm.access.policy import require_workspace_admin

    require_workspace_admin(actor, _("Only workspace admins start follow-up plans."))
    if not plan.is_active:
        raise ValidationError({"is_active": [_("This follow-up plan is retired.")]})
    moment = first_at or _plan_moment(timezone.now() + dt.timedelta(days=1), None)
    with transaction.atomic():
        busy = Activity.objects.filter(plan=plan, done=False).values("account_id")
        accounts = list(
            plan_accounts(plan).exclude(pk__in=busy).select_related("owner").order_by("pk")
        )
        created = 0
        for account in accounts:
            if not account.owner.is_active:
                continue
            activity = Activity(
                kind=plan.kind,
                subject=plan.name,
                account=account,
                owner=account.owner,
                plan=plan,
                created_by=actor,
            )
            if plan.kind == Kind.TASK:
                activity.due_at = moment
            elif plan.kind in TIMED_KINDS:
                activity.start_at = moment
                activity.end_at = moment + dt.timedelta(minutes=DEFAULT_LENGTH[Kind(plan.kind)])
            else:
                activity.start_at = moment
            _schedule_reminder(activity, explicit=False)
            activity.save()
            audit(
                obj=activity,
                kind=AuditEntry.Kind.CREATE,
                actor=actor,
                channel=channel,
                changes={"plan": [None, plan.pk]},
            )
            created += 1
    return created


# --- Reminders -------------------------------------------------------------------------------

REMINDER_BATCH = 500


def send_due_reminders(now: dt.datetime | None = None) -> int:
    """Send each reminder whose time has come, once. Rows are claimed with FOR UPDATE SKIP
    LOCKED and marked sent in the same transaction, so two workers running at once never
    send the same reminder twice. Returns how many were sent."""
    from .reminders import reminder_message

    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            Activity.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(reminder_at__lte=now, reminder_sent_at__isnull=True, done=False)
            .select_related("owner", "account")
            .order_by("reminder_at")[:REMINDER_BATCH]
        )
        if not due:
            return 0
        Activity.objects.filter(pk__in=[a.pk for a in due]).update(reminder_sent_at=now)
        for activity in due:
            title, body = reminder_message(activity)
            notify(activity.owner, "reminder", title, body=body, url=activity_url(activity))
            sent += 1
    return sent
