"""The activities REST API (/api/v1/activities/): a rep's own activities through their whole
life, what a rep's list holds, 404 for what they may not read, and bad input named by field;
reopen, starting a follow-up plan and the personal calendar link."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.activities import feeds, services
from core_crm.activities.models import Activity, FollowUpPlan
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account

from .test_api import Api, make_user

URL = "/api/v1/activities/"
START = dt.datetime(2030, 5, 6, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def meeting(actor, account: Account, subject: str, **data) -> Activity:  # type: ignore[no-untyped-def]
    return services.activity_create(
        actor=actor,
        channel="web",
        data={"kind": "meeting", "subject": subject, "account": account, "start_at": START, **data},
    )


@pytest.fixture
def other_api(alpha):  # type: ignore[no-untyped-def]
    """Another sales rep of alpha, in no team with the rep."""
    user, token = make_user(alpha, "wang.wei@alpha.test", "sales_rep")
    return user, Api("alpha.localhost", token)


@pytest.fixture
def records(alpha, rep_api, other_api, admin_api):  # type: ignore[no-untyped-def]
    """Accounts of the rep, the other rep and the admin; activities of the other rep (one with
    the rep taking part) and of the admin."""
    rep, other, admin = rep_api[0], other_api[0], admin_api[0]
    with tenant_context(alpha):
        mine = Account.objects.create(name="Hangzhou Tea Co", owner=rep)
        theirs = Account.objects.create(name="Ningbo Ports", owner=other)
        bosses = Account.objects.create(name="Shanghai Steel", owner=admin)
        their_call = meeting(other, theirs, "Their call", kind="call")
        joint = meeting(other, theirs, "Joint visit", kind="visit", participants=[rep])
        admins = meeting(admin, bosses, "Board lunch")
    return {
        "mine": mine,
        "theirs": theirs,
        "their_call": their_call,
        "joint": joint,
        "admins": admins,
    }


def test_a_rep_creates_reads_changes_and_completes_their_own(alpha, rep_api, records):
    rep, api = rep_api
    created = api.post(
        URL,
        {
            "kind": "meeting",
            "subject": "Tasting",
            "account": records["mine"].pk,
            "start_at": START.isoformat(),
            "duration": 90,
            "location": "West Lake",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    pk = body["id"]
    assert (body["owner"], body["kind"], body["subject"], body["done"]) == (
        rep.pk,
        "meeting",
        "Tasting",
        False,
    )
    assert when(body["start_at"]) == START
    assert when(body["end_at"]) == START + dt.timedelta(minutes=90)
    assert body["duration_minutes"] == 90
    with tenant_context(alpha):
        saved = Activity.objects.get(pk=pk)
        assert (saved.owner, saved.created_by, saved.location) == (rep, rep, "West Lake")
        assert AuditEntry.objects.filter(
            content_type__model="activity", object_id=pk, kind="create", channel="api"
        ).exists()

    assert pk in ids(api.get(URL))
    assert ids(api.get(URL, kind="meeting")) == [pk]
    one = api.get(f"{URL}{pk}/")
    assert one.status_code == 200 and one.json()["location"] == "West Lake"

    later = START + dt.timedelta(hours=3)
    changed = api.patch(
        f"{URL}{pk}/", {"subject": "Tasting and prices", "end_at": later.isoformat()}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["subject"] == "Tasting and prices"
    assert changed.json()["duration_minutes"] == 180
    with tenant_context(alpha):
        saved.refresh_from_db()
        assert (saved.subject, saved.end_at) == ("Tasting and prices", later)

    done = api.post(f"{URL}{pk}/complete/", {"outcome": "Ordered 20 boxes"})
    assert done.status_code == 200, done.content
    assert done.json()["done"] is True and done.json()["outcome"] == "Ordered 20 boxes"
    assert done.json()["done_at"]
    again = api.post(f"{URL}{pk}/complete/", {})
    assert again.status_code == 400 and "done" in again.json()
    assert ids(api.get(URL, done="true")) == [pk]
    assert pk not in ids(api.get(URL, done="false"))

    # Sales reps may not delete activities (their role), not even their own.
    assert api.delete(f"{URL}{pk}/").status_code == 403
    with tenant_context(alpha):
        assert Activity.objects.filter(pk=pk, done=True).exists()


def test_a_reps_list_holds_their_own_and_those_they_take_part_in(alpha, rep_api, records):
    rep, api = rep_api
    with tenant_context(alpha):
        own = meeting(rep, records["mine"], "Own meeting")
    listed = ids(api.get(URL))
    assert sorted(listed) == sorted([own.pk, records["joint"].pk])
    assert records["their_call"].pk not in listed and records["admins"].pk not in listed
    assert ids(api.get(URL, assignee=records["joint"].owner_id)) == [records["joint"].pk]

    # Taking part means reading, not changing.
    joint = api.get(f"{URL}{records['joint'].pk}/")
    assert joint.status_code == 200 and joint.json()["participants"] == [rep.pk]
    refused = api.patch(f"{URL}{records['joint'].pk}/", {"subject": "Hijacked"})
    assert refused.status_code == 403
    assert api.post(f"{URL}{records['joint'].pk}/complete/", {}).status_code == 403
    with tenant_context(alpha):
        records["joint"].refresh_from_db()
        assert records["joint"].subject == "Joint visit" and not records["joint"].done


def test_another_reps_activity_is_not_found_and_stays_as_it_was(alpha, rep_api, records):
    _rep, api = rep_api
    for key in ("their_call", "admins"):
        activity = records[key]
        path = f"{URL}{activity.pk}/"
        assert api.get(path).status_code == 404
        assert api.patch(path, {"subject": "Mine now", "owner": _rep.pk}).status_code == 404
        assert api.delete(path).status_code == 404
        assert api.post(f"{path}complete/", {"outcome": "x"}).status_code == 404
        with tenant_context(alpha):
            fresh = Activity.objects.get(pk=activity.pk)
            assert (fresh.subject, fresh.owner_id, fresh.done) == (
                activity.subject,
                activity.owner_id,
                False,
            )
            assert not AuditEntry.objects.filter(
                content_type__model="activity", object_id=activity.pk, kind__in=["update", "delete"]
            ).exists()


def test_an_id_of_another_workspace_is_not_found(alpha, beta, rep_api, beta_api, records):
    _rep, api = rep_api
    beta_admin, beta_client = beta_api
    with tenant_context(alpha):
        alpha_ids = set(Activity.objects.values_list("pk", flat=True))
    with tenant_context(beta):
        account = Account.objects.create(name="Beta Mill", owner=beta_admin)
        theirs = meeting(beta_admin, account, "Beta only")
        while theirs.pk in alpha_ids:
            theirs = meeting(beta_admin, account, "Beta only")
        beta_ids = set(Activity.objects.values_list("pk", flat=True))
    assert api.get(f"{URL}{theirs.pk}/").status_code == 404
    assert api.patch(f"{URL}{theirs.pk}/", {"subject": "From alpha"}).status_code == 404
    assert api.post(f"{URL}{theirs.pk}/complete/", {}).status_code == 404
    assert theirs.pk not in ids(api.get(URL))
    with tenant_context(beta):
        theirs.refresh_from_db()
        assert theirs.subject == "Beta only" and not theirs.done

    alpha_only = [pk for pk in alpha_ids if pk not in beta_ids]
    assert alpha_only
    assert beta_client.get(f"{URL}{alpha_only[0]}/").status_code == 404
    assert beta_client.delete(f"{URL}{alpha_only[0]}/").status_code == 404
    assert set(ids(beta_client.get(URL))) == beta_ids
    with tenant_context(alpha):
        assert Activity.objects.filter(pk=alpha_only[0]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_at": (START - dt.timedelta(hours=1)).isoformat()}, "end_at"),
        ({"kind": "lunch"}, "kind"),
        ({"subject": "  "}, "subject"),
        ({"account": None}, "account"),
        ({"duration": 0}, "duration"),
        ({"start_at": "next Tuesday"}, "start_at"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(
    alpha, rep_api, records, change, field
):
    _rep, api = rep_api
    with tenant_context(alpha):
        before = Activity.objects.count()
    data = {
        "kind": "meeting",
        "subject": "Tasting",
        "account": records["mine"].pk,
        "start_at": START.isoformat(),
        **change,
    }
    response = api.post(URL, data)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    with tenant_context(alpha):
        assert Activity.objects.count() == before


def test_a_change_that_breaks_a_rule_names_the_field_and_keeps_the_activity(
    alpha, rep_api, other_api, records
):
    rep, api = rep_api
    other = other_api[0]
    with tenant_context(alpha):
        own = meeting(rep, records["mine"], "Own meeting", duration=60)
    for change, field in (
        ({"end_at": (START - dt.timedelta(minutes=5)).isoformat()}, "end_at"),
        ({"kind": "lunch"}, "kind"),
        ({"account": records["theirs"].pk}, "account"),  # a record the rep cannot see
        ({"owner": other.pk}, "owner"),  # reps assign only to themselves
    ):
        response = api.patch(f"{URL}{own.pk}/", change)
        assert response.status_code == 400, (change, response.content)
        assert field in response.json(), response.json()
    with tenant_context(alpha):
        own.refresh_from_db()
        assert (own.kind, own.account, own.owner) == ("meeting", records["mine"], rep)
        assert (own.start_at, own.end_at) == (START, START + dt.timedelta(hours=1))


def test_an_admin_deletes_any_activity(alpha, admin_api, records):
    _admin, api = admin_api
    call = records["their_call"]
    assert call.pk in ids(api.get(URL))
    assert api.delete(f"{URL}{call.pk}/").status_code == 204
    with tenant_context(alpha):
        assert not Activity.objects.filter(pk=call.pk).exists()
        assert AuditEntry.objects.filter(
            content_type__model="activity", object_id=call.pk, kind="delete", channel="api"
        ).exists()
    assert api.get(f"{URL}{call.pk}/").status_code == 404


# --- Read-only fields are refused by name, never silently dropped -------------------------------


def test_patching_done_is_a_400_pointing_to_complete_and_reopen(alpha, rep_api, records):
    rep, api = rep_api
    with tenant_context(alpha):
        own = meeting(rep, records["mine"], "Own meeting")
    path = f"{URL}{own.pk}/"
    message = f"Use POST /api/v1/activities/{own.pk}/complete/ (or /reopen/) to change it."

    response = api.patch(path, {"done": True})
    assert response.status_code == 400, response.content
    assert response.json() == {"done": [message]}
    response = api.patch(path, {"done": True, "subject": "Sneaked in"})
    assert response.status_code == 400 and "done" in response.json()
    with tenant_context(alpha):
        own.refresh_from_db()
        assert (own.done, own.done_at, own.subject) == (False, None, "Own meeting")
        assert not AuditEntry.objects.filter(
            content_type__model="activity", object_id=own.pk, kind="update"
        ).exists()

    assert api.post(f"{path}complete/", {}).status_code == 200
    response = api.patch(path, {"done": False})
    assert response.status_code == 400 and response.json() == {"done": [message]}
    with tenant_context(alpha):
        own.refresh_from_db()
        assert own.done and own.done_at is not None

    # The same value, e.g. a resource sent back as it was read, passes.
    assert api.patch(path, {"done": True, "outcome": "Fine"}).status_code == 200
    read = api.get(path).json()
    resent = api.client.put(
        path,
        json.dumps({**read, "subject": "Renamed"}),
        content_type="application/json",
        **api.headers,
    )
    assert resent.status_code == 200, resent.content
    assert resent.json()["subject"] == "Renamed" and resent.json()["done"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"done_at": "2030-05-06T12:00:00+08:00"}, "done_at"),
        ({"reminder_at": "2030-05-06T08:00:00+08:00"}, "reminder_at"),
        ({"duration_minutes": 90}, "duration_minutes"),
        ({"owner": None}, "owner"),
    ],
)
def test_other_fields_a_patch_cannot_change_are_a_400_naming_them(
    alpha, rep_api, records, change, field
):
    rep, api = rep_api
    with tenant_context(alpha):
        own = meeting(rep, records["mine"], "Own meeting")
        before = Activity.objects.filter(pk=own.pk).values().get()
    response = api.patch(f"{URL}{own.pk}/", {**change, "subject": "Changed"})
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    with tenant_context(alpha):
        assert Activity.objects.filter(pk=own.pk).values().get() == before


def test_creating_with_a_length_in_minutes_or_a_reminder_time_names_the_right_field(
    alpha, rep_api, records
):
    _rep, api = rep_api
    base = {"kind": "meeting", "subject": "Tasting", "account": records["mine"].pk}
    with tenant_context(alpha):
        before = Activity.objects.count()
    for change, field, hint in (
        ({"duration_minutes": 90}, "duration_minutes", "duration"),
        ({"reminder_at": START.isoformat()}, "reminder_at", "remind_minutes_before"),
        ({"done": True, "done_at": START.isoformat()}, "done_at", "marked done"),
    ):
        response = api.post(URL, {**base, "start_at": START.isoformat(), **change})
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field] and hint in response.json()[field][0]
    with tenant_context(alpha):
        assert Activity.objects.count() == before
    # Logging a done activity on create still works.
    logged = api.post(URL, {**base, "start_at": START.isoformat(), "done": True})
    assert logged.status_code == 201 and logged.json()["done"] is True


# --- Reopen ------------------------------------------------------------------------------------


def test_a_rep_reopens_their_done_activity(alpha, rep_api, records):
    rep, api = rep_api
    with tenant_context(alpha):
        own = meeting(rep, records["mine"], "Own meeting", start_at=START)
        services.activity_complete(own, actor=rep, outcome="Ordered", channel="web")
    response = api.post(f"{URL}{own.pk}/reopen/", {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["done"], body["done_at"], body["outcome"]) == (False, None, "Ordered")
    assert when(body["reminder_at"]) == START - dt.timedelta(minutes=15)
    with tenant_context(alpha):
        own.refresh_from_db()
        assert not own.done and own.done_at is None
        entry = AuditEntry.objects.filter(
            content_type__model="activity", object_id=own.pk, kind="update", channel="api"
        ).get()
        assert entry.changes["done"] == [True, False]
    # Open already: answered as it is.
    again = api.post(f"{URL}{own.pk}/reopen/", {})
    assert again.status_code == 200 and again.json()["done"] is False


def test_reopen_follows_record_security(alpha, beta, rep_api, beta_api, records):
    _rep, api = rep_api
    beta_admin = beta_api[0]
    with tenant_context(alpha):
        for activity in (records["joint"], records["their_call"]):
            services.activity_complete(activity, actor=activity.owner, channel="web")
    # Taking part is reading, not changing; another rep's is not found.
    assert api.post(f"{URL}{records['joint'].pk}/reopen/", {}).status_code == 403
    assert api.post(f"{URL}{records['their_call'].pk}/reopen/", {}).status_code == 404
    with tenant_context(alpha):
        alpha_ids = set(Activity.objects.values_list("pk", flat=True))
    with tenant_context(beta):
        account = Account.objects.create(name="Beta Mill", owner=beta_admin)
        theirs = meeting(beta_admin, account, "Beta only")
        while theirs.pk in alpha_ids:
            theirs = meeting(beta_admin, account, "Beta only")
        services.activity_complete(theirs, actor=beta_admin, channel="web")
    assert api.post(f"{URL}{theirs.pk}/reopen/", {}).status_code == 404
    with tenant_context(alpha):
        assert (
            Activity.objects.filter(
                pk__in=[records["joint"].pk, records["their_call"].pk], done=True
            ).count()
            == 2
        )
    with tenant_context(beta):
        theirs.refresh_from_db()
        assert theirs.done


# --- Follow-up plan start ----------------------------------------------------------------------

PLANS = "/api/v1/follow-up-plans/"


def test_an_admin_starts_a_plan_like_the_page_does(alpha, admin_api, rep_api):
    _admin, api = admin_api
    rep = rep_api[0]
    with tenant_context(alpha):
        key = Account.objects.create(name="Key Account", owner=rep, value_class="A")
        Account.objects.create(name="Small Account", owner=rep, value_class="C")
    made = api.post(
        PLANS,
        {
            "name": "Monthly visit",
            "kind": "visit",
            "interval": 1,
            "unit": "months",
            "value_class": "A",
        },
    )
    assert made.status_code == 201, made.content
    plan = made.json()["id"]

    started = api.post(f"{PLANS}{plan}/start/", {})
    assert started.status_code == 200, started.content
    assert started.json() == {"planned": 1}
    with tenant_context(alpha):
        planned = Activity.objects.get(plan_id=plan)
        assert (planned.account, planned.owner, planned.kind) == (key, rep, "visit")
        assert AuditEntry.objects.filter(
            content_type__model="activity", object_id=planned.pk, kind="create", channel="api"
        ).exists()
    # One open follow-up per account: starting again plans nothing.
    assert api.post(f"{PLANS}{plan}/start/", {}).json() == {"planned": 0}

    assert api.patch(f"{PLANS}{plan}/", {"is_active": False}).status_code == 200
    retired = api.post(f"{PLANS}{plan}/start/", {})
    assert retired.status_code == 400 and "is_active" in retired.json()


def test_only_admins_start_plans_and_another_workspaces_plan_is_not_found(
    alpha, beta, admin_api, rep_api, beta_api
):
    rep, api = rep_api
    with tenant_context(alpha):
        Account.objects.create(name="Key Account", owner=rep, value_class="A")
        plan = services.plan_create(
            actor=admin_api[0],
            channel="web",
            data={
                "name": "Weekly call",
                "kind": "call",
                "interval": 7,
                "unit": "days",
                "value_class": "A",
            },
        )
    refused = api.post(f"{PLANS}{plan.pk}/start/", {})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only workspace admins start follow-up plans."}
    with tenant_context(beta):
        assert not FollowUpPlan.objects.filter(pk=plan.pk).exists()
    assert beta_api[1].post(f"{PLANS}{plan.pk}/start/", {}).status_code == 404
    with tenant_context(alpha):
        assert not Activity.objects.filter(plan=plan).exists()


# --- The personal calendar link ----------------------------------------------------------------

LINK = "/api/v1/calendar-link/"


def test_a_person_makes_reads_resets_and_revokes_their_calendar_link(alpha, rep_api, records):
    rep, api = rep_api
    with tenant_context(alpha):
        meeting(rep, records["mine"], "Own meeting", start_at=timezone.now() + dt.timedelta(days=1))
    assert api.get(LINK).json() == {"active": False, "created_at": None, "last_used_at": None}

    made = api.post(LINK, {})
    assert made.status_code == 201, made.content
    assert made["Cache-Control"] == "no-store"
    url = made.json()["url"]
    assert url.startswith("http://alpha.localhost/calendar/feed/") and url.endswith(".ics")
    assert made.json()["webcal"] == "webcal://" + url.split("://", 1)[1]
    path = url.split("alpha.localhost", 1)[1]
    token = path.removeprefix("/calendar/feed/").removesuffix(".ics")
    phone = Client(HTTP_HOST="alpha.localhost")
    feed = phone.get(path)
    assert feed.status_code == 200 and b"Own meeting" in feed.content

    state = api.get(LINK)
    assert state.status_code == 200 and state.json()["active"] is True
    assert state.json()["last_used_at"] is not None
    assert token not in state.content.decode()

    new_url = api.post(LINK, {}).json()["url"]
    assert new_url != url
    assert phone.get(path).status_code == 404  # the old link stops working
    new_path = new_url.split("alpha.localhost", 1)[1]
    assert phone.get(new_path).status_code == 200

    assert api.delete(LINK).status_code == 204
    assert phone.get(new_path).status_code == 404
    assert api.get(LINK).json()["active"] is False
    assert api.delete(LINK).status_code == 204  # none: still fine


def test_a_calendar_link_is_the_callers_own_in_their_own_workspace(
    alpha, beta, rep_api, admin_api, beta_api
):
    _rep, api = rep_api
    admin = admin_api[0]
    with tenant_context(alpha):
        admins_token = feeds.feed_reset(admin)
    phone = Client(HTTP_HOST="alpha.localhost")
    # Beta's admin (primary key 1 like alpha's) has no link of their own.
    assert beta_api[1].get(LINK).json()["active"] is False
    assert api.get(LINK).json()["active"] is False
    api.post(LINK, {})
    api.delete(LINK)
    beta_api[1].delete(LINK)
    assert phone.get(f"/calendar/feed/{admins_token}.ics").status_code == 200
    assert Api("alpha.localhost", None).get(LINK).status_code in (401, 403)


def test_filter_errors_speak_the_callers_language(alpha, rep_api):  # type: ignore[no-untyped-def]
    _user, api = rep_api
    english = api.get("/api/v1/activities/", kind="lunch").json()
    assert english["kind"][0].startswith("One of: call, meeting")

    def in_chinese(**params: str) -> dict:  # type: ignore[type-arg]
        return api.client.get(
            "/api/v1/activities/", params, HTTP_ACCEPT_LANGUAGE="zh-hans", **api.headers
        ).json()

    assert in_chinese(assignee="x") == {"assignee": ["请提供用户 ID。"]}
    assert in_chinese(kind="lunch")["kind"][0].startswith("可选值")
