"""Team scope: a sales manager reads their own team's records, never another team's.

Team East is manager Mei (sales manager, team scope) and rep Ren; team West is rep Wu. Each
side has an opportunity, a quote and an activity. Mei must see East's records and none of
West's on every list, page, feed and API, with counts and totals that leave West's out; an id
of West's answers exactly like an id that does not exist.

 owner  opportunity         stage        category  amount     close date
 Ren    East kiln deal      negotiation  commit    1,000 CNY  2030-02-10
 Mei    East pump deal      negotiation  commit      500 CNY  2030-03-01
 Wu     West boiler deal    negotiation  commit    7,000 CNY  2030-02-20
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from icalendar import Calendar

from core_crm.access.models import Team
from core_crm.activities import feeds
from core_crm.activities.models import Activity
from core_crm.customers.models import Account
from core_crm.quotes.models import Quote
from core_crm.sales.models import Opportunity
from core_crm.users.models import User

from ..activities.conftest import later, make_meeting
from ..api.test_api import Api, make_user
from ..conftest import host_client
from ..customfields.helpers import client_for, user_with_role
from ..quotes.conftest import Catalogue, make_catalogue, quote_with
from .factories import make_opportunity, stage
from .test_opportunity_pages import unmasked

MISSING = 999_999
PERIOD = "2030-Q1"


@dataclass
class Teams:
    mei: User  # sales manager of East
    ren: User  # rep of East
    wu: User  # rep of West
    east: Team
    west: Team


@dataclass
class Book:
    east_opp: Opportunity
    mei_opp: Opportunity
    west_opp: Opportunity
    east_quote: Quote
    west_quote: Quote
    east_visit: Activity
    west_visit: Activity


def _named(user: User, name: str) -> User:
    user.full_name = name
    user.save(update_fields=["full_name"])
    return user


@pytest.fixture
def teams(alpha) -> Teams:  # type: ignore[no-untyped-def]
    mei = user_with_role(alpha, "mei.east@alpha.test", "sales_manager")
    ren = user_with_role(alpha, "ren.east@alpha.test", "sales_rep")
    wu = user_with_role(alpha, "wu.west@alpha.test", "sales_rep")
    with tenant_context(alpha):
        east = Team.objects.create(name="Team East")
        west = Team.objects.create(name="Team West")
        east.members.add(mei, ren)
        west.members.add(wu)
        return Teams(
            _named(mei, "Mei East"), _named(ren, "Ren East"), _named(wu, "Wu West"), east, west
        )


@pytest.fixture
def catalogue(alpha, admin) -> Catalogue:  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        return make_catalogue(admin)


@pytest.fixture
def book(alpha, teams, catalogue) -> Book:  # type: ignore[no-untyped-def]
    with tenant_context(alpha):

        def deal(owner: User, name: str, amount: int, close: dt.date) -> Opportunity:
            return make_opportunity(
                owner,
                name=name,
                amount=amount,
                currency="CNY",
                stage_key="negotiation",
                forecast_category="commit",
                close_date=close,
            )

        east_opp = deal(teams.ren, "East kiln deal", 1000, dt.date(2030, 2, 10))
        mei_opp = deal(teams.mei, "East pump deal", 500, dt.date(2030, 3, 1))
        west_opp = deal(teams.wu, "West boiler deal", 7000, dt.date(2030, 2, 20))
        return Book(
            east_opp=east_opp,
            mei_opp=mei_opp,
            west_opp=west_opp,
            east_quote=quote_with(teams.ren, catalogue, opp=east_opp),
            west_quote=quote_with(teams.wu, catalogue, opp=west_opp, quantity="3"),
            east_visit=make_meeting(
                teams.ren, east_opp.account, "East kiln visit", start_at=later(3)
            ),
            west_visit=make_meeting(
                teams.wu, west_opp.account, "West boiler visit", start_at=later(4)
            ),
        )


@pytest.fixture
def mei_client(alpha, teams):  # type: ignore[no-untyped-def]
    return client_for(alpha, teams.mei.email)


@pytest.fixture
def mei_api(alpha, teams) -> Api:  # type: ignore[no-untyped-def]
    _user, token = make_user(alpha, teams.mei.email, "sales_manager")
    return Api("alpha.localhost", token)


def _same_as_missing(client: Any, url: str, missing_url: str) -> None:
    """A forbidden id's answer is a 404 that cannot be told from a missing id's."""
    forbidden, missing = client.get(url), client.get(missing_url)
    assert forbidden.status_code == missing.status_code == 404
    assert unmasked(forbidden.content.decode()) == unmasked(missing.content.decode())


def _no_west(page: str, teams: Teams) -> None:
    for text in ("West boiler", "Wu West", "Team West"):
        assert text not in page


# --- Opportunities -----------------------------------------------------------------------------


def test_list_shows_the_teams_deals_with_totals_without_west(book, teams, mei_client):  # type: ignore[no-untyped-def]
    page = mei_client.get("/opportunities/").content.decode()
    assert "East kiln deal" in page and "East pump deal" in page
    _no_west(page, teams)
    totals = re.sub(r"\s+", " ", page.split('data-testid="list-totals"')[1].split("</p>")[0])
    assert "2 opportunities" in totals and "1,500.00 CNY" in totals
    # Asking for West's owner or team by id gives nothing, not West's deals.
    for query in (f"owner={teams.wu.pk}", f"team={teams.west.pk}"):
        filtered = mei_client.get(f"/opportunities/?{query}").content.decode()
        _no_west(filtered, teams)
        assert "0 opportunities" in filtered


def test_another_teams_deal_is_a_404_like_a_missing_one(book, mei_client):  # type: ignore[no-untyped-def]
    assert mei_client.get(f"/opportunities/{book.east_opp.pk}/").status_code == 200
    for suffix in ("", "edit/", "products/", "quotes/new/"):
        _same_as_missing(
            mei_client,
            f"/opportunities/{book.west_opp.pk}/{suffix}",
            f"/opportunities/{MISSING}/{suffix}",
        )
    refused = mei_client.post(
        f"/opportunities/{book.west_opp.pk}/move/", {"stage": stage("proposal").pk}
    )
    assert refused.status_code == 404


def test_board_and_its_columns_leave_west_out(alpha, book, teams, mei_client):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        negotiation = stage("negotiation")
    board = mei_client.get("/opportunities/board/").content.decode()
    _no_west(board, teams)
    column = board.split('data-testid="column-negotiation"')[1].split("</header>")[0]
    assert re.search(r'data-figure="count">2<', column)
    assert re.search(r'data-figure="total">1,500\.00<', column)
    # 75 % of 1,500
    assert re.search(r'data-figure="weighted">1,125\.00<', column)
    totals = board.split('data-testid="board-totals"')[1].split("</p>")[0]
    assert "1,500.00" in totals and "8,500.00" not in totals
    cards = mei_client.get(f"/opportunities/board/column/{negotiation.pk}/").content.decode()
    assert cards.count('class="card ') == 2
    assert "East kiln deal" in cards and "East pump deal" in cards
    _no_west(cards, teams)


def test_api_lists_and_reads_only_the_teams_deals(book, mei_api):  # type: ignore[no-untyped-def]
    listed = mei_api.get("/api/v1/opportunities/").json()["results"]
    assert sorted(o["name"] for o in listed) == ["East kiln deal", "East pump deal"]
    assert mei_api.get(f"/api/v1/opportunities/{book.east_opp.pk}/").status_code == 200
    west = mei_api.get(f"/api/v1/opportunities/{book.west_opp.pk}/")
    missing = mei_api.get(f"/api/v1/opportunities/{MISSING}/")
    assert west.status_code == missing.status_code == 404
    assert west.json() == missing.json()
    assert mei_api.get(f"/api/v1/opportunities/{book.west_opp.pk}/history/").status_code == 404


# --- Quotes ------------------------------------------------------------------------------------


def test_quote_list_and_detail_leave_west_out(book, teams, mei_client):  # type: ignore[no-untyped-def]
    page = mei_client.get("/quotes/").content.decode()
    assert book.east_quote.number in page
    assert book.west_quote.number not in page
    _no_west(page, teams)
    assert mei_client.get(f"/quotes/{book.east_quote.pk}/").status_code == 200
    for suffix in ("", "edit/", "send/", "versions/1/print/"):
        _same_as_missing(
            mei_client, f"/quotes/{book.west_quote.pk}/{suffix}", f"/quotes/{MISSING}/{suffix}"
        )


def test_quote_api_lists_and_reads_only_the_teams(book, mei_api):  # type: ignore[no-untyped-def]
    listed = mei_api.get("/api/v1/quotes/").json()["results"]
    assert [q["number"] for q in listed] == [book.east_quote.number]
    assert mei_api.get(f"/api/v1/quotes/{book.east_quote.pk}/").status_code == 200
    west = mei_api.get(f"/api/v1/quotes/{book.west_quote.pk}/")
    missing = mei_api.get(f"/api/v1/quotes/{MISSING}/")
    assert west.status_code == missing.status_code == 404
    assert west.json() == missing.json()


def test_send_page_names_an_unreadable_overlapping_quote_without_its_figures(
    alpha,
    admin_client,
    teams,
    catalogue,
    mei_client,
):  # type: ignore[no-untyped-def]
    """Another team's open quote for the same products on the same account: the warning says
    it exists (number, owner, status) but shows neither its amounts nor its lines."""
    with tenant_context(alpha):
        harbour = Account.objects.create(name="Harbour Pumps Co", owner=teams.ren)
        east_opp = make_opportunity(teams.ren, account=harbour, name="Harbour east", currency="CNY")
        west_opp = make_opportunity(teams.wu, account=harbour, name="Harbour west", currency="CNY")
        mine = quote_with(teams.ren, catalogue, opp=east_opp, quantity="1")
        theirs = quote_with(teams.wu, catalogue, opp=west_opp, quantity="3", discount="5")
        theirs.title = "Wu's secret offer"
        theirs.save(update_fields=["title"])
        line = theirs.lines.get()
    secrets = [
        f"{theirs.grand_total:,.2f}",
        f"{theirs.subtotal:,.2f}",
        f"{line.net:,.2f}",
        "Wu&#x27;s secret offer",
        "Wu's secret offer",
        f'href="/quotes/{theirs.pk}/"',
    ]

    page = mei_client.get(f"/quotes/{mine.pk}/send/").content.decode()

    rows = re.findall(r'data-testid="other-quote">(.*?)</li>', page, re.S)
    assert len(rows) == 1
    row = re.sub(r"\s+", " ", rows[0])
    assert theirs.number in row and "Wu West" in row and "Draft" in row
    assert not re.search(r"\d,\d{3}\.\d\d|\d\.\d\d", row), row  # no amount at all
    for secret in secrets:
        assert secret not in page
    # Someone who may read it gets the full row: the figures above are really its figures.
    full = admin_client.get(f"/quotes/{mine.pk}/send/").content.decode()
    assert f"{theirs.grand_total:,.2f}" in full and f'href="/quotes/{theirs.pk}/"' in full


# --- Activities, calendar and the ICS link -----------------------------------------------------


def _range() -> dict[str, str]:
    now = timezone.now()
    return {
        "start": (now - dt.timedelta(days=1)).isoformat(),
        "end": (now + dt.timedelta(days=7)).isoformat(),
    }


def test_activity_list_and_detail_leave_west_out(book, teams, mei_client):  # type: ignore[no-untyped-def]
    page = mei_client.get("/activities/", {"show": "open"}).content.decode()
    assert "East kiln visit" in page
    assert "West boiler visit" not in page
    _no_west(page, teams)
    assert mei_client.get(f"/activities/{book.east_visit.pk}/").status_code == 200
    for suffix in ("", "edit/"):
        _same_as_missing(
            mei_client,
            f"/activities/{book.west_visit.pk}/{suffix}",
            f"/activities/{MISSING}/{suffix}",
        )


def test_calendar_team_feed_shows_east_and_not_west(book, mei_client):  # type: ignore[no-untyped-def]
    events = mei_client.get("/calendar/events/", {**_range(), "scope": "team"}).json()
    titles = sorted(e["title"] for e in events)
    assert titles == ["East kiln visit"]
    assert {e["extendedProps"]["owner"] for e in events} == {"Ren East"}
    mine = mei_client.get("/calendar/events/", _range()).json()
    assert mine == []  # Mei neither owns nor takes part in either visit


def test_ics_feed_of_the_manager_has_only_her_own_activities(alpha, book, teams):  # type: ignore[no-untyped-def]
    """The phone calendar link is the person's own calendar: her team's visits (which she may
    read on the calendar page) stay out of it, and another team's too."""
    with tenant_context(alpha):
        make_meeting(teams.mei, book.east_visit.account, "Mei pipeline review", start_at=later(5))
        token = feeds.feed_reset(teams.mei)
    response = host_client("alpha.localhost").get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200
    summaries = [str(e["summary"]) for e in Calendar.from_ical(response.content).walk("VEVENT")]
    assert summaries == ["Meeting: Mei pipeline review"]
    assert b"East kiln visit" not in response.content and b"West boiler" not in response.content


