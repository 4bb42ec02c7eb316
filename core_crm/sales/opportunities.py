"""Writes on opportunities: permission, rules, stage history and audit in one transaction.

Rules kept here (pages, kanban and API all call these functions):
- the account, primary contact and source lead must be records the actor can read; the
  primary contact must work at the account;
- the stage belongs to the pipeline; a new opportunity starts in the pipeline's first open
  stage unless told otherwise; retired stages cannot be newly chosen;
- moving to another stage sets the probability to the stage's default (an explicit probability
  given with the move wins, except on closed stages); won means 100 % and forecast category
  *closed*, lost means 0 %, category *omitted* and a lost reason is required; reopening a
  closed opportunity puts it back in the *pipeline* category;
- moving into a won or lost stage sets the closing time and makes the close date its local
  date (a deal won early counts in the period it was won), unless the same change gives
  another close date; reopening keeps the close date;
- the amount is kept in the opportunity's currency and in the workspace's base currency
  (`amount_base`), so totals never add different currencies: an open opportunity's base amount
  follows the current rate; a closed one keeps the amount it closed at, recomputed (at the
  current rate) only when its amount or currency is changed. The currency must be one of the
  workspace's active currencies when it is set or changed, or when the base amount follows the
  rate; a closed deal in a currency deactivated since stays editable. The currency cannot
  change while products priced in it (line items) are on the opportunity;
- every stage change (and the creation) writes a StageChange with who, when, from, to and the
  amount at that moment.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.models import Action
from core_crm.access.policy import (
    PermissionDenied,
    can,
    may_give_to,
    require_create,
    visible,
)
from core_crm.audit.models import AuditEntry
from core_crm.audit.services import audit
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.customers.services import _apply, _changes, _state, creation_changes, validate_record
from core_crm.notifications.services import notify
from core_crm.users.models import User

from .currency import base_currency, to_base
from .models import (
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityTeamMember,
    Pipeline,
    Stage,
    StageChange,
)

OBJECT_TYPE = "opportunity"
# Plain fields a caller may set; owner changes through `opportunity_assign`.
WRITABLE = {
    "name",
    "account",
    "primary_contact",
    "pipeline",
    "stage",
    "amount",
    "currency",
    "close_date",
    "probability",
    "forecast_category",
    "source",
    "source_lead",
    "next_step",
    "description",
    "lost_reason",
    "lost_note",
    "custom_fields",
}
OPEN_CATEGORIES = {ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT}


def _resolve(actor: User, model: type[Any], value: Any, field: str, object_type: str) -> Any:
    """A related record given as an instance or a primary key, if the actor can read it."""
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, model) else value
    found = visible(actor, model._default_manager.all(), object_type).filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: [_("Choose a record you can see.")]})
    return found


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number.")]}) from None
    if not number.is_finite() or number < 0:
        raise ValidationError({field: [_("Enter an amount of zero or more.")]})
    if number >= Decimal("1e14"):
        raise ValidationError({field: [_("This amount is too large.")]})
    return number.quantize(Decimal("0.01"))


def _normalise(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    """Input (pks, strings from forms or JSON) as model values; errors name their field."""
    unknown = set(data) - WRITABLE
    errors: dict[str, list[str]] = {}
    for name in sorted(unknown):
        errors[name] = [_("This field cannot be set here.")]
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in unknown:
            continue
        try:
            if name == "account":
                out[name] = _resolve(actor, Account, value, name, "account")
            elif name == "primary_contact":
                out[name] = _resolve(actor, Contact, value, name, "contact")
            elif name == "source_lead":
                out[name] = _resolve(actor, Lead, value, name, "lead")
            elif name == "pipeline":
                pk = value.pk if isinstance(value, Pipeline) else value
                out[name] = Pipeline.objects.filter(pk=pk).first() if pk not in (None, "") else None
                if out[name] is None:
                    raise ValidationError({name: [_("Choose a pipeline.")]})
            elif name == "stage":
                pk = value.pk if isinstance(value, Stage) else value
                out[name] = Stage.objects.filter(pk=pk).first() if pk not in (None, "") else None
                if out[name] is None:
                    raise ValidationError({name: [_("Choose a stage.")]})
            elif name in ("source", "lost_reason"):
                pk = value.pk if isinstance(value, PicklistValue) else value
                out[name] = (
                    PicklistValue.objects.filter(pk=pk).first() if pk not in (None, "") else None
                )
                if pk not in (None, "") and out[name] is None:
                    raise ValidationError({name: [_("Choose a value from the list.")]})
            elif name == "amount":
                out[name] = _decimal(value if value not in (None, "") else 0, name)
            elif name == "currency":
                out[name] = str(value or "").strip().upper()
            elif name == "close_date":
                date = value if isinstance(value, dt.date) else parse_date(str(value or ""))
                if date is None:
                    raise ValidationError({name: [_("Enter a date (YYYY-MM-DD).")]})
                out[name] = date
            elif name == "probability":
                if value in (None, ""):
                    out[name] = None
                else:
                    try:
                        number = int(value)
                    except (TypeError, ValueError):
                        number = -1
                    if not 0 <= number <= 100:
                        raise ValidationError({name: [_("Enter a whole number from 0 to 100.")]})
                    out[name] = number
            elif name in ("name", "next_step", "lost_note"):
                out[name] = " ".join(str(value or "").split())
            else:
                out[name] = value
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return out


def _check_rules(opp: Opportunity, before: dict[str, Any] | None) -> None:
    errors: dict[str, list[str]] = {}
    if not opp.name:
        errors["name"] = [_("Give the opportunity a name.")]
    if opp.account_id is None:
        errors["account"] = [_("Choose the account this opportunity is with.")]
    if (
        opp.primary_contact is not None
        and opp.account_id is not None
        and opp.primary_contact.account_id != opp.account_id
    ):
        errors["primary_contact"] = [_("Choose a contact who works at this account.")]
    if opp.stage_id is not None and opp.stage.pipeline_id != opp.pipeline_id:
        errors["stage"] = [_("This stage belongs to another pipeline.")]
    elif (
        opp.stage_id is not None
        and not opp.stage.is_active
        and (before is None or before.get("stage") != opp.stage_id)
    ):
        errors["stage"] = [_("This stage is retired; choose a current one.")]
    if (before is None or before.get("pipeline") != opp.pipeline_id) and (
        not opp.pipeline.is_active
    ):
        errors["pipeline"] = [_("This pipeline is no longer in use.")]
    outcome = opp.stage.outcome if opp.stage_id is not None else None
    if outcome == Stage.Outcome.LOST and opp.lost_reason_id is None:
        errors["lost_reason"] = [_("Say why the opportunity was lost.")]
    if outcome == Stage.Outcome.OPEN and opp.forecast_category == ForecastCategory.CLOSED:
        errors["forecast_category"] = [_("Only won opportunities are in the closed category.")]
    if opp.close_date is None:
        errors["close_date"] = [_("Enter the expected close date.")]
    if errors:
        raise ValidationError(errors)


def _settle_stage(
    opp: Opportunity,
    stage_changed: bool,
    given: dict[str, Any],
    *,
    now: dt.datetime | None = None,
) -> None:
    """Probability, category, closing time and close date that follow from the stage.

    Moving into a closed stage closes the deal at `now` (default: this moment; the demo
    replays histories with past moments) and its close date becomes the local date of that
    moment, unless `given` (the values of the same change) has a close date."""
    now = now or timezone.now()
    stage = opp.stage
    if stage.outcome == Stage.Outcome.WON:
        opp.probability, opp.forecast_category = 100, ForecastCategory.CLOSED
        opp.lost_reason, opp.lost_note = None, ""
    elif stage.outcome == Stage.Outcome.LOST:
        opp.probability, opp.forecast_category = 0, ForecastCategory.OMITTED
    else:
        opp.lost_reason, opp.lost_note = None, ""
        if stage_changed and given.get("probability") is None:
            opp.probability = stage.probability
        if opp.forecast_category == ForecastCategory.CLOSED or (
            stage_changed
            and opp.closed_at is not None
            and opp.forecast_category == ForecastCategory.OMITTED
            and "forecast_category" not in given
        ):
            opp.forecast_category = ForecastCategory.PIPELINE
    if stage.is_closed:
        if stage_changed or opp.closed_at is None:
            opp.closed_at = now
        if stage_changed and "close_date" not in given:
            opp.close_date = timezone.localdate(opp.closed_at)
    else:
        opp.closed_at = None
    if stage_changed:
        opp.stage_changed_at = now


def _history(opp: Opportunity, from_stage: Stage | None, actor: User, channel: str) -> None:
    StageChange.objects.create(
        opportunity=opp,
        from_stage=from_stage,
        to_stage=opp.stage,
        amount=opp.amount,
        currency=opp.currency,
        amount_base=opp.amount_base,
        probability=opp.probability,
        actor=actor if getattr(actor, "pk", None) else None,
        channel=channel,
    )


def _prepare(opp: Opportunity, values: dict[str, Any]) -> None:
    if values.get("probability", 0) is None:
        values.pop("probability")
    _apply(opp, values)


def opportunity_create(
    *, actor: User, data: dict[str, Any], channel: str, owner: User | None = None
) -> Opportunity:
    """A new opportunity owned by `owner` (default: the actor)."""
    require_create(actor, OBJECT_TYPE)
    owner = owner or actor
    if not may_give_to(actor, owner, OBJECT_TYPE):
        raise ValidationError({"owner": [_("You cannot give opportunities to this person.")]})
    values = _normalise(actor, data)
    with transaction.atomic():
        opp = Opportunity(owner=owner, currency=base_currency())
        if not values.get("pipeline"):
            values["pipeline"] = Pipeline.objects.filter(is_active=True).first()
        pipeline = values["pipeline"]
        if not values.get("stage") and pipeline is not None:
            values["stage"] = (
                pipeline.stages.filter(is_active=True, outcome=Stage.Outcome.OPEN)
                .order_by("position")
                .first()
            )
        _prepare(opp, values)
        opp.amount = opp.amount or Decimal(0)
        _settle_stage(opp, True, values)
        opp.amount_base = to_base(opp.amount, opp.currency)
        _check_rules(opp, None)
        validate_record(opp)
        opp.save()
        _history(opp, None, actor, channel)
        audit(
            obj=opp,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes=creation_changes(opp),
        )
        if owner.pk != actor.pk:
            _tell_owner(opp, actor)
    return opp


def opportunity_update(
    opp: Opportunity, *, actor: User, data: dict[str, Any], channel: str
) -> Opportunity:
    """Change fields (a stage among them, with its rules and history)."""
    if not can(actor, Action.EDIT, opp, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow editing this opportunity."))
    values = _normalise(actor, data)
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().select_related("stage").get(pk=opp.pk)
        before = _state(opp)
        before_ids = {"stage": opp.stage_id, "pipeline": opp.pipeline_id}
        from_stage = opp.stage
        stored_custom = dict(opp.custom_fields or {})
        if "pipeline" in values and values["pipeline"] != opp.pipeline and "stage" not in values:
            values["stage"] = (
                values["pipeline"]
                .stages.filter(is_active=True, outcome=Stage.Outcome.OPEN)
                .order_by("position")
                .first()
            )
        stored_amount, stored_currency = opp.amount, opp.currency
        stored_close_date, stored_probability = opp.close_date, opp.probability
        _prepare(opp, values)
        stage_changed = opp.stage_id != before_ids["stage"]
        given = dict(values)
        if given.get("close_date") == stored_close_date:
            # Sent unchanged (forms and PUT send every field): not a close date of this change.
            given.pop("close_date")
        if given.get("probability") == stored_probability:
            # Likewise: an unchanged probability is not given, so a stage change resets it to
            # the new stage's default (the same on the page and over the API).
            given.pop("probability")
        _settle_stage(opp, stage_changed, given)
        currency_changed = opp.currency != stored_currency
        if currency_changed:
            _refuse_currency_change_with_products(opp, stored_currency)
        if (
            currency_changed
            or opp.amount != stored_amount
            or not (from_stage.is_closed and opp.stage.is_closed)
        ):
            # Open deals follow the current rate; a closed one keeps the base amount it closed
            # at unless its amount or currency is changed (and then the currency must be one
            # in use: a currency deactivated since does not lock its closed deals).
            opp.amount_base = to_base(opp.amount, opp.currency)
        _check_rules(opp, before_ids)
        validate_record(opp, {**before, "custom_fields": stored_custom})
        opp.save()
        if stage_changed:
            _history(opp, from_stage, actor, channel)
        changes = _changes(before, _state(opp))
        if changes:
            audit(
                obj=opp, kind=AuditEntry.Kind.UPDATE, actor=actor, channel=channel, changes=changes
            )
    return opp


def _refuse_currency_change_with_products(opp: Opportunity, stored_currency: str) -> None:
    """Line items are priced from a price book in the opportunity's currency, and the amount
    follows them: another currency would read the same numbers as a different amount."""
    from core_crm.quotes.models import OpportunityLineItem  # quotes imports this module

    priced_in = (
        OpportunityLineItem.objects.filter(opportunity=opp)
        .values_list("price_book__currency", flat=True)
        .first()
    )
    if priced_in is not None:
        raise ValidationError(
            {
                "currency": [
                    _(
                        "This opportunity has products priced in %(code)s; remove them before "
                        "changing the currency."
                    )
                    % {"code": priced_in or stored_currency}
                ]
            }
        )


def opportunity_move(
    opp: Opportunity,
    *,
    actor: User,
    stage: Stage,
    channel: str,
    lost_reason: PicklistValue | int | None = None,
    lost_note: str = "",
) -> Opportunity:
    """Move to `stage` (kanban, stage buttons, API): the stage rules and history apply."""
    data: dict[str, Any] = {"stage": stage}
    if stage.pipeline_id != opp.pipeline_id:
        data["pipeline"] = stage.pipeline
    if stage.outcome == Stage.Outcome.LOST:
        data["lost_reason"] = lost_reason
        data["lost_note"] = lost_note
    return opportunity_update(opp, actor=actor, data=data, channel=channel)


def opportunity_assign(opp: Opportunity, *, actor: User, owner: User, channel: str) -> Opportunity:
    """Give the opportunity to another person (who hears of it)."""
    if not can(actor, Action.EDIT, opp, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow editing this opportunity."))
    if not may_give_to(actor, owner, OBJECT_TYPE):
        raise ValidationError({"owner": [_("You cannot give opportunities to this person.")]})
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opp.pk)
        if opp.owner_id == owner.pk:
            return opp
        previous = opp.owner_id
        opp.owner = owner
        opp.save(update_fields=["owner", "updated_at"])
        audit(
            obj=opp,
            kind=AuditEntry.Kind.REASSIGN,
            actor=actor,
            channel=channel,
            changes={"owner": [previous, owner.pk]},
        )
        _tell_owner(opp, actor)
    return opp


def _tell_owner(opp: Opportunity, actor: User) -> None:
    notify(
        opp.owner,
        "assigned",
        gettext_lazy("Opportunity assigned to you: %(name)s"),
        params={"name": opp.name},
        url=reverse("opportunity_detail", args=[opp.pk]),
        actor=actor,
    )


def opportunity_delete(opp: Opportunity, *, actor: User, channel: str) -> None:
    if not can(actor, Action.DELETE, opp, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow deleting this opportunity."))
    with transaction.atomic():
        audit(
            obj=opp,
            kind=AuditEntry.Kind.DELETE,
            actor=actor,
            channel=channel,
            changes=_state(opp),
        )
        try:
            opp.delete()
        except ProtectedError as exc:  # its quotes keep it (Quote.opportunity is PROTECT)
            raise ValidationError(
                {
                    "opportunity": [
                        _("This opportunity has quotes, so it cannot be deleted. Mark it lost.")
                    ]
                }
            ) from exc


def _require_edit(actor: User, opp: Opportunity) -> None:
    if not can(actor, Action.EDIT, opp, OBJECT_TYPE):
        raise PermissionDenied(_("Your role does not allow editing this opportunity."))


def _audit_part(opp: Opportunity, actor: User, channel: str, name: str, old: Any, new: Any) -> None:
    audit(
        obj=opp,
        kind=AuditEntry.Kind.UPDATE,
        actor=actor,
        channel=channel,
        changes={name: [old, new]},
    )


def contact_role_set(
    opp: Opportunity,
    *,
    actor: User,
    contact: Contact | int,
    role: PicklistValue | int,
    influence: str = OpportunityContact.Influence.MEDIUM,
    attitude: str = OpportunityContact.Attitude.NEUTRAL,
    channel: str,
) -> OpportunityContact:
    """Add a contact's role in the deal, or change its influence and attitude."""
    _require_edit(actor, opp)
    errors: dict[str, list[str]] = {}
    found = None
    try:
        found = _resolve(actor, Contact, contact, "contact", "contact")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    role_pk = role.pk if isinstance(role, PicklistValue) else role
    value = PicklistValue.objects.filter(pk=role_pk, picklist="contact_role").first()
    if value is None or (not value.is_active):
        errors["role"] = [_("Choose a current contact role.")]
    if influence not in OpportunityContact.Influence.values:
        errors["influence"] = [_("Choose high, medium or low.")]
    if attitude not in OpportunityContact.Attitude.values:
        errors["attitude"] = [_("Choose an attitude from the list.")]
    if found is None and "contact" not in errors:
        errors["contact"] = [_("Choose a contact.")]
    elif found is not None and found.account_id != opp.account_id:
        errors["contact"] = [_("Choose a contact who works at this account.")]
    if errors or value is None:
        raise ValidationError(errors)
    with transaction.atomic():
        row, _created = OpportunityContact.objects.update_or_create(
            opportunity=opp,
            contact=found,
            role=value,
            defaults={"influence": influence, "attitude": attitude},
        )
        _audit_part(
            opp, actor, channel, "contact_roles", None, f"{found} — {value.label} ({attitude})"
        )
    return row


