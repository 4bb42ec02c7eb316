"""Serializers of the activities API. Owner (assignee) is writable only through the service's
assignment rule; audit, reminder and plan-chain fields are read-only."""

from __future__ import annotations

from typing import Any

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
            "done": {"help_text": "On create: log a done activity. Use /complete/ later."}
        }


class CompleteSerializer(serializers.Serializer[Any]):
    outcome = serializers.CharField(required=False, allow_blank=True, default="")


class FollowUpPlanSerializer(serializers.ModelSerializer[FollowUpPlan]):
    account = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Account.objects.all()
    )

    class Meta:
        model = FollowUpPlan
        fields = ["id", "name", "kind", "interval", "unit", "value_class", "account", "is_active"]
