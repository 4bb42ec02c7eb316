"""The activities REST API (/api/v1/activities/): a rep's own activities through their whole
life, what a rep's list holds, 404 for what they may not read, and bad input named by field."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from core_crm.activities import services
from core_crm.activities.models import Activity
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
