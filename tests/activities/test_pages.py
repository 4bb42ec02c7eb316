"""Activity pages, calendar JSON, drag to reschedule, the ICS link and plan settings: what a
person sees, and what they must not see (another rep's, another workspace's)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from icalendar import Calendar

from core_crm.access.models import Team
from core_crm.activities import feeds, services
from core_crm.activities.models import Activity, FollowUpPlan
from core_crm.activities.selectors import activity_list
from core_crm.audit.models import AuditEntry

from ..conftest import BETA, host_client, sign_in
from ..customfields.helpers import user_with_role
from .conftest import later, make_account, make_meeting


def _range(days: int = 7) -> dict[str, str]:
    start = timezone.now() - dt.timedelta(days=1)
    return {"start": start.isoformat(), "end": (start + dt.timedelta(days=days)).isoformat()}


def test_list_shows_mine_with_quick_done_and_hides_another_reps(alpha, rep, other_rep, rep_client):
    with tenant_context(alpha):
        mine = make_meeting(rep, make_account(rep), subject="Visit Hangzhou Tea")
        make_meeting(other_rep, make_account(other_rep, "Their Co"), subject="Secret pitch")
    page = rep_client.get("/activities/").content.decode()
    assert "Visit Hangzhou Tea" in page and "Secret pitch" not in page
    assert 'data-testid="quick-done"' in page
    page = rep_client.get("/activities/", {"show": "all", "mine": ""}).content.decode()
    assert "Secret pitch" not in page

    response = rep_client.post(f"/activities/{mine.pk}/complete/", {"outcome": "Signed"})
    assert response.status_code == 302
    with tenant_context(alpha):
        mine.refresh_from_db()
        assert mine.done and mine.outcome == "Signed"
    page = rep_client.get("/activities/", {"show": "done"}).content.decode()
    assert "Visit Hangzhou Tea" in page and 'data-testid="done-mark"' in page


def test_list_filters_overdue_today_and_kind(alpha, rep, rep_client):
    with tenant_context(alpha):
        account = make_account(rep)
        make_meeting(rep, account, subject="Missed meeting", start_at=later(-30))
        make_meeting(rep, account, subject="Next month meeting", start_at=later(24 * 20))
        services.activity_create(
            actor=rep,
            channel="web",
            data={"kind": "task", "subject": "Call back", "account": account, "due_at": later(-1)},
        )
    page = rep_client.get("/activities/", {"when": "overdue", "mine": "1"}).content.decode()
    assert "Missed meeting" in page and "Call back" in page and "Next month" not in page
    page = rep_client.get("/activities/", {"kind": "task", "mine": "1"}).content.decode()
    assert "Call back" in page and "Missed meeting" not in page
    page = rep_client.get("/activities/", {"when": "today", "kind": "call", "mine": "1"})
    assert 'data-testid="empty-state"' in page.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    alpha, rep, rep_client, django_assert_max_num_queries
):
    with tenant_context(alpha):
        account = make_account(rep)
        make_meeting(rep, account)
    with django_assert_max_num_queries(20) as few:
        rep_client.get("/activities/")
    with tenant_context(alpha):
        for i in range(15):
            make_meeting(rep, make_account(rep, f"Co {i}"), subject=f"Meeting {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = rep_client.get("/activities/").content.decode()
    assert "Meeting 14" in page


def test_detail_of_another_reps_or_workspaces_activity_is_404(
    alpha, beta, rep, other_rep, rep_client, admin_client
):
    with tenant_context(alpha):
        theirs = make_meeting(other_rep, make_account(other_rep))
    assert rep_client.get(f"/activities/{theirs.pk}/").status_code == 404
    assert rep_client.post(f"/activities/{theirs.pk}/complete/").status_code == 404
    assert admin_client.get(f"/activities/{theirs.pk}/").status_code == 200
    beta_admin = host_client("beta.localhost")
    sign_in(beta_admin, beta, BETA.admin_email)
    assert beta_admin.get(f"/activities/{theirs.pk}/").status_code == 404


def test_participants_see_the_activity_but_cannot_change_it(alpha, admin, rep, rep_client):
    with tenant_context(alpha):
        meeting = make_meeting(admin, make_account(admin), participants=[rep])
    page = rep_client.get(f"/activities/{meeting.pk}/").content.decode()
    assert "Kick-off" in page and "Alpha Trading Rep" in page
    assert f"/activities/{meeting.pk}/edit/" not in page
    assert rep_client.get(f"/activities/{meeting.pk}/edit/").status_code == 404
    events = rep_client.get("/calendar/events/", _range()).json()
    assert [e["id"] for e in events] == [str(meeting.pk)]
    assert events[0]["editable"] is False


def test_create_page_saves_and_calendar_form_answers_json(alpha, rep, rep_client):
    with tenant_context(alpha):
        account = make_account(rep)
    start = later(4)
    response = rep_client.post(
        "/activities/new/",
        {
            "kind": "visit",
            "subject": "Factory tour",
            "account": account.pk,
            "start_at": start.isoformat(),
            "end_at": (start + dt.timedelta(hours=2)).isoformat(),
            "priority": "high",
            "location": "Xiaoshan",
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    with tenant_context(alpha):
        visit = Activity.objects.get(pk=pk)
        assert visit.account == account and visit.duration_minutes == 120
        assert AuditEntry.objects.filter(object_id=pk, channel="web").exists()
    bad = rep_client.post(
        "/activities/new/",
        {
            "kind": "meeting",
            "subject": "Backwards",
            "account": account.pk,
            "start_at": start.isoformat(),
            "end_at": (start - dt.timedelta(hours=1)).isoformat(),
            "priority": "normal",
        },
        HTTP_ACCEPT="application/json",
    )
    assert bad.status_code == 400
    assert "end_at" in bad.json()["errors"]
    page = rep_client.post(
        "/activities/new/", {"kind": "meeting", "subject": "No account", "priority": "normal"}
    ).content.decode()
    assert "Relate the activity to an account" in page


def test_create_refuses_an_account_the_rep_cannot_see(alpha, rep, other_rep, rep_client):
    with tenant_context(alpha):
        theirs = make_account(other_rep)
    response = rep_client.post(
        "/activities/new/",
        {"kind": "task", "subject": "Sneak", "account": theirs.pk, "priority": "normal"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "account" in response.json()["errors"]


def test_calendar_events_by_range_and_scope_within_record_security(
    alpha, admin, rep, other_rep, rep_client, admin_client
):
    from core_crm.access.models import Team

    with tenant_context(alpha):
        mine = make_meeting(rep, make_account(rep), subject="Mine")
        theirs = make_meeting(other_rep, make_account(other_rep), subject="Theirs")
        make_meeting(rep, make_account(rep), subject="Far away", start_at=later(24 * 40))
        team = Team.objects.create(name="East")
        team.members.add(admin, other_rep)
    events = rep_client.get("/calendar/events/", _range()).json()
    assert [e["title"] for e in events] == ["Mine"]
    assert events[0]["editable"] is True and events[0]["url"] == f"/activities/{mine.pk}/"
    assert (
        rep_client.get("/calendar/events/", {**_range(), "scope": "team"}).json()[0]["title"]
        == "Mine"
    )
    team_events = admin_client.get("/calendar/events/", {**_range(), "scope": "team"}).json()
    assert {e["title"] for e in team_events} == {"Theirs"}
    assert {e["id"] for e in team_events} == {str(theirs.pk)}
    assert rep_client.get("/calendar/events/", {"start": "x"}).status_code == 400
    page = rep_client.get("/calendar/").content.decode()
    assert "build/vendor/fullcalendar.min.js" in page and 'data-testid="calendar"' in page


def test_chinese_calendar_loads_fullcalendars_chinese_locale(alpha, rep, rep_client):
    """FullCalendar's own words (all-day, the list view's headers) come from its zh-cn locale,
    copied from npm by `npm run build`; the page loads it after the library, in Chinese only."""
    from django.contrib.staticfiles import finders

    locale_script = "build/vendor/fullcalendar-zh-cn.min.js"
    assert locale_script not in rep_client.get("/calendar/").content.decode()
    rep_client.cookies["django_language"] = "zh-hans"
    page = rep_client.get("/calendar/").content.decode()
    assert locale_script in page
    assert page.index("build/vendor/fullcalendar.min.js") < page.index(locale_script)
    assert "'zh-cn'" in page
    built = finders.find(locale_script)
    assert built, f"static/{locale_script} is missing: run `npm run build`"
    with open(built, encoding="utf-8") as script:
        text = script.read()
    assert 'code:"zh-cn"' in text and "全天" in text and "globalLocales" in text


def test_calendar_events_query_count_does_not_grow(
    alpha, rep, rep_client, django_assert_max_num_queries
):
    with tenant_context(alpha):
        make_meeting(rep, make_account(rep))
    with django_assert_max_num_queries(20) as few:
        rep_client.get("/calendar/events/", _range())
    with tenant_context(alpha):
        for i in range(12):
            make_meeting(rep, make_account(rep, f"Co {i}"), start_at=later(i + 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(rep_client.get("/calendar/events/", _range()).json()) == 13


def test_drag_reschedule_moves_own_and_refuses_without_edit_permission(
    alpha, admin, rep, rep_client
):
    with tenant_context(alpha):
        mine = make_meeting(rep, make_account(rep))
        shown = make_meeting(admin, make_account(admin), participants=[rep])
    new_start = (later(48)).isoformat()
    response = rep_client.post(
        f"/activities/{mine.pk}/reschedule/",
        json.dumps({"start": new_start}),
        content_type="application/json",
    )
    assert response.status_code == 200
    with tenant_context(alpha):
        mine.refresh_from_db()
        assert mine.start_at.isoformat() == dt.datetime.fromisoformat(new_start).isoformat()
        assert mine.duration_minutes == 60
    refused = rep_client.post(
        f"/activities/{shown.pk}/reschedule/",
        json.dumps({"start": new_start}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    with tenant_context(alpha):
        before = shown.start_at
        shown.refresh_from_db()
        assert shown.start_at == before


def test_ics_feed_serves_the_owner_and_dies_on_reset_or_other_workspace(
    alpha, beta, rep, other_rep, rep_client
):
    with tenant_context(alpha):
        make_meeting(rep, make_account(rep), subject="Tea tasting", location="Longjing")
        make_meeting(other_rep, make_account(other_rep), subject="Not for rep")
    page = rep_client.post("/calendar/subscribe/", {"action": "reset"}).content.decode()
    link = page.split('data-testid="feed-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    path = link.split("alpha.localhost", 1)[1]
    assert path.startswith("/calendar/feed/") and path.endswith(".ics")

    anonymous = host_client("alpha.localhost")
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    summaries = [str(e["summary"]) for e in calendar.walk("VEVENT")]
    assert summaries == ["Meeting: Tea tasting"]
    assert str(calendar.walk("VEVENT")[0]["location"]) == "Longjing"

    assert host_client("beta.localhost").get(path).status_code == 404
    with tenant_context(alpha):
        assert feeds.feed_user("not-a-token") is None
    rep_client.post("/calendar/subscribe/", {"action": "reset"})
    assert anonymous.get(path).status_code == 404  # the old link stops working
    page = rep_client.get("/calendar/subscribe/").content.decode()
    assert 'data-testid="feed-active"' in page and path not in page


def test_revoked_feed_is_404(alpha, rep, rep_client):
    with tenant_context(alpha):
        token = feeds.feed_reset(rep)
    anonymous = host_client("alpha.localhost")
    assert anonymous.get(f"/calendar/feed/{token}.ics").status_code == 200
    rep_client.post("/calendar/subscribe/", {"action": "revoke"})
    assert anonymous.get(f"/calendar/feed/{token}.ics").status_code == 404


def _feed(client, tenant, user) -> list[str]:  # type: ignore[no-untyped-def]
    """The summaries of `user`'s ICS feed, fetched like a phone does (no session)."""
    with tenant_context(tenant):
        token = feeds.feed_reset(user)
    response = client.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    return [str(e["summary"]) for e in calendar.walk("VEVENT")]


