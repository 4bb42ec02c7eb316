"""Opportunity pages and the board through HTTP: what people see, what they may change, and
that the pages cost a fixed number of queries however many deals there are."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from core_crm.customers.models import Account, PicklistValue
from core_crm.sales.models import Opportunity, StageChange
from tests.customfields.helpers import client_for, make_field, user_with_role

from .factories import make_opportunity, stage


def unmasked(html: str) -> str:
    """Without what differs by request only: CSRF token, language switch return address."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value=)"[^"]+"', r"\1", html)
    return re.sub(r'(name="next"[^>]*value=)"[^"]+"', r"\1", html)


def test_list_shows_visible_deals_with_totals_and_an_empty_state(alpha, admin, rep, rep_client):
    assert "No opportunities here yet." in rep_client.get("/opportunities/").content.decode()
    with tenant_context(alpha):
        make_opportunity(rep, name="Rep tea deal", amount=1000, stage_key="proposal")
        make_opportunity(rep, name="Rep water deal", amount=3000, stage_key="qualification")
        make_opportunity(admin, name="Boss secret deal", amount=99999)
    page = rep_client.get("/opportunities/").content.decode()
    assert "Rep tea deal" in page and "Rep water deal" in page
    assert "Boss secret deal" not in page
    totals = re.sub(r"\s+", " ", page.split('data-testid="list-totals"')[1].split("</p>")[0])
    # 1,000 at 50 % + 3,000 at 10 % = 800 weighted, 4,000 in all.
    assert "2 opportunities" in totals and "4,000.00 CNY" in totals and "800.00 CNY" in totals
    filtered = rep_client.get("/opportunities/?q=water").content.decode()
    assert "Rep water deal" in filtered and "Rep tea deal" not in filtered


def test_create_through_the_form_names_bad_fields_and_keeps_nothing(alpha, admin, admin_client):
    with tenant_context(alpha):
        account = Account.objects.create(name="Suzhou Silk", owner=admin)
    bad = admin_client.post(
        "/opportunities/new/",
        {
            "name": "",
            "account": account.pk,
            "amount": "-1",
            "currency": "CNY",
            "close_date": "",
            "forecast_category": "pipeline",
        },
    )
    page = bad.content.decode()
    assert bad.status_code == 400
    assert 'id="name-error"' in page and 'id="close_date-error"' in page
    assert 'id="amount-error"' in page
    with tenant_context(alpha):
        assert not Opportunity.objects.exists()
        first_stage = stage("qualification")
        pipeline_id = first_stage.pipeline_id
    good = admin_client.post(
        "/opportunities/new/",
        {
            "name": "Silk scarves",
            "account": account.pk,
            "amount": "8800",
            "currency": "CNY",
            "close_date": "2026-12-20",
            "forecast_category": "pipeline",
            "pipeline": pipeline_id,
            "stage": first_stage.pk,
        },
    )
    assert good.status_code == 302
    with tenant_context(alpha):
        assert Opportunity.objects.get().amount == 8800
    detail = admin_client.get(good["Location"]).content.decode()
    assert "Silk scarves" in detail and "8,800.00 CNY" in detail
    assert 'data-testid="stage-path"' in detail


def test_stage_buttons_move_and_lost_asks_for_a_reason(alpha, admin, admin_client):
    with tenant_context(alpha):
        opp = make_opportunity(admin, name="Kiln", amount=500)
        lost, proposal = stage("lost"), stage("proposal")
        reason = PicklistValue.objects.get(picklist="lost_reason", code="timing")
    refused = admin_client.post(
        f"/opportunities/{opp.pk}/move/", {"stage": lost.pk}, HTTP_ACCEPT="application/json"
    )
    assert refused.status_code == 400 and "lost_reason" in refused.json()["errors"]
    moved = admin_client.post(
        f"/opportunities/{opp.pk}/move/", {"stage": proposal.pk}, HTTP_ACCEPT="application/json"
    )
    body = moved.json()
    assert body["probability"] == 50
    assert body["columns"][str(proposal.pk)] == {
        "count": 1,
        "total": "500.00",
        "weighted": "250.00",
    }
    admin_client.post(
        f"/opportunities/{opp.pk}/move/",
        {"stage": lost.pk, "lost_reason": reason.pk, "lost_note": "Next year"},
    )
    detail = admin_client.get(f"/opportunities/{opp.pk}/").content.decode()
    assert "Timing — Next year" in detail
    with tenant_context(alpha):
        assert StageChange.objects.filter(opportunity=opp).count() == 3


def test_board_shows_columns_with_figures_and_loads_cards_per_column(alpha, admin, rep, rep_client):
    with tenant_context(alpha):
        Account.objects.create(name="spare", owner=rep)
        for n in range(3):
            make_opportunity(rep, name=f"Deal {n}", amount=1000, stage_key="negotiation")
        make_opportunity(admin, name="Not yours", amount=7777, stage_key="negotiation")
        negotiation = stage("negotiation")
    board = rep_client.get("/opportunities/board/").content.decode()
    column = board.split('data-testid="column-negotiation"')[1].split("</header>")[0]
    assert ">3<" in column and "3,000.00" in column and "2,250.00" in column
    cards = rep_client.get(f"/opportunities/board/column/{negotiation.pk}/").content.decode()
    assert cards.count('class="card ') == 3 and "Not yours" not in cards
    assert "cursor-grab" in cards  # the rep may move their own cards


def test_board_and_its_columns_cost_fixed_queries(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    with tenant_context(alpha):
        negotiation = stage("negotiation")
        account = Account.objects.create(name="Bulk", owner=admin)
        make_opportunity(admin, account=account, name="first", stage_key="negotiation")
    url = f"/opportunities/board/column/{negotiation.pk}/"
    with django_assert_max_num_queries(20) as column:
        admin_client.get(url)
    with django_assert_max_num_queries(40) as board:
        admin_client.get("/opportunities/board/")
    with tenant_context(alpha):
        for n in range(45):
            make_opportunity(admin, account=account, name=f"bulk {n}", stage_key="negotiation")
    with django_assert_max_num_queries(len(column.captured_queries)):
        first_page = admin_client.get(url).content.decode()
    assert first_page.count('class="card ') == 20 and "page=2" in first_page
    with django_assert_max_num_queries(len(board.captured_queries)):
        admin_client.get("/opportunities/board/")


def test_list_queries_do_not_grow_with_rows(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    with tenant_context(alpha):
        make_opportunity(admin, name="one")
    with django_assert_max_num_queries(40) as base:
        admin_client.get("/opportunities/")
    with tenant_context(alpha):
        for n in range(30):
            make_opportunity(admin, name=f"more {n}")
    with django_assert_max_num_queries(len(base.captured_queries)):
        admin_client.get("/opportunities/")


def test_other_owners_and_other_workspaces_get_404(alpha, beta, admin, rep, rep_client):
    with tenant_context(alpha):
        theirs = make_opportunity(admin, name="Boss only")
        negotiation = stage("negotiation")
    for url in (f"/opportunities/{theirs.pk}/", f"/opportunities/{theirs.pk}/edit/"):
        assert rep_client.get(url).status_code == 404
    assert (
        rep_client.post(f"/opportunities/{theirs.pk}/move/", {"stage": negotiation.pk}).status_code
        == 404
    )
    assert (
        rep_client.post(f"/opportunities/{theirs.pk}/owner/", {"owner": rep.pk}).status_code == 404
    )
    other = user_with_role(beta, "boss@beta.test", None, admin=True)
    beta_client = client_for(beta, other.email)
    missing = beta_client.get("/opportunities/999999/")
    same_pk = beta_client.get(f"/opportunities/{theirs.pk}/")
    assert same_pk.status_code == 404
    assert unmasked(same_pk.content.decode()) == unmasked(missing.content.decode())
    with tenant_context(alpha):
        opp = Opportunity.objects.get(pk=theirs.pk)
        assert opp.stage.key == "qualification" and opp.owner == admin


def test_a_rep_cannot_move_a_deal_they_only_read(alpha, admin, rep, rep_client):
    from core_crm.sales.opportunities import team_member_add

    with tenant_context(alpha):
        opp = make_opportunity(admin, name="Shared", amount=Decimal(10))
        team_member_add(opp, actor=admin, user=rep, role="presales", channel="web")
        proposal = stage("proposal")
    assert rep_client.get(f"/opportunities/{opp.pk}/").status_code == 200
    refused = rep_client.post(
        f"/opportunities/{opp.pk}/move/", {"stage": proposal.pk}, HTTP_ACCEPT="application/json"
    )
    assert refused.status_code == 403
    cards = rep_client.get(f"/opportunities/board/column/{opp.stage_id}/").content.decode()
    assert "locked" in cards


@pytest.mark.parametrize("path", ["/opportunities/", "/opportunities/board/"])
def test_pages_speak_chinese(alpha, admin, admin_client, path):
    with tenant_context(alpha):
        make_opportunity(admin, name="茶叶")
    page = admin_client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "商机" in page


def test_board_filters_cannot_break_out_of_the_page_script(alpha, rep, rep_client):
    """Filters from the address travel to the page's script as JSON data, never as code."""
    attack = "</script><script>alert(document.domain)</script>"
    html = rep_client.get("/opportunities/board/", {"q": attack, "owner": attack}).content.decode()
    assert "<script>alert(document.domain)</script>" not in html
    assert '<script id="board-filters" type="application/json">' in html


def _history(page: str) -> str:
    """The detail page's history box, its lines joined by single spaces."""
    box = page.split('data-testid="history"')[1].split("</ol>")[0]
    return re.sub(r"\s+", " ", box.replace("<br>", " | "))


def test_history_reads_as_labels_names_and_local_times(alpha, admin, admin_client):
    import zoneinfo

    from django.template.defaultfilters import date as date_filter
    from django.utils import timezone, translation

    from core_crm.sales.opportunities import competitor_add, opportunity_update

    with tenant_context(alpha):
        admin.time_zone = "Asia/Shanghai"
        admin.save(update_fields=["time_zone"])
        opp = make_opportunity(admin, name="Kiln", amount=500, stage_key="proposal")
        opportunity_update(opp, actor=admin, data={"forecast_category": "commit"}, channel="web")
        competitor_add(opp, actor=admin, data={"name": "Jingdezhen Works"}, channel="web")
        lost = stage("lost")
        reason = PicklistValue.objects.get(picklist="lost_reason", code="timing")
    admin_client.post(
        f"/opportunities/{opp.pk}/move/", {"stage": lost.pk, "lost_reason": reason.pk}
    )
    with tenant_context(alpha):
        closed_at = Opportunity.objects.get(pk=opp.pk).closed_at
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")), translation.override("en"):
        closed_shown = date_filter(timezone.localtime(closed_at), "SHORT_DATETIME_FORMAT")

    english = _history(admin_client.get(f"/opportunities/{opp.pk}/").content.decode())
    assert "Stage: Proposal / quote → Closed lost" in english
    assert "Lost reason: — → Timing" in english
    assert "Forecast category: Pipeline → Commit" in english
    assert "Forecast category: Commit → Omitted" in english
    assert "Probability (%): 50 → 0" in english  # 0 is a value, not nothing
    assert f"Closed: — → {closed_shown}" in english  # in the reader's time zone
    assert "Competitors: — → Jingdezhen Works" in english
    assert not re.search(r"\b(stage|lost_reason|forecast_category|closed_at|competitors):", english)
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", english)  # no ISO timestamps
    assert f"→ {lost.pk}" not in english and f"→ {reason.pk}" not in english

    admin_client.cookies["django_language"] = "zh-hans"
    chinese = _history(admin_client.get(f"/opportunities/{opp.pk}/").content.decode())
    assert "阶段: 方案报价 → 丢单" in chinese
    assert "丢单原因: — → 时机不对" in chinese
    assert "预测类别: 承诺 → 排除" in chinese
    assert "竞争对手: — → Jingdezhen Works" in chinese
    assert "Proposal / quote" not in chinese and "Omitted" not in chinese


def test_history_costs_fixed_queries_however_long(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    """Stage, picklist and user ids of all shown entries are read at once, per model."""
    from core_crm.sales.opportunities import (
        opportunity_assign,
        opportunity_move,
        opportunity_update,
    )

    with tenant_context(alpha):
        opp = make_opportunity(admin, name="Long story", amount=500, stage_key="proposal")
        lost, negotiation = stage("lost"), stage("negotiation")
        reasons = list(PicklistValue.objects.filter(picklist="lost_reason"))
        sources = list(PicklistValue.objects.filter(picklist="source"))
        other = user_with_role(alpha, "colleague@alpha.test", None, admin=True)

    def story(round_: int) -> None:
        """Three audit entries: lost with a reason; reopened from another source; reassigned."""
        with tenant_context(alpha):
            deal = Opportunity.objects.get(pk=opp.pk)
            deal = opportunity_move(
                deal, actor=admin, stage=lost, channel="web", lost_reason=reasons[round_]
            )
            deal = opportunity_update(
                deal,
                actor=admin,
                data={"stage": negotiation, "source": sources[round_].pk},
                channel="web",
            )
            opportunity_assign(deal, actor=admin, owner=(other, admin)[round_ % 2], channel="web")

    story(0)
    with django_assert_max_num_queries(60) as short:
        first = admin_client.get(f"/opportunities/{opp.pk}/").content.decode()
    assert _history(first).count("<li>") == 3
    for round_ in range(1, 5):
        story(round_)
    with django_assert_max_num_queries(len(short.captured_queries)):
        page = admin_client.get(f"/opportunities/{opp.pk}/").content.decode()
    history = _history(page)
    assert history.count("<li>") == 15
    assert "Lost reason: — → " + reasons[4].label in history
    assert "Source: " + sources[3].label + " → " + sources[4].label in history
    assert f"Owner: {admin} → {other}" in history


def test_a_deal_on_an_account_the_rep_cannot_open_names_it_without_a_link(
    alpha, admin, rep, rep_client
):
    with tenant_context(alpha):
        theirs = Account.objects.create(name="Admin's Key Account", owner=admin)
        mine = Account.objects.create(name="Rep's Own Account", owner=rep)
        on_theirs = make_opportunity(rep, account=theirs, name="Side deal")
        make_opportunity(rep, account=mine, name="Own deal")
    listing = rep_client.get("/opportunities/").content.decode()
    assert "Admin&#x27;s Key Account" in listing
    assert f'href="/customers/{theirs.pk}/"' not in listing
    assert f'href="/customers/{mine.pk}/"' in listing
    detail = rep_client.get(f"/opportunities/{on_theirs.pk}/").content.decode()
    assert "Admin&#x27;s Key Account" in detail and f'href="/customers/{theirs.pk}/"' not in detail


def test_custom_field_errors_show_next_to_their_field_on_the_edit_page(alpha, admin, admin_client):
    """The service names custom-field errors custom_fields.<key>; the form's field is
    cf_<key>: the message belongs next to that field, not at the top of the form."""
    make_field(alpha, "opportunity", "budget", "number", required=True)
    with tenant_context(alpha):
        opp = make_opportunity(admin, name="Lanterns")
        posted = {
            "name": opp.name,
            "account": opp.account_id,
            "pipeline": opp.pipeline_id,
            "stage": opp.stage_id,
            "amount": "1000",
            "currency": opp.currency,
            "close_date": opp.close_date.isoformat(),
            "forecast_category": opp.forecast_category,
        }
    url = f"/opportunities/{opp.pk}/edit/"

    def field_error(response) -> str:  # type: ignore[no-untyped-def]
        page = response.content.decode()
        assert response.status_code == 400
        assert "bg-rose-50" not in page  # nothing at the top of the form
        return page.split('id="cf_budget-error"')[1].split("</div>")[0]

    assert "This field is required." in field_error(admin_client.post(url, posted))
    # Only the service knows this limit: its custom_fields.budget error lands on cf_budget.
    too_large = admin_client.post(url, {**posted, "cf_budget": str(10**15)})
    assert "The number is too large." in field_error(too_large)
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=opp.pk).custom_fields in ({}, None)
    saved = admin_client.post(url, {**posted, "cf_budget": "12"})
    assert saved.status_code == 302
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=opp.pk).custom_fields == {"budget": 12}
