# ruff: noqa: F811  (fixtures imported from other test folders are parameters here)
"""Global search (page, as-you-type box and API) finds opportunities, quotes and activities,
only those the person may read, and only in their own workspace."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.activities import services as activities
from core_crm.customers.models import Account

from ..api.conftest import rep_api  # noqa: F401
from ..quotes.conftest import catalogue, manager, other_rep, quote_with  # noqa: F401
from .factories import make_opportunity


def _records(owner, catalogue, word: str):  # type: ignore[no-untyped-def]
    account = Account.objects.create(name=f"{word} Holdings", owner=owner)
    opp = make_opportunity(owner, account=account, name=f"{word} conveyor line")
    quote = quote_with(owner, catalogue, opp=opp)
    quote.title = f"{word} conveyor offer"
    quote.save(update_fields=["title"])
    activity = activities.activity_create(
        actor=owner,
        channel="web",
        data={
            "kind": "call",
            "subject": f"Call about the {word} conveyor",
            "account": account,
            "start_at": timezone.now() - dt.timedelta(hours=1),
        },
    )
    return opp, quote, activity


def test_page_finds_own_deals_quotes_and_calls_but_not_another_teams(
    alpha,
    beta,
    rep,
    other_rep,
    rep_client,
    catalogue,
):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        opp, quote, activity = _records(rep, catalogue, "Jasmine")
        _records(other_rep, catalogue, "Jasmine")  # the same words, another team's records
    html = rep_client.get("/search/?q=conveyor").content.decode()
    assert html.count(f'href="/opportunities/{opp.pk}/"') == 1
    assert html.count(f'href="/quotes/{quote.pk}/"') == 1
    assert html.count(f'href="/activities/{activity.pk}/"') == 1
    assert html.count("conveyor line") == 1
    assert html.count("conveyor offer") == 1
    assert html.count("Call about the Jasmine conveyor") == 1
    # As you type: the header's box asks with HX-Request and gets the short list.
    short = rep_client.get("/search/?q=CONVEYOR", HTTP_HX_REQUEST="true").content.decode()
    assert "Jasmine conveyor line" in short and quote.number in short


def test_api_search_returns_sales_records_through_record_security(
    alpha,
    beta,
    rep,
    other_rep,
    rep_api,
    catalogue,
):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        opp, quote, activity = _records(rep, catalogue, "Oolong")
        _records(other_rep, catalogue, "Oolong")
    with tenant_context(beta):
        from core_crm.users.models import User

        beta_owner = User.objects.earliest("pk")
        Account.objects.create(name="Oolong beta", owner=beta_owner)
        make_opportunity(beta_owner, name="Oolong beta conveyor")
    _user, api = rep_api
    body = api.get("/api/v1/search/", q="oolong").json()
    assert [row["id"] for row in body["opportunity"]] == [opp.pk]
    assert [row["id"] for row in body["quote"]] == [quote.pk]
    assert [row["id"] for row in body["activity"]] == [activity.pk]
    assert "Oolong beta conveyor" not in str(body)


def test_search_costs_the_same_queries_for_few_or_many_matches(
    alpha,
    rep,
    rep_client,
    catalogue,
):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        _records(rep, catalogue, "Pu-erh")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get("/search/?q=pu-erh").status_code == 200
        return len(ctx.captured_queries)

    count()
    few = count()
    with tenant_context(alpha):
        for _ in range(6):
            _records(rep, catalogue, "Pu-erh")
    assert count() == few