def test_activity_api_lists_and_reads_only_the_teams(book, mei_api):  # type: ignore[no-untyped-def]
    listed = mei_api.get("/api/v1/activities/").json()["results"]
    assert [a["subject"] for a in listed] == ["East kiln visit"]
    assert mei_api.get(f"/api/v1/activities/{book.east_visit.pk}/").status_code == 200
    west = mei_api.get(f"/api/v1/activities/{book.west_visit.pk}/")
    missing = mei_api.get(f"/api/v1/activities/{MISSING}/")
    assert west.status_code == missing.status_code == 404
    assert west.json() == missing.json()


# --- Search ------------------------------------------------------------------------------------


def test_search_finds_easts_records_and_none_of_wests(book, teams, mei_client, mei_api):  # type: ignore[no-untyped-def]
    """Accounts are searched (each deal here has its own account, named after it); when
    opportunities are searched too, the same rule holds for them."""
    east = mei_client.get("/search/", {"q": "kiln"}).content.decode()
    assert "East kiln deal account" in east
    west = mei_client.get("/search/", {"q": "boiler"}).content.decode()
    _no_west(west, teams)

    found = mei_api.get("/api/v1/search/", q="kiln").json()
    assert [a["name"] for a in found["account"]] == ["East kiln deal account"]
    none = mei_api.get("/api/v1/search/", q="boiler").json()
    assert all(results == [] for results in none.values()), none
    if "opportunity" in found:
        assert [o["name"] for o in found["opportunity"]] == ["East kiln deal"]