def test_a_managers_feed_holds_their_own_and_those_they_take_part_in_not_their_teams(
    alpha, admin, rep
):
    manager = user_with_role(alpha, "lin.manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        Team.objects.create(name="East").members.add(manager, rep)
        team_account = make_account(rep, "Team Co")
        make_meeting(manager, make_account(manager, "Own Co"), subject="Own meeting")
        make_meeting(rep, team_account, subject="Rep alone", description="Price: 12 % off")
        make_meeting(rep, team_account, subject="Rep with manager", participants=[manager])
        make_meeting(
            admin,
            make_account(admin, "Boss Co"),
            subject="Admin with manager",
            participants=[manager],
        )
        make_meeting(admin, make_account(admin, "Boss Co 2"), subject="Admin alone")
        # The manager reads the team's activities (role scope), but the feed is their own.
        assert activity_list(manager).filter(subject="Rep alone").exists()
    anonymous = host_client("alpha.localhost")
    assert sorted(_feed(anonymous, alpha, manager)) == [
        "Meeting: Admin with manager",
        "Meeting: Own meeting",
        "Meeting: Rep with manager",
    ]
    # A workspace admin reads everything; their link holds only their own.
    assert sorted(_feed(anonymous, alpha, admin)) == [
        "Meeting: Admin alone",
        "Meeting: Admin with manager",
    ]


def test_the_feed_is_a_window_around_today_without_notes(alpha, rep):
    now = timezone.now().replace(microsecond=0)
    with tenant_context(alpha):
        account = make_account(rep)
        for subject, days in (
            ("Two years ago", -730),
            ("Last month", -(feeds.PAST_DAYS - 1)),
            ("Next month", feeds.FUTURE_DAYS - 1),
            ("Two years ahead", 730),
        ):
            make_meeting(rep, account, subject=subject, start_at=now + dt.timedelta(days=days))
        services.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "task",
                "subject": "Send samples",
                "account": account,
                "due_at": now + dt.timedelta(days=3),
            },
        )
        services.activity_create(
            actor=rep,
            channel="web",
            data={"kind": "note", "subject": "Likes green tea", "account": account},
        )
    assert _feed(host_client("alpha.localhost"), alpha, rep) == [
        "Meeting: Last month",
        "Task: Send samples",
        "Meeting: Next month",
    ]


