"""Forecast figures against a hand computation, scopes, record security and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.forecast import selectors
from core_crm.forecast.periods import parse_period, quarter
from core_crm.sales.opportunities import opportunity_move
from core_crm.users.models import User

from ..conftest import BETA
from ..customfields.helpers import client_for
from ..sales.factories import make_opportunity, stage

Q1 = parse_period("2030-Q1")
D = Decimal


def figures(row) -> tuple:
    f = row.figures if hasattr(row, "figures") else row
    return (f.quota, f.won, f.commit, f.best_case, f.pipeline, f.attainment)


def test_manager_team_forecast_equals_the_hand_computation(alpha, book):
    with tenant_context(alpha):
        result = selectors.forecast(book["mia"], Q1, "team")
    people = {row.name: figures(row) for row in result.people}
    assert set(people) == {"Ann Rep", "Ben Rep", "Mia Manager"}
    # Ann: quota 40,000 (quarter). Won #1 10,000. Commit #2 1,000 USD x 7 = 7,000.
    # Best case = commit + best case = 7,000 + #3 5,000 = 12,000. Pipeline #4 2,000.
    # #5 lost, #6 closes in Q2, #7 omitted: nowhere. Attainment 10,000 / 40,000 = 25.0 %.
    assert people["Ann Rep"] == (D(40000), D(10000), D(7000), D(12000), D(2000), D("25.0"))
    # Ben: quota = months 5,000 + 5,000 + 4,000 = 14,000. Won #8 500 USD x 7 = 3,500.
    # Commit #9 6,000 = best case. Pipeline #10 1,500. Attainment 3,500 / 14,000 = 25.0 %.
    assert people["Ben Rep"] == (D(14000), D(3500), D(6000), D(6000), D(1500), D("25.0"))
    assert people["Mia Manager"] == (None, 0, 0, 0, 0, None)
    # Team North: its own quota 60,000; won 10,000 + 3,500 = 13,500; commit 7,000 + 6,000 =
    # 13,000; best case 12,000 + 6,000 = 18,000; pipeline 2,000 + 1,500 = 3,500;
    # attainment 13,500 / 60,000 = 22.5 %.
    [north] = result.teams
    assert north.name == "North"
    assert figures(north) == (D(60000), D(13500), D(13000), D(18000), D(3500), D("22.5"))
    # Total: people's quotas 40,000 + 14,000 = 54,000; attainment 13,500 / 54,000 = 25.0 %.
    assert figures(result.total) == (D(54000), D(13500), D(13000), D(18000), D(3500), D("25.0"))
    assert result.currency == "CNY"


def test_admin_everyone_adds_the_other_team(alpha, admin, book):
    with tenant_context(alpha):
        result = selectors.forecast(admin, Q1, "all")
    teams = {row.name: figures(row) for row in result.teams}
    # South has no quota of its own: Cai's 30,000. Won #11 20,000 -> 66.7 %. Commit #12 8,000.
    assert teams["South"] == (D(30000), D(20000), D(8000), D(8000), D(0), D("66.7"))
    # Total: 13,500 + 20,000 = 33,500 won; quotas 40,000 + 14,000 + 30,000 = 84,000 -> 39.9 %.
    assert figures(result.total) == (D(84000), D(33500), D(21000), D(26000), D(3500), D("39.9"))


def test_month_period_uses_month_quotas_only(alpha, book):
    with tenant_context(alpha):
        result = selectors.forecast(book["mia"], parse_period("2030-03"), "team")
    people = {row.name: figures(row) for row in result.people}
    # March: Ann has only a quarter quota (none for the month); #3 5,000 best case, #4 2,000.
    assert people["Ann Rep"] == (None, 0, 0, D(5000), D(2000), None)
    # Ben: March quota 4,000; won #8 3,500 -> 87.5 %.
    assert people["Ben Rep"] == (D(4000), D(3500), 0, 0, 0, D("87.5"))


def test_a_rep_sees_only_their_own_figures(alpha, book):
    ann = book["ann"]
    with tenant_context(alpha):
        assert [c.key for c in selectors.scope_choices(ann)] == ["me"]
        result = selectors.forecast(ann, Q1, None)
        assert [row.name for row in result.people] == ["Ann Rep"]
        assert figures(result.total)[1:5] == (D(10000), D(7000), D(12000), D(2000))
        for scope in ("team", "all", f"team:{book['north'].pk}"):
            with pytest.raises(ValidationError) as raised:
                selectors.forecast(ann, Q1, scope)
            assert "scope" in raised.value.message_dict


def test_a_manager_never_counts_another_teams_opportunities(alpha, book):
    mia, south = book["mia"], book["south"]
    with tenant_context(alpha):
        for scope in ("all", f"team:{south.pk}"):
            with pytest.raises(ValidationError):
                selectors.forecast(mia, Q1, scope)
        # Even a drill-down naming Cai returns nothing of hers.
        assert not selectors.drill_down(mia, Q1, "team", "commit", owner=book["cai"].pk).exists()
        # Cai's deal moved into North's member's name would count; Cai's own never does.
        result = selectors.forecast(mia, Q1, "team")
        assert "Cai Rep" not in {row.name for row in result.people}


def test_drill_down_lists_the_opportunities_behind_each_figure(alpha, book):
    mia, ann, north = book["mia"], book["ann"], book["north"]
    with tenant_context(alpha):

        def names(column, **kw):
            return sorted(o.name for o in selectors.drill_down(mia, Q1, "team", column, **kw))

        assert names("commit", owner=ann.pk) == ["Deal 2"]
        assert names("best_case", team=north.pk) == ["Deal 2", "Deal 3", "Deal 9"]
        assert names("won") == ["Deal 1", "Deal 8"]
        assert names("pipeline") == ["Deal 10", "Deal 4"]
        with pytest.raises(ValidationError):
            names("everything")


def test_a_deal_won_early_counts_as_won_in_the_quarter_it_was_won(alpha, book):
    ann = book["ann"]
    this_quarter = quarter(timezone.localdate())
    next_quarter = this_quarter.shifted(1)
    with tenant_context(alpha):
        # Expected to close in the middle of next quarter, in commit there.
        early = make_opportunity(
            ann,
            name="Early bird",
            stage_key="negotiation",
            forecast_category="commit",
            amount=9000,
            close_date=next_quarter.start + dt.timedelta(days=40),
        )
        assert selectors.forecast(ann, next_quarter, "me").total.commit == D(9000)
        # Signed today: closed won this quarter, nothing left next quarter.
        opportunity_move(early, actor=ann, stage=stage("won"), channel="web")
        now = selectors.forecast(ann, this_quarter, "me").total
        assert now.won == D(9000)
        later = selectors.forecast(ann, next_quarter, "me").total
        assert (later.won, later.commit) == (0, 0)
        won = selectors.drill_down(ann, this_quarter, "me", "won")
        assert [o.name for o in won] == ["Early bird"]


def test_period_names(alpha):
    today = dt.date(2026, 11, 23)
    assert parse_period("this-quarter", today=today).key == "2026-Q4"
    assert parse_period("next-quarter", today=today).key == "2027-Q1"
    assert parse_period("next-month", today=today).key == "2026-12"
    assert parse_period("2026-q2").start == dt.date(2026, 4, 1)
    assert parse_period("2026-Q2").end == dt.date(2026, 7, 1)
    with pytest.raises(ValidationError) as raised:
        parse_period("2026-13")
    assert "period" in raised.value.message_dict


# --- Pages ---------------------------------------------------------------------------------------


def test_forecast_page_shows_figures_footnote_chart_and_drill_links(alpha, book):
    client = client_for(alpha, "mia@book.test")
    page = client.get("/forecast/?period=2030-Q1&scope=team").content.decode()
    assert 'data-testid="forecast-chart"' in page and "chart.umd.js" in page
    ann_row = page.split('data-name="Ann Rep"')[1].split("</tr>")[0]
    for shown in ("40,000.00", "10,000.00", "7,000.00", "12,000.00", "2,000.00", "25.0 %"):
        assert shown in ann_row
    total = page.split('data-testid="total-row"')[1].split("</tr>")[0]
    assert "CNY" in total and "13,500.00" in total and "18,000.00" in total
    assert "Best case includes commit" in page
    assert "Cai Rep" not in page
    assert (
        f"/forecast/opportunities/?period=2030-Q1&amp;scope=team&amp;column=commit&amp;owner={book['ann'].pk}"
        in ann_row
    )

    drill = client.get(
        f"/forecast/opportunities/?period=2030-Q1&scope=team&column=commit&owner={book['ann'].pk}"
    ).content.decode()
    assert "Deal 2" in drill and "1,000.00 USD" in drill and "7,000.00" in drill
    assert "Deal 9" not in drill


def test_forecast_page_names_a_bad_period_or_scope(alpha, book):
    client = client_for(alpha, "ann@book.test")
    response = client.get("/forecast/?period=someday&scope=all")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="period-error"' in page and 'id="scope-error"' in page


def test_forecast_in_chinese(alpha, book):
    client = client_for(alpha, "mia@book.test")
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get("/forecast/?period=2030-Q1&scope=team").content.decode()
    assert "预测" in page and "赢单" in page


def test_beta_never_sees_alphas_opportunities(alpha, beta, book):
    client = client_for(beta, BETA.admin_email)
    page = client.get("/forecast/?period=2030-Q1&scope=all").content.decode()
    assert "Ann Rep" not in page and "10,000.00" not in page
    drill = client.get("/forecast/opportunities/?period=2030-Q1&scope=all&column=won").content
    assert b"Deal 1" not in drill
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        assert selectors.forecast(beta_admin, Q1, "all").total.won == 0


def test_forecast_page_queries_do_not_grow_with_opportunities_or_reps(
    alpha, admin, book, django_assert_max_num_queries
):
    client = client_for(alpha, "admin@alpha.test")
    url = "/forecast/?period=2030-Q1&scope=all"
    client.get(url)
    with django_assert_max_num_queries(40) as before:
        client.get(url)
    with tenant_context(alpha):
        north = book["north"]
        for i in range(6):
            rep = User.objects.create_user(
                email=f"extra{i}@book.test", password="x" * 12, full_name=f"Extra {i}"
            )
            north.members.add(rep)
            for j in range(3):
                make_opportunity(rep, name=f"Extra {i}-{j}", close_date=dt.date(2030, 2, 1))
    with django_assert_max_num_queries(len(before.captured_queries)):
        page = client.get(url).content.decode()
    assert "Extra 5" in page


def test_pipeline_report_hand_computation(alpha, book):
    with tenant_context(alpha):
        blocks = selectors.pipeline_report(book["mia"], period=Q1)
    new_business = {line.stage.key: line for line in blocks[0].stages}
    # Negotiation in Q1 visible to Mia: #2 7,000 and #9 6,000 -> 2, 13,000; weighted at
    # 75 % = 9,750. (#6 closes in Q2, #12 is Cai's.)
    neg = new_business["negotiation"]
    assert (neg.count, neg.total, neg.weighted) == (2, D(13000), D("9750.00"))
    # Proposal: #3 5,000 and #7 3,000 (omitted still sits in the stage) at 50 % = 4,000.
    prop = new_business["proposal"]
    assert (prop.count, prop.total, prop.weighted) == (2, D(8000), D("4000.00"))
    # Qualification: #4 2,000 + #10 1,500 = 3,500 at 10 % = 350.
    qual = new_business["qualification"]
    assert (qual.count, qual.total, qual.weighted) == (2, D(3500), D("350.00"))
    # Open pipeline: 6 deals, 24,500, weighted 14,100.
    assert (blocks[0].open_count, blocks[0].open_total, blocks[0].open_weighted) == (
        6,
        D(24500),
        D("14100.00"),
    )
    with tenant_context(alpha):
        ann_only = selectors.pipeline_report(book["mia"], period=Q1, owner=book["ann"].pk)
    assert {ln.stage.key: ln.count for ln in ann_only[0].stages}["negotiation"] == 1


def test_pipeline_report_page(alpha, book):
    client = client_for(alpha, "mia@book.test")
    page = client.get("/reports/pipeline/?period=2030-Q1").content.decode()
    assert "New business" in page and "13,000.00" in page and "9,750.00" in page
    assert "canvas" in page and "Cai Rep" not in page


def test_win_loss_hand_computation(alpha, book):
    with tenant_context(alpha):
        result = selectors.win_loss(book["mia"], Q1)
    total = result.total
    # Won (closed in Q1, North): #1 10,000 + #8 3,500. Lost: #5 9,000, #13 14,000, #14 1,000.
    assert (total.won_count, total.won_amount) == (2, D(13500))
    assert (total.lost_count, total.lost_amount) == (3, D(24000))
    # Win rate by count: 2 / 5 = 40.0 %.
    assert total.win_rate == D("40.0")
    reasons = [(r.name, r.count, r.amount) for r in result.lost_reasons]
    assert reasons == [
        ("Lost to a competitor", 1, D(14000)),
        ("Price too high", 1, D(9000)),
        ("No reason given", 1, D(1000)),
    ]
    owners = {
        line.name: (line.won_count, line.lost_count, line.win_rate) for line in result.by_owner
    }
    # Ann: 1 won, 1 lost -> 50 %. Ben: 1 won, 2 lost -> 33.3 %.
    assert owners == {"Ann Rep": (1, 1, D("50.0")), "Ben Rep": (1, 2, D("33.3"))}


def test_win_loss_page_in_both_languages(alpha, book):
    client = client_for(alpha, "mia@book.test")
    page = client.get("/reports/win-loss/?period=2030-Q1").content.decode()
    assert 'data-testid="win-rate">40.0 %' in page
    assert "Price too high" in page and 'data-testid="reason-chart"' in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    zh = client.get("/reports/win-loss/?period=2030-Q1")
    assert "价格太高" in zh.content.decode()


def test_drill_down_total_covers_every_page_and_resolves_the_scope_once(alpha, book, monkeypatch):
    from core_crm.forecast import views

    monkeypatch.setattr(views, "DRILL_DOWN_PAGE_SIZE", 1)
    resolved = []
    real = selectors.resolve_scope

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        resolved.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "resolve_scope", counting)
    client = client_for(alpha, "mia@book.test")
    # Team North's won deals in Q1: #1 (10,000) and #8 (500 USD = 3,500), one on each page.
    drill = client.get("/forecast/opportunities/?period=2030-Q1&scope=team&column=won")
    page = drill.content.decode()
    summary = page.split('data-testid="drill-summary"')[1].split("</p>")[0]
    assert "2 opportunities" in summary and "13,500.00 CNY" in summary
    assert "Deal 1" in page and "Deal 8" not in page  # the first page holds one row
    assert len(resolved) == 1
