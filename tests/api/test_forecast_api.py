"""/api/v1/ quotas, forecast and reports: the same figures as the pages' selectors, quotas
set by managers only, named errors, record security and workspace isolation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django_tenants.utils import tenant_context

from core_crm.forecast import selectors
from core_crm.forecast.models import Quota
from core_crm.forecast.periods import parse_period
from core_crm.users.models import User

from ..forecast import conftest as forecast_fixtures
from .test_api import Api, make_user

book = forecast_fixtures.book  # the forecast tests' sales book in the first quarter of 2030

Q1 = parse_period("2030-Q1")
COLUMNS = ("quota", "won", "commit", "best_case", "pipeline", "attainment")


def api_of(tenant, email: str, role: str | None) -> Api:
    _user, token = make_user(tenant, email, role)
    return Api(f"{tenant.schema_name}.localhost", token)


def as_api(figures) -> dict:
    """Selector figures as the API writes them: decimals as strings, None as null."""
    out = {}
    for name in COLUMNS:
        value = getattr(figures, name)
        out[name] = None if value is None else str(value)
    return out


def api_figures(row: dict) -> dict:
    return {name: row[name] for name in COLUMNS}


def test_forecast_figures_equal_the_pages_selector(alpha, book):
    mia = api_of(alpha, "mia@book.test", "sales_manager")
    response = mia.get("/api/v1/forecast/", period="2030-Q1", scope="team")
    assert response.status_code == 200, response.content
    body = response.json()
    with tenant_context(alpha):
        expected = selectors.forecast(book["mia"], Q1, "team")
    assert body["period"] == {
        "key": "2030-Q1",
        "label": "Q1 2030",
        "kind": "quarter",
        "start": "2030-01-01",
        "last_day": "2030-03-31",
    }
    assert body["scope"] == "team" and body["currency"] == "CNY"
    people = {row["name"]: api_figures(row) for row in body["people"]}
    assert people == {row.name: as_api(row.figures) for row in expected.people}
    teams = {row["name"]: api_figures(row) for row in body["teams"]}
    assert teams == {row.name: as_api(row.figures) for row in expected.teams}
    assert body["total"] == as_api(expected.total)
    # And the hand computation of the forecast tests: Ann 40,000 quota, 10,000 won, ...
    assert people["Ann Rep"] == {
        "quota": "40000.00",
        "won": "10000.00",
        "commit": "7000.00",
        "best_case": "12000.00",
        "pipeline": "2000.00",
        "attainment": "25.0",
    }
    assert people["Mia Manager"]["quota"] is None and people["Mia Manager"]["attainment"] is None
    assert [s["key"] for s in body["scopes"]][:2] == ["me", "team"]
    assert "Cai Rep" not in people

    drill = mia.get(
        "/api/v1/forecast/opportunities/",
        period="2030-Q1",
        scope="team",
        column="best_case",
        team=book["north"].pk,
    ).json()["results"]
    assert [o["name"] for o in drill] == ["Deal 9", "Deal 2", "Deal 3"]  # by close date


def test_a_rep_sees_only_their_own_forecast_and_bad_input_is_named(alpha, book):
    ann = api_of(alpha, "ann@book.test", "sales_rep")
    mine = ann.get("/api/v1/forecast/", period="2030-Q1").json()
    assert [row["name"] for row in mine["people"]] == ["Ann Rep"] and mine["scope"] == "me"
    for scope in ("team", "all", f"team:{book['north'].pk}"):
        refused = ann.get("/api/v1/forecast/", period="2030-Q1", scope=scope)
        assert refused.status_code == 400 and "scope" in refused.json(), scope
    bad = ann.get("/api/v1/forecast/", period="someday")
    assert bad.status_code == 400 and "period" in bad.json()
    drill = ann.get("/api/v1/forecast/opportunities/", period="2030-Q1", column="everything")
    assert drill.status_code == 400 and "column" in drill.json()
    assert ann.get("/api/v1/reports/pipeline/", owner="me").status_code == 400
    # Even naming another rep, a rep's drill-down only holds what they may read.
    theirs = ann.get(
        "/api/v1/forecast/opportunities/", period="2030-Q1", column="won", owner=book["ben"].pk
    ).json()["results"]
    assert theirs == []

    nobody = api_of(alpha, "no.role@alpha.test", None)
    for path in ("/api/v1/forecast/", "/api/v1/reports/pipeline/", "/api/v1/reports/win-loss/"):
        response = nobody.get(path)
        assert response.status_code == 403 and "opportunities" in response.json()["detail"]


def test_quota_set_by_a_manager_and_refused_for_a_rep(alpha, book):
    mia = api_of(alpha, "mia@book.test", "sales_manager")
    ann = api_of(alpha, "ann@book.test", "sales_rep")
    ann_id, ben_id = book["ann"].pk, book["ben"].pk

    made = mia.post("/api/v1/quotas/", {"user": ann_id, "period": "2030-Q2", "amount": "45000"})
    assert made.status_code == 201, made.content
    quota = made.json()
    assert (quota["period"], quota["period_kind"], quota["period_start"], quota["amount"]) == (
        "2030-Q2",
        "quarter",
        "2030-04-01",
        "45000.00",
    )
    changed = mia.post("/api/v1/quotas/", {"user": ann_id, "period": "2030-Q2", "amount": 50000})
    assert changed.status_code == 200 and changed.json()["id"] == quota["id"]
    team = mia.post(
        "/api/v1/quotas/", {"team": book["north"].pk, "period": "2030-04", "amount": "20000"}
    )
    assert team.status_code == 201 and team.json()["team_name"] == "North"

    refused = ann.post("/api/v1/quotas/", {"user": ben_id, "period": "2030-Q2", "amount": "1"})
    assert refused.status_code == 403 and "managers" in refused.json()["detail"]
    own = ann.post("/api/v1/quotas/", {"user": ann_id, "period": "2030-Q2", "amount": "1"})
    assert own.status_code == 403
    # Not her team: Cai is in South.
    other_team = mia.post(
        "/api/v1/quotas/", {"user": book["cai"].pk, "period": "2030-Q2", "amount": "1"}
    )
    # Answered like an id that does not exist, so it tells her nothing about Cai.
    assert other_team.status_code == 400
    assert other_team.json() == {"user": ["There is no such person in this workspace."]}

    negative = mia.post("/api/v1/quotas/", {"user": ann_id, "period": "2030-Q2", "amount": "-5"})
    assert negative.status_code == 400 and "amount" in negative.json()
    bad_period = mia.post("/api/v1/quotas/", {"user": ann_id, "period": "Q9", "amount": "5"})
    assert bad_period.status_code == 400 and "period" in bad_period.json()
    both = mia.post(
        "/api/v1/quotas/",
        {"user": ann_id, "team": book["north"].pk, "period": "2030-Q2", "amount": "5"},
    )
    assert both.status_code == 400 and "user" in both.json()
    nobody = mia.post("/api/v1/quotas/", {"user": 99999999, "period": "2030-Q2", "amount": "5"})
    assert nobody.status_code == 400 and "user" in nobody.json()

    # The quota now counts in the forecast.
    q2 = mia.get("/api/v1/forecast/", period="2030-Q2", scope="team").json()
    assert next(r for r in q2["people"] if r["id"] == ann_id)["quota"] == "50000.00"

    # Ann reads her own quotas, not Ben's; Mia reads her team's.
    ann_sees = {(q["user"], q["period"]) for q in ann.get("/api/v1/quotas/").json()["results"]}
    assert (ann_id, "2030-Q2") in ann_sees and all(user != ben_id for user, _ in ann_sees)
    mia_sees = mia.get("/api/v1/quotas/", user=ben_id, year=2030).json()["results"]
    assert sorted(q["period"] for q in mia_sees) == ["2030-01", "2030-02", "2030-03"]
    assert ann.delete(f"/api/v1/quotas/{quota['id']}/").status_code == 403
    removed = mia.post("/api/v1/quotas/", {"user": ann_id, "period": "2030-Q2", "amount": None})
    assert removed.status_code == 204
    with tenant_context(alpha):
        assert not Quota.objects.filter(pk=quota["id"]).exists()
        assert not Quota.objects.filter(user_id=ben_id, period_kind="quarter").exists()


def test_bulk_quotas_are_all_or_nothing(alpha, book):
    mia = api_of(alpha, "mia@book.test", "sales_manager")
    rows = [
        {"user": book["ann"].pk, "period": "2030-07", "amount": "1000"},
        {"user": book["cai"].pk, "period": "2030-07", "amount": "1000"},  # not her team
        {"user": book["ben"].pk, "period": "2030-07", "amount": "x"},
    ]
    typed = mia.post("/api/v1/quotas/bulk/", rows)
    assert typed.status_code == 400 and set(typed.json()["rows"]) == {"2"}
    rows[2]["amount"] = "2000"
    refused = mia.post("/api/v1/quotas/bulk/", rows)
    assert refused.status_code == 400 and set(refused.json()["rows"]) == {"1"}
    with tenant_context(alpha):
        assert not Quota.objects.filter(period_start=dt.date(2030, 7, 1)).exists()
    saved = mia.post("/api/v1/quotas/bulk/", [rows[0], rows[2]])
    assert saved.status_code == 200 and saved.json() == {"changed": 2}


def test_reports_equal_the_pages_selectors(alpha, book):
    mia = api_of(alpha, "mia@book.test", "sales_manager")
    with tenant_context(alpha):
        blocks = selectors.pipeline_report(book["mia"], period=Q1)
        win_loss = selectors.win_loss(book["mia"], Q1)
    pipeline = mia.get("/api/v1/reports/pipeline/", period="2030-Q1").json()
    assert pipeline["currency"] == "CNY" and pipeline["period"]["key"] == "2030-Q1"
    got = {
        (b["pipeline"], s["stage"]): (s["count"], s["total"], s["weighted"])
        for b in pipeline["pipelines"]
        for s in b["stages"]
    }
    want = {
        (b.pipeline_id, s.stage.pk): (s.count, str(s.total), str(s.weighted))
        for b in blocks
        for s in b.stages
    }
    assert got == want
    assert pipeline["pipelines"][0]["open_total"] == str(blocks[0].open_total)
    everything = mia.get("/api/v1/reports/pipeline/").json()
    assert everything["period"] is None

    report = mia.get("/api/v1/reports/win-loss/", period="2030-Q1").json()
    total = report["total"]
    assert (total["won_count"], total["won_amount"], total["lost_count"]) == (
        win_loss.total.won_count,
        str(win_loss.total.won_amount),
        win_loss.total.lost_count,
    )
    assert total["win_rate"] == str(win_loss.total.win_rate)
    assert [(r["owner"], r["won_amount"]) for r in report["by_owner"]] == [
        (line.key, str(line.won_amount)) for line in win_loss.by_owner
    ]
    assert [(r["name"], r["count"]) for r in report["lost_reasons"]] == [
        (line.name, line.count) for line in win_loss.lost_reasons
    ]
    assert {r["name"] for r in report["by_owner"]} <= {"Ann Rep", "Ben Rep", "Mia Manager"}


def test_another_workspace_sees_nothing_of_alphas_forecast(alpha, beta, book, beta_api):
    _admin, other = beta_api
    with tenant_context(alpha):
        quota = Quota.objects.filter(user=book["ann"]).first()
    with tenant_context(beta):
        assert not Quota.objects.filter(pk=quota.pk).exists()
        assert not User.objects.filter(email="ann@book.test").exists()
    assert other.get(f"/api/v1/quotas/{quota.pk}/").status_code == 404
    assert other.delete(f"/api/v1/quotas/{quota.pk}/").status_code == 404
    everyone = other.get("/api/v1/forecast/", period="2030-Q1", scope="all").json()
    assert everyone["total"]["won"] == "0.00"
    assert "Ann Rep" not in {row["name"] for row in everyone["people"]}
    won = other.get(
        "/api/v1/forecast/opportunities/", period="2030-Q1", scope="all", column="won"
    ).json()
    assert won["results"] == []
    assert other.get("/api/v1/reports/win-loss/", period="2030-Q1").json()["total"][
        "won_amount"
    ] == str(Decimal("0.00"))


def test_the_schema_documents_the_forecast_endpoints(alpha, rep_api):
    _rep, api = rep_api
    document = api.get("/api/schema/", format="json").json()
    for path in (
        "/api/v1/quotas/",
        "/api/v1/quotas/{id}/",
        "/api/v1/quotas/bulk/",
        "/api/v1/forecast/",
        "/api/v1/forecast/opportunities/",
        "/api/v1/reports/pipeline/",
        "/api/v1/reports/win-loss/",
    ):
        assert path in document["paths"], path
    row = document["components"]["schemas"]["ForecastRow"]["properties"]
    assert {"quota", "won", "commit", "best_case", "pipeline", "attainment"} <= set(row)