def test_a_feed_over_the_cap_keeps_the_activities_nearest_today(alpha, rep, monkeypatch):
    monkeypatch.setattr(feeds, "FEED_LIMIT", 3)
    now = timezone.now().replace(microsecond=0)
    with tenant_context(alpha):
        account = make_account(rep)
        # Made oldest first, so the lowest ids are the oldest.
        for days in (-20, -15, -10, -5, 1, 60):
            make_meeting(
                rep, account, subject=f"Day {days}", start_at=now + dt.timedelta(days=days)
            )
    assert _feed(host_client("alpha.localhost"), alpha, rep) == [
        "Meeting: Day -10",
        "Meeting: Day -5",
        "Meeting: Day 1",
    ]


def test_follow_up_plan_settings_for_admins_only(alpha, admin, rep, admin_client, rep_client):
    with tenant_context(alpha):
        make_account(rep, "Key Account", value_class="A")
    assert rep_client.get("/settings/follow-up-plans/").status_code == 404
    page = admin_client.get("/settings/follow-up-plans/").content.decode()
    assert "No plans yet" in page
    response = admin_client.post(
        "/settings/follow-up-plans/",
        {
            "name": "Monthly visit",
            "kind": "visit",
            "interval": 1,
            "unit": "months",
            "value_class": "A",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        plan = FollowUpPlan.objects.get()
        planned = Activity.objects.get(plan=plan)
        assert planned.owner == rep and planned.kind == "visit"
    page = admin_client.get("/settings/follow-up-plans/").content.decode()
    assert "Monthly visit" in page
    bad = admin_client.post(
        "/settings/follow-up-plans/",
        {"name": "Nothing", "kind": "call", "interval": 1, "unit": "days"},
    ).content.decode()
    assert "Choose a value class or an account" in bad


def test_completed_plan_activity_says_when_the_next_one_is(alpha, admin, rep, rep_client):
    with tenant_context(alpha):
        make_account(rep, "Key Account", value_class="A")
        plan = services.plan_create(
            actor=admin,
            channel="web",
            data={
                "name": "Fortnightly call",
                "kind": "call",
                "interval": 14,
                "unit": "days",
                "value_class": "A",
            },
        )
        services.plan_start(plan, actor=admin, channel="web")
        first = Activity.objects.get(plan=plan)
    rep_client.post(f"/activities/{first.pk}/complete/", {"outcome": "OK"})
    page = rep_client.get(f"/activities/{first.pk}/").content.decode()
    assert 'data-testid="next-follow-up"' in page and "Fortnightly call" in page


def test_account_tab_and_timeline_source_show_only_visible_activities(alpha, admin, rep):
    from django.test import RequestFactory

    from core_crm.workspace.extensions import account_tabs, timeline_sources

    with tenant_context(alpha):
        account = make_account(admin)
        make_meeting(admin, account, subject="Admin only")
        make_meeting(admin, account, subject="With rep", participants=[rep])
        _label, source = timeline_sources()["activities"]
        assert [i.title for i in source(account, rep, None)] == ["Meeting: With rep"]
        assert len(list(source(account, admin, None))) == 2
        tab = next(t for t in account_tabs() if t.key == "activities")
        request = RequestFactory().get("/")
        request.user = rep
        html = tab.render(request, account)
        assert "With rep" in html and "Admin only" not in html


@pytest.mark.parametrize("path", ["/activities/", "/calendar/", "/calendar/subscribe/"])
def test_pages_in_chinese(alpha, rep_client, path):
    rep_client.cookies["django_language"] = "zh-hans"
    response = rep_client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    text = response.content.decode()
    assert any(word in text for word in ("活动", "日历", "订阅"))
