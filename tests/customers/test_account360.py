"""The account 360° page: key facts, tabs, and one timeline merging activities, stage changes,
quotes sent and record changes, newest first, filterable, within what the viewer may read."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.access.models import RecordShare
from core_crm.activities import services as activities
from core_crm.customers.models import Account, Contact
from core_crm.customers.services import record_update
from core_crm.quotes import services as quotes
from core_crm.sales import opportunities
from core_crm.workspace.extensions import (
    AccountTab,
    TimelineItem,
    _sources,
    _tabs,
    register_account_tab,
    register_timeline_source,
)

from ..api.conftest import rep_api  # noqa: F401
from ..quotes.conftest import catalogue, manager, other_rep, quote_with  # noqa: F401
from ..sales.factories import make_opportunity, stage


def timeline_titles(html: str) -> list[str]:
    block = html.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r'<p class="text-sm">(.*?)</p>', block, flags=re.S)
    ]


@pytest.fixture
def account_with_history(alpha, rep, catalogue):  # type: ignore[no-untyped-def]  # noqa: F811
    """An account of the rep with a meeting, an opportunity moved a stage, a sent quote and a
    changed field, each at a known moment."""
    with tenant_context(alpha):
        account = Account.objects.create(name="Hangzhou Tea Co", owner=rep, value_class="A")
        contact = Contact.objects.create(
            first_name="Na", last_name="Li", account=account, owner=rep
        )
        opp = make_opportunity(rep, account=account, name="Tea line", amount=50000)
        opportunities.opportunity_move(opp, actor=rep, stage=stage("proposal"), channel="web")
        meeting = activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "meeting",
                "subject": "Tasting visit",
                "account": account,
                "start_at": timezone.now() - dt.timedelta(hours=3),
            },
        )
        quote = quote_with(rep, catalogue, opp=opp)
        quotes.quote_send(quote, actor=rep, channel="web")
        record_update(account, actor=rep, data={"city": "Hangzhou"}, channel="web")
        return {"account": account, "contact": contact, "opp": opp, "meeting": meeting}


def test_timeline_merges_every_department_newest_first(alpha, rep_client, account_with_history):  # type: ignore[no-untyped-def]
    account = account_with_history["account"]
    html = rep_client.get(f"/customers/{account.pk}/").content.decode()
    titles = timeline_titles(html)
    joined = "\n".join(titles)
    assert "Tasting visit" in joined
    assert "Tea line moved from Qualification to Proposal" in joined
    assert re.search(r"Quote Q-\S+ sent \(v1\)", joined)
    assert any(title.startswith("Changed: Hangzhou Tea Co") for title in titles)
    # Newest first: the field change happened last, the meeting (3 hours ago) is older than the
    # stage move and the quote.
    assert titles[0].startswith("Changed: Hangzhou Tea Co")
    assert joined.index("Tasting visit") > joined.index("moved from Qualification")
    assert 'data-testid="account-facts"' in html
    assert "50,000" in html  # open pipeline in the key facts
    facts = html.split('data-testid="account-facts"', 1)[1].split("</dl>", 1)[0]
    assert "none yet" in facts  # the meeting is planned, not done: no last contact
    assert 'data-testid="fact-next-activity"' not in facts  # and it started 3 hours ago


def test_timeline_filters_by_source(alpha, rep_client, account_with_history):  # type: ignore[no-untyped-def]
    account = account_with_history["account"]
    html = rep_client.get(f"/customers/{account.pk}/?source=stages").content.decode()
    titles = timeline_titles(html)
    assert titles and all("Tea line" in title for title in titles)
    assert "Tasting visit" not in "\n".join(titles)
    # An unknown source shows everything rather than nothing.
    html = rep_client.get(f"/customers/{account.pk}/?source=nope").content.decode()
    assert "Tasting visit" in "\n".join(timeline_titles(html))


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("contacts", "Na Li"),
        ("opportunities", "Tea line"),
        ("activities", "Tasting visit"),
        ("quotes", "Q-"),
    ],
)
def test_each_tab_shows_its_records(alpha, rep_client, account_with_history, tab, expected):  # type: ignore[no-untyped-def]
    account = account_with_history["account"]
    html = rep_client.get(f"/customers/{account.pk}/?tab={tab}").content.decode()
    assert f'data-testid="tab-{tab}"' in html
    section = html.split('data-testid="account-360"', 1)[1]
    assert expected in section
    assert 'data-testid="timeline"' not in section


def test_empty_account_explains_what_the_timeline_will_hold(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        account = Account.objects.create(name="Quiet Ltd", owner=rep)
    html = rep_client.get(f"/customers/{account.pk}/").content.decode()
    assert 'data-testid="timeline-empty"' in html
    assert "Log a call or a meeting" in html


def test_another_reps_deal_on_a_shared_account_stays_off_the_timeline(
    alpha,
    rep,
    other_rep,  # noqa: F811
    admin_client,
    rep_client,
    account_with_history,
):  # type: ignore[no-untyped-def]
    """The rep reads the account but not another team's opportunity on it, nor its stage
    changes, quotes or activities."""
    account = account_with_history["account"]
    with tenant_context(alpha):
        # The account is shared with the other rep, who works on it too.
        RecordShare.objects.create(
            content_type=ContentType.objects.get_for_model(Account),
            object_id=account.pk,
            user=other_rep,
            can_edit=False,
        )
        secret = make_opportunity(other_rep, account=account, name="Secret expansion")
        opportunities.opportunity_move(
            secret, actor=other_rep, stage=stage("proposal"), channel="web"
        )
        activities.activity_create(
            actor=other_rep,
            channel="web",
            data={
                "kind": "call",
                "subject": "Private call",
                "account": account,
                "start_at": timezone.now(),
            },
        )
    html = rep_client.get(f"/customers/{account.pk}/").content.decode()
    assert "Secret expansion" not in html and "Private call" not in html
    for tab in ("opportunities", "activities", "quotes"):
        assert (
            "Secret expansion"
            not in rep_client.get(f"/customers/{account.pk}/?tab={tab}").content.decode()
        )
    # The admin sees everything on the same page.
    admin_html = admin_client.get(f"/customers/{account.pk}/").content.decode()
    assert "Secret expansion" in admin_html and "Private call" in admin_html


def test_other_workspace_account_with_the_same_id_is_not_shown(
    alpha, beta, rep, rep_client, account_with_history
):  # type: ignore[no-untyped-def]
    account = account_with_history["account"]
    with tenant_context(beta):
        from core_crm.users.models import User

        beta_admin = User.objects.earliest("pk")
        Account.objects.update_or_create(
            pk=account.pk, defaults={"name": "Beta Secret Customer", "owner": beta_admin}
        )
        beta_only = Account.objects.create(
            pk=account.pk + 5000, name="Only in beta", owner=beta_admin
        )
    html = rep_client.get(f"/customers/{account.pk}/").content.decode()
    assert "Hangzhou Tea Co" in html and "Beta Secret Customer" not in html
    assert rep_client.get(f"/customers/{beta_only.pk}/").status_code == 404


def _count(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "tab", ["", "?tab=contacts", "?tab=opportunities", "?tab=activities", "?tab=quotes"]
)
def test_query_count_does_not_grow_with_rows(alpha, rep, rep_client, catalogue, tab):  # type: ignore[no-untyped-def]  # noqa: F811
    with tenant_context(alpha):
        account = Account.objects.create(name="Busy Co", owner=rep)

        def add(n: int) -> None:
            for i in range(n):
                Contact.objects.create(
                    first_name=f"C{i}", last_name="Zhang", account=account, owner=rep
                )
                opp = make_opportunity(rep, account=account, name=f"Deal {i}")
                opportunities.opportunity_move(
                    opp, actor=rep, stage=stage("proposal"), channel="web"
                )
                activities.activity_create(
                    actor=rep,
                    channel="web",
                    data={
                        "kind": "call",
                        "subject": f"Call {i}",
                        "account": account,
                        "start_at": timezone.now(),
                    },
                )
                quote = quote_with(rep, catalogue, opp=opp)
                quotes.quote_send(quote, actor=rep, channel="web")

        add(2)
    url = f"/customers/{account.pk}/{tab}"
    _count(rep_client, url)  # warm caches (content types, definitions)
    few = _count(rep_client, url)
    with tenant_context(alpha):
        add(12)
    many = _count(rep_client, url)
    assert many == few, f"{url}: {few} queries with 2 of each, {many} with 14"


def test_registered_tab_and_timeline_source_appear(alpha, rep_client, account_with_history):  # type: ignore[no-untyped-def]
    """The extension point industry modules use: a tab and a timeline source registered by
    another app show on the page."""
    account = account_with_history["account"]

    def source(acc, user, since):  # type: ignore[no-untyped-def]
        return [
            TimelineItem(
                when=timezone.now() + dt.timedelta(days=1),
                source="visits",
                title=f"Store check at {acc.name}",
            )
        ]

    register_timeline_source("visits", "Store visits", source)
    register_account_tab(
        AccountTab(key="shelf", label="Shelf share", render=lambda r, a: "<p>42 % shelf share</p>")
    )
    try:
        html = rep_client.get(f"/customers/{account.pk}/").content.decode()
        assert timeline_titles(html)[0] == "Store check at Hangzhou Tea Co"
        assert "Store visits" in html and 'data-testid="tab-shelf"' in html
        assert (
            "42 % shelf share"
            in rep_client.get(f"/customers/{account.pk}/?tab=shelf").content.decode()
        )
    finally:
        _sources.pop("visits", None)
        _tabs.pop("shelf", None)


def test_account_page_speaks_chinese(alpha, rep_client, account_with_history):  # type: ignore[no-untyped-def]
    from django.utils import translation

    account = account_with_history["account"]
    rep_client.cookies["django_language"] = "zh-hans"
    html = rep_client.get(
        f"/customers/{account.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    translation.activate("en")
    for words in ("时间线", "价值等级", "在途商机", "今年赢单", "未结报价", "联系人", "商机"):
        assert words in html, words


def test_key_facts_show_the_last_done_and_the_next_planned_activity(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        account = Account.objects.create(name="Planned Co", owner=rep)
        call = activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "call",
                "subject": "Intro call",
                "account": account,
                "start_at": timezone.now() - dt.timedelta(days=2),
            },
        )
        activities.activity_complete(call, actor=rep, channel="web", outcome="Interested")
        activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "visit",
                "subject": "Factory visit",
                "account": account,
                "start_at": timezone.now() + dt.timedelta(days=3),
            },
        )
    html = rep_client.get(f"/customers/{account.pk}/").content.decode()
    facts = html.split('data-testid="account-facts"', 1)[1].split("</dl>", 1)[0]
    assert "none yet" not in facts and "ago" in facts
    next_day = (timezone.localtime() + dt.timedelta(days=3)).strftime("%m/%d/%Y")
    assert 'data-testid="fact-next-activity"' in facts and next_day in facts


def test_an_enabled_industry_module_adds_a_tab_and_timeline_items_only_where_switched_on(
    alpha, beta, rep, rep_client, account_with_history, monkeypatch
):  # type: ignore[no-untyped-def]
    """The pluggy hooks `crm_account_tabs` and `crm_account_timeline`, called through
    hooks_for(tenant): a module alpha switched on shows there and nowhere else."""
    import plugins.manager as plugin_manager
    from plugins.manager import get_plugin_manager, hookimpl

    class KeyAccounts:
        @hookimpl
        def crm_account_tabs(self, tenant, account, request):  # type: ignore[no-untyped-def]
            return [
                {"key": "plan", "label": "Account plan", "html": f"<p>Plan for {account.name}</p>"}
            ]

        @hookimpl
        def crm_account_timeline(self, tenant, account, user):  # type: ignore[no-untyped-def]
            return [
                TimelineItem(
                    when=timezone.now() + dt.timedelta(hours=1),
                    source="plan",
                    title=f"Quarterly review of {account.name} ({tenant.schema_name})",
                )
            ]

    pm = get_plugin_manager()
    pm.register(KeyAccounts(), name="key_accounts")
    monkeypatch.setattr(
        plugin_manager,
        "enabled_module_names",
        lambda tenant: {"key_accounts"} if tenant.schema_name == "alpha" else set(),
    )
    account = account_with_history["account"]
    try:
        html = rep_client.get(f"/customers/{account.pk}/").content.decode()
        assert timeline_titles(html)[0] == "Quarterly review of Hangzhou Tea Co (alpha)"
        assert 'data-testid="tab-plan"' in html
        tab = rep_client.get(f"/customers/{account.pk}/?tab=plan").content.decode()
        assert "Plan for Hangzhou Tea Co" in tab
        only = rep_client.get(f"/customers/{account.pk}/?source=plan").content.decode()
        assert timeline_titles(only) == ["Quarterly review of Hangzhou Tea Co (alpha)"]

        from core_crm.users.models import User

        from ..customfields.helpers import client_for, user_with_role

        with tenant_context(beta):
            beta_admin = User.objects.earliest("pk")
            beta_account = Account.objects.create(name="Beta Mills", owner=beta_admin)
        beta_client = client_for(
            beta, user_with_role(beta, "boss@beta.test", None, admin=True).email
        )
        beta_html = beta_client.get(f"/customers/{beta_account.pk}/").content.decode()
        assert "Quarterly review" not in beta_html and 'data-testid="tab-plan"' not in beta_html
    finally:
        pm.unregister(name="key_accounts")


def test_changes_of_the_accounts_deals_show_but_stage_moves_only_once(
    alpha, rep, admin, rep_client, account_with_history
):  # type: ignore[no-untyped-def]
    account, opp = account_with_history["account"], account_with_history["opp"]
    with tenant_context(alpha):
        opportunities.opportunity_update(
            opp, actor=rep, data={"next_step": "Send the tasting samples"}, channel="web"
        )
        hidden = make_opportunity(admin, account=account, name="Admin's own deal")
        opportunities.opportunity_update(
            hidden, actor=admin, data={"next_step": "Secret step"}, channel="web"
        )
    html = rep_client.get(f"/customers/{account.pk}/?source=changes").content.decode()
    titles = timeline_titles(html)
    assert titles.count("Changed: Opportunity Tea line") == 1  # the next step; not the move
    assert "next step" in html.split("Changed: Opportunity Tea line", 1)[1].split("</li>", 1)[0]
    assert "Admin's own deal" not in html


def test_timeline_api_merges_filters_and_hides_like_the_page(
    alpha,
    beta,
    rep,
    account_with_history,
    rep_api,  # noqa: F811
):  # type: ignore[no-untyped-def]
    account = account_with_history["account"]
    _user, api = rep_api
    body = api.get(f"/api/v1/accounts/{account.pk}/timeline/").json()
    titles = [item["title"] for item in body["items"]]
    assert any("Tasting visit" in t for t in titles)
    assert any(t.startswith("Tea line moved from Qualification to Proposal") for t in titles)
    assert {s["key"] for s in body["sources"]} >= {"activities", "stages", "quotes", "changes"}
    assert body["items"] == sorted(body["items"], key=lambda i: i["when"], reverse=True)
    only = api.get(f"/api/v1/accounts/{account.pk}/timeline/", source="stages").json()
    assert only["source"] == "stages" and {i["source"] for i in only["items"]} == {"stages"}
    bad = api.get(f"/api/v1/accounts/{account.pk}/timeline/", source="nope")
    assert bad.status_code == 400 and "source" in bad.json()
    # Another owner's account, and an id only the other workspace has: 404.
    with tenant_context(alpha):
        from core_crm.users.models import User

        theirs = Account.objects.create(name="Not yours", owner=User.objects.earliest("pk"))
    assert api.get(f"/api/v1/accounts/{theirs.pk}/timeline/").status_code == 404
    with tenant_context(beta):
        from core_crm.users.models import User

        Account.objects.create(
            pk=account.pk + 7000, name="Beta only", owner=User.objects.earliest("pk")
        )
    assert api.get(f"/api/v1/accounts/{account.pk + 7000}/timeline/").status_code == 404


def test_changes_to_a_deals_contact_roles_team_and_competitors_read_well(
    alpha,
    rep,
    admin,
    rep_client,
    account_with_history,
    rep_api,  # noqa: F811
):  # type: ignore[no-untyped-def]
    account, opp, contact = (
        account_with_history["account"],
        account_with_history["opp"],
        account_with_history["contact"],
    )
    with tenant_context(alpha):
        from core_crm.customers.models import PicklistValue
        from core_crm.sales.models import OpportunityTeamMember

        opportunities.contact_role_set(
            opp,
            actor=rep,
            contact=contact,
            role=PicklistValue.objects.filter(picklist="contact_role").first(),
            channel="web",
        )
        opportunities.team_member_add(
            opp, actor=rep, user=admin, role=OpportunityTeamMember.Role.values[0], channel="web"
        )
        opportunities.competitor_add(opp, actor=rep, data={"name": "Rival Tea"}, channel="web")
    response = rep_client.get(f"/customers/{account.pk}/?source=changes")
    assert response.status_code == 200
    html = response.content.decode()
    assert "contact roles" in html and "deal team" in html and "competitors" in html
    _user, api = rep_api
    assert api.get(f"/api/v1/accounts/{account.pk}/timeline/").status_code == 200