# --- Forecast ----------------------------------------------------------------------------------


def _cells(row_html: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="cell-(\w+)">([^<]*)<', row_html))


def test_forecast_for_team_east_leaves_wests_figures_out(book, teams, mei_client):  # type: ignore[no-untyped-def]
    page = mei_client.get("/forecast/", {"period": PERIOD, "scope": "team"}).content.decode()
    _no_west(page, teams)
    total = page.split('data-testid="total-row"')[1].split("</tr>")[0]
    assert _cells(total)["commit"] == "1,500.00"
    team_row = page.split('data-testid="team-row" data-name="Team East"')[1].split("</tr>")[0]
    assert _cells(team_row)["commit"] == "1,500.00"
    people = re.findall(r'data-testid="rep-row" data-name="([^"]+)"', page)
    assert sorted(people) == ["Mei East", "Ren East"]
    # West's team is not a scope Mei may pick: refused, and West's figures stay out.
    refused = mei_client.get("/forecast/", {"period": PERIOD, "scope": f"team:{teams.west.pk}"})
    assert refused.status_code == 400
    assert "7,000.00" not in refused.content.decode()
    _no_west(refused.content.decode(), teams)


def test_forecast_api_for_team_east_leaves_wests_figures_out(book, teams, mei_api):  # type: ignore[no-untyped-def]
    body = mei_api.get("/api/v1/forecast/", period=PERIOD, scope="team").json()
    assert body["total"]["commit"] == "1500.00"
    assert sorted(p["name"] for p in body["people"]) == ["Mei East", "Ren East"]
    assert [(t["name"], t["commit"]) for t in body["teams"]] == [("Team East", "1500.00")]
    drill = mei_api.get(
        "/api/v1/forecast/opportunities/", period=PERIOD, scope="team", column="commit"
    ).json()
    assert sorted(o["name"] for o in drill["results"]) == ["East kiln deal", "East pump deal"]
    assert (
        mei_api.get("/api/v1/forecast/", period=PERIOD, scope=f"team:{teams.west.pk}").status_code
        == 400
    )


def test_forecast_drill_down_shows_easts_deals_and_wests_ids_reveal_nothing(
    book,
    teams,
    mei_client,
):  # type: ignore[no-untyped-def]
    base = {"period": PERIOD, "scope": "team", "column": "commit"}
    rows = mei_client.get("/forecast/opportunities/", base).content.decode()
    assert rows.count('data-testid="drill-row"') == 2
    assert "East kiln deal" in rows and "East pump deal" in rows
    _no_west(rows, teams)
    for key, west_id in (("owner", teams.wu.pk), ("team", teams.west.pk)):
        west = mei_client.get("/forecast/opportunities/", {**base, key: west_id})
        missing = mei_client.get("/forecast/opportunities/", {**base, key: MISSING})
        _no_west(west.content.decode(), teams)
        assert unmasked(west.content.decode()) == unmasked(missing.content.decode())
    east = mei_client.get("/forecast/opportunities/", {**base, "team": teams.east.pk})
    assert "Team East" in east.content.decode()
    assert east.content.decode().count('data-testid="drill-row"') == 2
