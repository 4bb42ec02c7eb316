"""Serializers of the activities API. Owner (assignee) is writable only through the service's
assignment rule; audit, reminder and plan-chain fields are read-only. A read-only field a client
could expect to change (done state, reminder time, length in minutes) is refused by name when a
request gives it a new value, never silently ignored; the same value (a resource sent back as
it was read) passes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from core_crm.access.policy import assignable_owners, visible
from core_crm.api.serializers import VisibleRelatedField
from core_crm.customers.models import Account, Contact, Lead
from core_crm.sales.models import Opportunity
from core_crm.users.models import User

from ..models import Activity, FollowUpPlan


def _visible(model: Any, object_type: str) -> Any:
    return lambda user: visible(user, model.objects.all(), object_type)


class ActivitySerializer(serializers.ModelSerializer[Activity]):
    account = VisibleRelatedField(_visible(Account, "account"))
    contact = VisibleRelatedField(_visible(Contact, "contact"))
    lead = VisibleRelatedField(_visible(Lead, "lead"))
    opportunity = VisibleRelatedField(_visible(Opportunity, "opportunity"))
    owner = VisibleRelatedField(
        lambda user: assignable_owners(user, "activity"),
        help_text="The assignee (a user id); default: the caller.",
    )
    participants = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=User.objects.filter(is_active=True)
    )
    # With many=True, DRF builds the list field from the arguments given here, before
    # VisibleRelatedField's own defaults apply: say "not required" explicitly.
    contact_participants = VisibleRelatedField(
        _visible(Contact, "contact"), many=True, required=False
    )
    plan = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=FollowUpPlan.objects.all()
    )
    duration = serializers.IntegerField(
        write_only=True,
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Length in minutes; sets `end_at` from `start_at` (calls, meetings, visits).",
    )
    duration_minutes = serializers.IntegerField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "description",
            "start_at",
            "end_at",
            "due_at",
            "duration",
            "duration_minutes",
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
            "participants",
            "contact_participants",
            "remind_minutes_before",
            "reminder_at",
            "reminder_sent_at",
            "plan",
            "next_activity",
            "is_overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "done_at",
            "reminder_at",
            "reminder_sent_at",
            "next_activity",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "done": {
                "help_text": (
                    "On create: log a done activity. Later, change it with `POST .../complete/` "
                    "or `.../reopen/`; a new value here is a 400."
                )
            },
            "done_at": {"help_text": "Set by `.../complete/`; a new value here is a 400."},
            "reminder_at": {
                "help_text": "Follows from `remind_minutes_before`; a new value here is a 400."
            },
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse, by field, what this endpoint cannot change instead of dropping it."""
        instance = self.instance if isinstance(self.instance, Activity) else None
        errors: dict[str, list[str]] = {}
        if instance is not None:
            state = _(
                "Use POST /api/v1/activities/%(id)s/complete/ (or /reopen/) to change it."
            ) % {"id": instance.pk}
            if "done" in attrs and attrs.pop("done") != instance.done:
                errors["done"] = [state]
            if self._changes("done_at", serializers.DateTimeField(), instance.done_at):
                errors["done_at"] = [state]
            if "owner" in attrs and attrs["owner"] is None:
                errors["owner"] = [_("An activity always has an assignee: give a user id.")]
        elif self._changes("done_at", serializers.DateTimeField(), None):
            errors["done_at"] = [_("It is set when the activity is marked done.")]
        if self._changes(
            "reminder_at", serializers.DateTimeField(), instance.reminder_at if instance else None
        ):
            errors["reminder_at"] = [
                _("Set remind_minutes_before instead; the reminder time follows from it.")
            ]
        if self._changes(
            "duration_minutes",
            serializers.IntegerField(),
            instance.duration_minutes if instance else None,
        ):
            errors["duration_minutes"] = [_("Give duration (in minutes) to change the length.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _changes(self, name: str, field: Any, current: Any) -> bool:
        """Whether the request body gives read-only `name` a value other than `current`."""
        body: Any = getattr(self, "initial_data", None)
        if not hasattr(body, "__contains__") or name not in body:
            return False
        value = body[name]
        if value is None or value == "":
            return current is not None
        try:
            return bool(field.to_internal_value(value) != current)
        except serializers.ValidationError:
            return True


class CompleteSerializer(serializers.Serializer[Any]):
    outcome = serializers.CharField(required=False, allow_blank=True, default="")


class FollowUpPlanSerializer(serializers.ModelSerializer[FollowUpPlan]):
    account = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Account.objects.all()
    )

    class Meta:
        model = FollowUpPlan
        fields = ["id", "name", "kind", "interval", "unit", "value_class", "account", "is_active"]


class PlanStartedSerializer(serializers.Serializer[Any]):
    planned = serializers.IntegerField(
        help_text="How many follow-up activities were planned (one per account without one)."
    )


class CalendarLinkSerializer(serializers.Serializer[Any]):
    active = serializers.BooleanField(help_text="Whether the caller has a working link.")
    created_at = serializers.DateTimeField(allow_null=True, help_text="When it was made.")
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When a calendar app last read it."
    )


class CalendarLinkCreatedSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(
        help_text="The private ICS link. Shown only this once: only its hash is kept."
    )
    webcal = serializers.CharField(help_text="The same link as webcal://, for calendar apps.")
    created_at = serializers.DateTimeField()
