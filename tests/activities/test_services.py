"""Activity services: rules with named field errors, audit, assignment and @mention
notifications, follow-up plans and reminders (each sent once)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core_crm.access.policy import PermissionDenied
from core_crm.activities import services
from core_crm.activities.mentions import mentioned_users
from core_crm.activities.models import Activity, FollowUpPlan
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Contact
from core_crm.notifications.models import Notification

from ..sales.factories import make_opportunity
from .conftest import later, make_account, make_meeting


def test_meeting_gets_default_length_and_reminder_and_is_audited(alpha_ctx, rep):
    account = make_account(rep)
    start = later(3)
    meeting = make_meeting(rep, account, start_at=start, location="West Lake office")
    assert meeting.owner == rep
    assert meeting.end_at == start + dt.timedelta(minutes=60)
    assert meeting.remind_minutes_before == 15
    assert meeting.reminder_at == start - dt.timedelta(minutes=15)
    entry = AuditEntry.objects.get(object_id=meeting.pk, content_type__model="activity")
    assert entry.kind == AuditEntry.Kind.CREATE and entry.channel == "web"
    assert entry.changes["subject"] == [None, "Kick-off"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "meeting", "subject": "x"}, "start_at"),
        ({"kind": "meeting", "subject": "", "start_at": "START"}, "subject"),
        ({"kind": "call", "subject": "x", "start_at": "START", "end_at": "BEFORE"}, "end_at"),
        ({"kind": "call", "subject": "x", "start_at": "START", "duration": 0}, "duration"),
        ({"kind": "note", "subject": "x", "remind_minutes_before": 5}, "remind_minutes_before"),
        ({"kind": "visit", "subject": "x", "start_at": "START", "no_account": True}, "account"),
    ],
)
def test_rules_name_their_field_and_save_nothing(alpha_ctx, rep, data, field):
    account = make_account(rep)
    start = later()
    data = {
        k: (start if v == "START" else start - dt.timedelta(hours=1) if v == "BEFORE" else v)
        for k, v in data.items()
    }
    if not data.pop("no_account", False):
        data["account"] = account
    with pytest.raises(ValidationError) as raised:
        services.activity_create(actor=rep, channel="web", data=data)
    assert field in raised.value.message_dict
    assert not Activity.objects.exists()


def test_contact_and_opportunity_bring_their_account(alpha_ctx, rep):
    account = make_account(rep)
    contact = Contact.objects.create(last_name="Zhao", account=account, owner=rep)
    call = services.activity_create(
        actor=rep,
        channel="web",
        data={"kind": "call", "subject": "Price check", "contact": contact, "start_at": later()},
    )
    assert call.account == account
    opportunity = make_opportunity(rep, account=account)
    task = services.activity_create(
        actor=rep,
        channel="api",
        data={"kind": "task", "subject": "Send offer", "opportunity": opportunity},
    )
    assert task.account == account
    other = make_account(rep, "Other Co")
    with pytest.raises(ValidationError) as raised:
        services.activity_create(
            actor=rep,
            channel="web",
            data={"kind": "task", "subject": "x", "contact": contact, "account": other},
        )
    assert "contact" in raised.value.message_dict


def test_rep_cannot_relate_to_records_they_cannot_see_nor_assign_to_others(
    alpha_ctx, rep, other_rep
):
    theirs = make_account(other_rep, "Not yours")
    with pytest.raises(ValidationError) as raised:
        make_meeting(rep, theirs)
    assert "account" in raised.value.message_dict
    mine = make_account(rep)
    with pytest.raises(ValidationError) as raised:
        make_meeting(rep, mine, owner=other_rep)
    assert "owner" in raised.value.message_dict


def test_rep_cannot_edit_or_delete_another_reps_activity(alpha_ctx, rep, other_rep):
    meeting = make_meeting(other_rep, make_account(other_rep))
    with pytest.raises(PermissionDenied):
        services.activity_update(meeting, actor=rep, channel="web", data={"subject": "mine"})
    with pytest.raises(PermissionDenied):
        services.activity_complete(meeting, actor=rep, channel="web")
    with pytest.raises(PermissionDenied):
        services.activity_delete(meeting, actor=other_rep, channel="web")  # reps cannot delete
    meeting.refresh_from_db()
    assert meeting.subject == "Kick-off" and not meeting.done


def test_assigning_to_someone_else_notifies_them(alpha_ctx, admin, rep):
    account = make_account(admin)
    meeting = make_meeting(admin, account, owner=rep)
    note = Notification.objects.get(user=rep, kind="assigned")
    assert "Kick-off" in note.title and note.url == f"/activities/{meeting.pk}/"
    make_meeting(admin, account, subject="Own")
    assert not Notification.objects.filter(user=admin).exists()


def test_mentions_parser_finds_names_and_email_local_parts_but_not_emails(alpha_ctx, admin, rep):
    text = "Ask @alpha trading rep and @admin; mail boss@admin.test, not @nobody"
    assert {u.pk for u in mentioned_users(text)} == {rep.pk, admin.pk}
    assert mentioned_users("write to rep@alpha.test") == []


def test_mentions_notify_readers_of_the_record_only_never_the_author(
    alpha_ctx, admin, rep, other_rep
):
    account = make_account(rep)
    services.activity_create(
        actor=rep,
        channel="web",
        data={
            "kind": "note",
            "subject": "Budget",
            "account": account,
            "description": "@Alpha Trading Admin please approve; @wang.wei FYI; @rep me",
        },
    )
    # The admin reads every account; the other rep cannot see this account; the author is
    # never told about their own mention.
    assert Notification.objects.filter(kind="mention", user=admin).count() == 1
    assert not Notification.objects.filter(kind="mention", user=other_rep).exists()
    assert not Notification.objects.filter(kind="mention", user=rep).exists()


def test_mention_added_in_an_edit_notifies_only_the_new_person(alpha_ctx, admin, rep):
    account = make_account(rep)
    note = services.activity_create(
        actor=rep,
        channel="web",
        data={"kind": "note", "subject": "n", "account": account, "description": "hi @admin"},
    )
    assert Notification.objects.filter(kind="mention", user=admin).count() == 1
    services.activity_update(
        note, actor=rep, channel="web", data={"description": "hi @admin, see above @admin"}
    )
    assert Notification.objects.filter(kind="mention", user=admin).count() == 1


def test_completing_a_plan_activity_plans_the_next_one(alpha_ctx, admin, rep):
    account = make_account(rep, value_class="A")
    make_account(rep, "B class", value_class="B")
    plan = services.plan_create(
        actor=admin,
        channel="web",
        data={
            "name": "Monthly visit",
            "kind": "visit",
            "interval": 1,
            "unit": "months",
            "value_class": "A",
        },
    )
    assert services.plan_start(plan, actor=admin, channel="web") == 1
    assert services.plan_start(plan, actor=admin, channel="web") == 0  # one open per account
    first = Activity.objects.get(plan=plan)
    assert first.account == account and first.owner == rep and first.kind == "visit"

    done_at = timezone.now().replace(microsecond=0)
    first = services.activity_complete(
        first, actor=rep, channel="web", outcome="Met the buyer", done_at=done_at
    )
    nxt = first.next_activity
    assert nxt is not None and nxt.owner == rep and nxt.plan == plan and not nxt.done
    assert timezone.localtime(nxt.start_at).date() == plan.next_after(done_at).date()
    assert nxt.duration_minutes == first.duration_minutes == 60
    with pytest.raises(ValidationError):
        services.activity_complete(first, actor=rep, channel="web")


def test_plan_needs_a_target_and_an_admin(alpha_ctx, admin, rep):
    with pytest.raises(ValidationError) as raised:
        services.plan_create(
            actor=admin,
            channel="web",
            data={"name": "x", "kind": "call", "interval": 2, "unit": "days"},
        )
    assert "value_class" in raised.value.message_dict
    with pytest.raises(PermissionDenied):
        services.plan_create(
            actor=rep,
            channel="web",
            data={"name": "x", "kind": "call", "interval": 2, "unit": "days", "value_class": "A"},
        )
    assert not FollowUpPlan.objects.exists()


def test_month_interval_keeps_the_day_clamped_to_month_end():
    plan = FollowUpPlan(interval=1, unit="months")
    jan31 = dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC)
    assert plan.next_after(jan31) == dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)
    plan.interval = 12
    assert plan.next_after(jan31).year == 2027


def test_reminders_are_sent_when_due_once(alpha_ctx, rep):
    account = make_account(rep)
    soon = make_meeting(rep, account, subject="Soon", start_at=later(0.1))  # 6 min: due
    make_meeting(rep, account, subject="Later", start_at=later(5))
    assert services.send_due_reminders() == 1
    assert services.send_due_reminders() == 0
    note = Notification.objects.get(kind="reminder")
    assert note.user == rep and "Soon" in note.title and "UTC" in note.title
    soon.refresh_from_db()
    assert soon.reminder_sent_at is not None


def test_reminder_text_uses_the_assignees_time_zone(alpha_ctx, rep):
    rep.time_zone = "Asia/Shanghai"
    rep.save()
    start = dt.datetime(2030, 5, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    meeting = make_meeting(rep, make_account(rep), start_at=start)
    from core_crm.activities.reminders import reminder_message

    title, _body = reminder_message(meeting)
    assert "10:00" in title or "10 a.m." in title
    assert "CST" in title


def test_rescheduling_rearms_the_reminder_and_logging_the_past_sends_none(alpha_ctx, rep):
    account = make_account(rep)
    past = make_meeting(rep, account, subject="Yesterday", start_at=later(-24))
    assert past.reminder_sent_at is not None  # nothing to remind about
    meeting = make_meeting(rep, account, start_at=later(0.1))
    assert services.send_due_reminders() == 1
    services.activity_reschedule(meeting, actor=rep, start=later(0.2), end=None, channel="web")
    assert services.send_due_reminders() == 1  # the new time reminds again
    assert Notification.objects.filter(kind="reminder").count() == 2


def test_done_activities_are_not_reminded(alpha_ctx, rep):
    meeting = make_meeting(rep, make_account(rep), start_at=later(0.1))
    services.activity_complete(meeting, actor=rep, channel="web")
    assert services.send_due_reminders() == 0


def test_update_refuses_a_changed_done_or_no_assignee_and_saves_nothing(alpha_ctx, rep):
    meeting = make_meeting(rep, make_account(rep), subject="Keep me open")
    for data, field in (({"done": True}, "done"), ({"owner": None}, "owner")):
        with pytest.raises(ValidationError) as exc:
            services.activity_update(
                meeting, actor=rep, data={**data, "subject": "Changed"}, channel="web"
            )
        assert list(exc.value.message_dict) == [field]
        meeting.refresh_from_db()
        assert (meeting.subject, meeting.done, meeting.owner_id) == ("Keep me open", False, rep.pk)
    # The value it already has is fine.
    services.activity_update(
        meeting, actor=rep, data={"done": False, "subject": "Ok"}, channel="web"
    )
    meeting.refresh_from_db()
    assert meeting.subject == "Ok"
