"""Notifications: preferences, email once, the bell, privacy, and who is told of what."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.customers import services as customer_services
from core_crm.customers.conversion import conversion_decide, conversion_request
from core_crm.customers.models import Account, Lead
from core_crm.notifications import services
from core_crm.notifications.delivery import send_notification_email
from core_crm.notifications.models import Kind, Notification, Preference
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings

from ..conftest import ALPHA, BETA
from ..customfields.helpers import client_for, user_with_role


def test_notify_respects_each_persons_channels(alpha, admin, rep):
    with tenant_context(alpha):
        Preference.objects.create(user=rep, kind=Kind.ASSIGNED, in_app=False, email=True)
        Preference.objects.create(user=rep, kind=Kind.MENTION, in_app=False, email=False)
        email_only = services.notify(rep, Kind.ASSIGNED, "Deal given", actor=admin)
        nothing = services.notify(rep, Kind.MENTION, "You were mentioned", actor=admin)
        both = services.notify(rep, Kind.REMINDER, "Call back", actor=admin)
        self_note = services.notify(admin, Kind.REMINDER, "Own action", actor=admin)

        assert email_only is not None and (email_only.in_app, email_only.email_wanted) == (
            False,
            True,
        )
        assert nothing is None and self_note is None
        assert both is not None and (both.in_app, both.email_wanted) == (True, True)
        # Only in-app ones reach the bell and the list.
        assert [n.title for n in services.inbox(rep)] == ["Call back"]
        assert services.unread_count(rep) == 1


def test_email_is_queued_on_commit_and_sent_once(
    alpha, admin, rep, eager_celery, django_capture_on_commit_callbacks
):
    with tenant_context(alpha):
        with django_capture_on_commit_callbacks(execute=True):
            note = services.notify(
                rep, Kind.ASSIGNED, "Acme was assigned to you", body="Renewal", url="/customers/7/"
            )
        assert note is not None
        assert len(mail.outbox) == 1
        sent = mail.outbox[0]
        assert sent.subject == "Acme was assigned to you"
        assert sent.to == [ALPHA.rep_email]
        assert "Renewal" in sent.body
        assert "http://alpha.localhost/customers/7/" in sent.body
        note.refresh_from_db()
        assert note.emailed_at is not None

        # A second run (a retry, a duplicate delivery) sends nothing.
        assert send_notification_email(note.pk) is None
        assert len(mail.outbox) == 1


def test_no_email_when_the_person_turned_email_off(
    alpha, admin, rep, eager_celery, django_capture_on_commit_callbacks
):
    with tenant_context(alpha):
        services.preferences_set(rep, {Kind.ASSIGNED: {"in_app": True, "email": False}})
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(rep, Kind.ASSIGNED, "Quiet", actor=admin)
        assert mail.outbox == []
        assert services.unread_count(rep) == 1


def test_email_in_the_persons_language(alpha, rep, eager_celery):
    with tenant_context(alpha):
        rep.language = "zh-hans"
        rep.save(update_fields=["language"])
        note = services.notify(rep, Kind.REMINDER, "回电话", url="/leads/")
        assert note is not None
        send_notification_email(note.pk)
    assert "在 Guanxi 中打开:" in mail.outbox[0].body


def test_preferences_name_unknown_kinds_and_bad_values_and_save_nothing(alpha, rep):
    from django.core.exceptions import ValidationError

    with tenant_context(alpha):
        with pytest.raises(ValidationError) as raised:
            services.preferences_set(
                rep,
                {
                    Kind.ASSIGNED: {"in_app": False, "email": False},
                    "gossip": {"in_app": True},
                    Kind.MENTION: {"email": "yes"},
                },
            )
        assert set(raised.value.message_dict) == {"gossip", "mention.email"}
        assert not Preference.objects.filter(user=rep).exists()


# --- Pages -------------------------------------------------------------------------------------


def test_bell_shows_the_unread_count_and_the_dropdown_lists_unread_first(
    alpha, admin, rep, rep_client
):
    with tenant_context(alpha):
        old = services.notify(rep, Kind.REMINDER, "Old and read", actor=admin)
        assert old is not None
        services.mark_read(rep, old.pk)
        services.notify(rep, Kind.ASSIGNED, "Acme is yours", actor=admin)
        services.notify(rep, Kind.APPROVAL_DECISION, "Conversion approved", actor=admin)

    from django.template import Context, Template
    from django.test import RequestFactory

    with tenant_context(alpha):
        request = RequestFactory().get("/")
        request.user = rep
        html = Template("{% load notifications %}{% notification_bell %}").render(
            Context({"request": request})
        )
    assert 'data-testid="notification-bell"' in html
    assert 'data-count="2"' in html and ">2<" in html

    dropdown = rep_client.get("/notifications/dropdown/").content.decode()
    titles = [
        part.split("</span>")[0] for part in dropdown.split('font-semibold text-slate-800">')[1:]
    ]
    assert titles == ["Conversion approved", "Acme is yours"]
    assert dropdown.index("Acme is yours") < dropdown.index("Old and read")

    page = rep_client.get("/notifications/").content.decode()
    assert "2 unread notifications" in page


def test_mark_one_and_all_read_and_follow_the_link(alpha, admin, rep, rep_client):
    with tenant_context(alpha):
        first = services.notify(rep, Kind.ASSIGNED, "First", url="/customers/", actor=admin)
        services.notify(rep, Kind.ASSIGNED, "Second", url="https://evil.example/", actor=admin)
        third = services.notify(rep, Kind.ASSIGNED, "Third", actor=admin)
        assert first and third
    opened = rep_client.get(f"/notifications/{first.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == "/customers/"
    assert rep_client.get("/notifications/count/").content.decode().count('data-count="2"') == 1

    with tenant_context(alpha):
        second = Notification.objects.get(title="Second")
    # A link off the workspace is not followed.
    assert rep_client.get(f"/notifications/{second.pk}/open/")["Location"] == "/notifications/"

    rep_client.post(f"/notifications/{third.pk}/read/")
    with tenant_context(alpha):
        assert services.unread_count(rep) == 0
        services.notify(rep, Kind.ASSIGNED, "Fourth", actor=admin)
    rep_client.post("/notifications/read-all/")
    with tenant_context(alpha):
        assert services.unread_count(rep) == 0


def test_preferences_page_saves_the_grid(alpha, rep, rep_client):
    page = rep_client.get("/settings/notifications/").content.decode()
    assert 'name="assigned-email"' in page and "Approval requested" in page
    response = rep_client.post(
        "/settings/notifications/", {"assigned-in_app": "on", "mention-email": "on"}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        grid = {row["kind"]: (row["in_app"], row["email"]) for row in services.preference_grid(rep)}
    assert grid["assigned"] == (True, False)
    assert grid["mention"] == (False, True)
    assert grid["reminder"] == (False, False)


def test_preferences_page_in_chinese(alpha, rep, rep_client):
    rep_client.cookies["django_language"] = "zh-hans"
    page = rep_client.get(
        "/settings/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "通知设置" in page and "电子邮件" in page


def test_one_person_never_sees_anothers_notifications(
    alpha, beta, admin, rep, rep_client, admin_client
):
    with tenant_context(alpha):
        mine = services.notify(admin, Kind.REMINDER, "Admin's private reminder", actor=rep)
        assert mine is not None
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        beta_note = services.notify(beta_admin, Kind.REMINDER, "Beta secret")
        assert beta_note is not None
    # Same tenant, other person: 404 like a missing id, and nothing in the lists.
    for path in (f"/notifications/{mine.pk}/open/",):
        assert rep_client.get(path).status_code == 404
    assert rep_client.post(f"/notifications/{mine.pk}/read/").status_code == 404
    assert "private reminder" not in rep_client.get("/notifications/").content.decode()
    assert "private reminder" not in rep_client.get("/notifications/dropdown/").content.decode()
    # Alpha's admin (pk 1, like beta's) never sees beta's notification.
    page = admin_client.get("/notifications/").content.decode()
    assert "Admin&#x27;s private reminder" in page and "Beta secret" not in page
    if beta_note.pk != mine.pk:
        assert admin_client.get(f"/notifications/{beta_note.pk}/open/").status_code == 404
    with tenant_context(alpha):
        assert Notification.objects.get(pk=mine.pk).read_at is None


def test_list_page_queries_do_not_grow_with_notifications(
    alpha, admin, rep, rep_client, django_assert_max_num_queries
):
    with tenant_context(alpha):
        for i in range(3):
            services.notify(rep, Kind.REMINDER, f"Note {i}", actor=admin)
    rep_client.get("/notifications/")
    with django_assert_max_num_queries(20) as few:
        rep_client.get("/notifications/")
    with tenant_context(alpha):
        for i in range(30):
            services.notify(rep, Kind.REMINDER, f"More {i}", actor=admin)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rep_client.get("/notifications/")


# --- Who is told -------------------------------------------------------------------------------


def test_reassignment_tells_the_new_owner_not_the_actor(alpha, admin, rep):
    with tenant_context(alpha):
        accounts = [Account.objects.create(owner=admin, name=f"Shop {i}") for i in range(2)]
        customer_services.records_assign_owner(
            Account, actor=admin, pks=[accounts[0].pk], owner=rep, channel="web"
        )
        note = Notification.objects.get(user=rep)
        assert note.kind == Kind.ASSIGNED
        assert note.title == f"{admin.full_name} assigned Shop 0 to you"
        assert note.url == f"/customers/{accounts[0].pk}/"
        assert note.actor == admin
        # Giving oneself records tells nobody; records already theirs are no news.
        customer_services.records_assign_owner(
            Account, actor=admin, pks=[accounts[1].pk], owner=admin, channel="web"
        )
        customer_services.records_assign_owner(
            Account, actor=admin, pks=[accounts[0].pk], owner=rep, channel="web"
        )
        assert Notification.objects.count() == 1


@pytest.fixture
def approval_people(alpha):
    with tenant_context(alpha):
        roles = {r.key: r for r in Role.objects.all()}
        team = Team.objects.create(name="Approvals East")
        rep = User.objects.create_user(
            email="rep@notes.test", password="x" * 12, full_name="Rep N", role=roles["sales_rep"]
        )
        manager = User.objects.create_user(
            email="mgr@notes.test",
            password="x" * 12,
            full_name="Mgr N",
            role=roles["sales_manager"],
        )
        outsider = User.objects.create_user(
            email="out@notes.test",
            password="x" * 12,
            full_name="Out N",
            role=roles["sales_manager"],
        )
        team.members.add(rep, manager)
        lead = Lead.objects.create(owner=rep, first_name="Jun", last_name="Gao", company="Gao Co")
        settings = workspace_settings()
        settings.lead_conversion_needs_approval = True
        settings.save()
        return {"rep": rep, "manager": manager, "outsider": outsider, "lead": lead}


def test_conversion_request_tells_deciding_managers_and_the_decision_tells_the_requester(
    alpha, admin, approval_people
):
    rep, manager = approval_people["rep"], approval_people["manager"]
    with tenant_context(alpha):
        request = conversion_request(approval_people["lead"], actor=rep, comment="Budget ok")
        told = set(
            Notification.objects.filter(kind=Kind.APPROVAL_REQUEST).values_list("user", flat=True)
        )
        # The team's manager and the workspace admin may decide; the other team's manager and
        # the requester are not told.
        assert told == {manager.pk, admin.pk}
        note = Notification.objects.get(kind=Kind.APPROVAL_REQUEST, user=manager)
        assert note.title == "Rep N asks to convert the lead Jun Gao (Gao Co)"
        assert note.body == "Budget ok"

        conversion_decide(request, actor=manager, approve=False, comment="Not yet")
        decision = Notification.objects.get(kind=Kind.APPROVAL_DECISION)
        assert decision.user == rep
        assert decision.title == "Mgr N rejected converting the lead Jun Gao (Gao Co)"
        assert decision.body == "Not yet"
        assert decision.url == f"/leads/{approval_people['lead'].pk}/"


# --- API ---------------------------------------------------------------------------------------


def test_api_lists_mine_filters_unread_and_marks_read(alpha, beta):
    from ..api.test_api import Api, make_user

    rep, token = make_user(alpha, ALPHA.rep_email, "sales_rep")
    api = Api("alpha.localhost", token)
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        a = services.notify(rep, Kind.ASSIGNED, "A", actor=admin)
        b = services.notify(rep, Kind.REMINDER, "B", actor=admin)
        other = services.notify(admin, Kind.REMINDER, "Not the rep's", actor=rep)
        assert a and b and other
    listed = api.get("/api/v1/notifications/").json()
    assert [n["title"] for n in listed["results"]] == ["B", "A"]
    assert api.post(f"/api/v1/notifications/{a.pk}/read/", {}).json()["unread"] is False
    assert [
        n["title"] for n in api.get("/api/v1/notifications/?unread=true").json()["results"]
    ] == ["B"]
    assert api.get(f"/api/v1/notifications/{other.pk}/").status_code == 404
    assert api.post(f"/api/v1/notifications/{other.pk}/read/", {}).status_code == 404
    assert api.post("/api/v1/notifications/read-all/", {}).json() == {"marked": 1}

    _beta_admin, beta_token = make_user(beta, BETA.admin_email, None, admin=True)
    beta_api = Api("beta.localhost", beta_token)
    assert beta_api.get(f"/api/v1/notifications/{a.pk}/").status_code == 404
    assert beta_api.get("/api/v1/notifications/").json()["results"] == []


def test_api_preferences_grid(alpha):
    from ..api.test_api import Api, make_user

    _rep, token = make_user(alpha, ALPHA.rep_email, "sales_rep")
    api = Api("alpha.localhost", token)
    grid = api.get("/api/v1/notification-preferences/").json()
    assert {row["kind"] for row in grid} == set(Kind.values)
    assert all(row["in_app"] and row["email"] for row in grid)
    saved = api.patch(
        "/api/v1/notification-preferences/",
        [{"kind": "mention", "in_app": True, "email": False}],
    )
    assert saved.status_code == 200
    assert {r["kind"]: r["email"] for r in saved.json()}["mention"] is False
    bad = api.patch("/api/v1/notification-preferences/", [{"kind": "gossip", "in_app": 1}])
    assert bad.status_code == 400


def test_a_manager_reads_their_own_notifications_page(alpha):
    user = user_with_role(alpha, "helper@notes.test", "sales_manager")
    with tenant_context(alpha):
        assert services.notify(user, Kind.REMINDER, "Hello") is not None
    client = client_for(alpha, "helper@notes.test")
    assert "Hello" in client.get("/notifications/").content.decode()


def test_every_workspace_page_header_has_the_bell_with_my_unread_count(
    alpha, admin, rep, rep_client
):
    with tenant_context(alpha):
        services.notify(rep, Kind.ASSIGNED, "Deal for you", actor=admin)
        services.notify(rep, Kind.MENTION, "You were mentioned", actor=admin)
        services.notify(admin, Kind.MENTION, "Only for the admin", actor=rep)
    for path in ("/", "/customers/", "/opportunities/"):
        html = rep_client.get(path).content.decode()
        assert 'data-testid="notification-bell"' in html, path
        badge = html.split('data-testid="notification-count"', 1)[1].split(">", 1)[0]
        assert 'data-count="2"' in badge, path


def test_each_person_reads_notifications_in_their_own_language(alpha, admin, rep):
    """A Chinese-speaking manager's decision reaches an English-speaking rep in English, and
    the rep's request reaches the manager in Chinese, whatever language the request ran in."""
    from django.utils import translation

    from core_crm.sales.opportunities import opportunity_assign

    from ..sales.factories import make_opportunity

    with tenant_context(alpha):
        admin.language = "zh-hans"
        admin.save(update_fields=["language"])
        rep.language = "en"
        rep.save(update_fields=["language"])
        opp = make_opportunity(rep, name="Jasmine line")
        with translation.override("zh-hans"):  # the actor works in Chinese
            opp.owner = admin
            opp.save(update_fields=["owner"])
            opportunity_assign(opp, actor=admin, owner=rep, channel="web")
        to_rep = Notification.objects.filter(user=rep, kind="assigned").latest("pk")
        assert to_rep.title == "Opportunity assigned to you: Jasmine line"
        from core_crm.sales.models import OpportunityTeamMember
        from core_crm.sales.opportunities import team_member_add

        opp.refresh_from_db()
        with translation.override("en"):  # the actor works in English
            team_member_add(
                opp,
                actor=rep,
                user=admin,
                role=OpportunityTeamMember.Role.values[0],
                channel="web",
            )
        to_admin = Notification.objects.filter(user=admin, kind="assigned").latest("pk")
        assert to_admin.title == "您已加入商机 Jasmine line 的团队"