def contact_role_remove(opp: Opportunity, *, actor: User, role_id: int, channel: str) -> None:
    _require_edit(actor, opp)
    with transaction.atomic():
        row = OpportunityContact.objects.filter(opportunity=opp, pk=role_id).first()
        if row is None:
            raise ValidationError({"contact_role": [_("This contact role is not on the deal.")]})
        _audit_part(opp, actor, channel, "contact_roles", str(row), None)
        row.delete()


def _member_share(opp: Opportunity, user: User) -> None:
    from django.contrib.contenttypes.models import ContentType

    from core_crm.access.models import RecordShare

    RecordShare.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Opportunity),
        object_id=opp.pk,
        user=user,
        defaults={"can_edit": False},
    )


def team_member_add(
    opp: Opportunity, *, actor: User, user: User, role: str, channel: str
) -> OpportunityTeamMember:
    """Put a colleague on the deal team; they can read the deal from then on."""
    _require_edit(actor, opp)
    errors: dict[str, list[str]] = {}
    if not user.is_active:
        errors["user"] = [_("Choose an active colleague.")]
    elif user.pk == opp.owner_id:
        errors["user"] = [_("The owner is on the deal already.")]
    if role not in OpportunityTeamMember.Role.values:
        errors["role"] = [_("Choose a role from the list.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        member, _created = OpportunityTeamMember.objects.update_or_create(
            opportunity=opp, user=user, defaults={"role": role}
        )
        _member_share(opp, user)
        _audit_part(opp, actor, channel, "team", None, f"{user} ({role})")
        notify(
            user,
            "assigned",
            gettext_lazy("You joined the team of the opportunity %(name)s"),
            params={"name": opp.name},
            url=reverse("opportunity_detail", args=[opp.pk]),
            actor=actor,
        )
    return member


def team_member_remove(opp: Opportunity, *, actor: User, member_id: int, channel: str) -> None:
    from django.contrib.contenttypes.models import ContentType

    from core_crm.access.models import RecordShare

    _require_edit(actor, opp)
    with transaction.atomic():
        member = OpportunityTeamMember.objects.filter(opportunity=opp, pk=member_id).first()
        if member is None:
            raise ValidationError({"team": [_("This person is not on the deal team.")]})
        RecordShare.objects.filter(
            content_type=ContentType.objects.get_for_model(Opportunity),
            object_id=opp.pk,
            user=member.user,
            can_edit=False,
        ).delete()
        _audit_part(opp, actor, channel, "team", str(member), None)
        member.delete()


def competitor_add(
    opp: Opportunity, *, actor: User, data: dict[str, Any], channel: str
) -> Competitor:
    _require_edit(actor, opp)
    name = " ".join(str(data.get("name") or "").split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Name the competitor.")]
    elif len(name) > 200:
        errors["name"] = [_("A name has at most 200 characters.")]
    strengths = str(data.get("strengths") or "").strip()
    weaknesses = str(data.get("weaknesses") or "").strip()
    for field, text in (("strengths", strengths), ("weaknesses", weaknesses)):
        if len(text) > 500:
            errors[field] = [_("At most 500 characters.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = Competitor.objects.create(
            opportunity=opp, name=name, strengths=strengths, weaknesses=weaknesses
        )
        _audit_part(opp, actor, channel, "competitors", None, name)
    return row


def competitor_remove(opp: Opportunity, *, actor: User, competitor_id: int, channel: str) -> None:
    _require_edit(actor, opp)
    with transaction.atomic():
        row = Competitor.objects.filter(opportunity=opp, pk=competitor_id).first()
        if row is None:
            raise ValidationError({"competitors": [_("This competitor is not on the deal.")]})
        _audit_part(opp, actor, channel, "competitors", row.name, None)
        row.delete()
