"""Workspace isolation of the sales side: every page and API URL that names a row by id.

Each case is run twice, always as alpha's workspace admin (who may read everything in alpha, so
a 404 can only mean "not in this workspace"):

* beta only: the id belongs to a row that exists in beta and not in alpha. Alpha answers
  exactly as it did before beta's row existed (404 for an id in the path), shows none of it,
  and nothing changes in either workspace, whatever the method.
* shared id: both workspaces have a row with that id (beta's carry the marker `XBETAX`).
  Alpha's answer is about alpha's row, never beta's, and a write changes nothing in beta.

The ids are explicit (`BETA_ONLY`, `SHARED`) and far above what the sequences hand out, so the
cases are deterministic. `test_every_id_route_has_a_case` keeps the list complete as routes
are added to the apps' urls.py and api_urls.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.access.models import RecordShare, Role, Team
from core_crm.activities.models import Activity, CalendarFeed, FollowUpPlan
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, PicklistValue
from core_crm.forecast.models import Quota
from core_crm.notifications.models import Notification
from core_crm.quotes import services as quote_services
from core_crm.quotes.models import (
    OpportunityLineItem,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    QuoteVersion,
)
from core_crm.sales.models import (
    Competitor,
    Currency,
    Opportunity,
    OpportunityContact,
    OpportunityTeamMember,
    Pipeline,
    Stage,
    StageChange,
)
from core_crm.users.models import User
from guanxi.tokens import token_hash

from .api.conftest import admin_api, beta_api  # noqa: F401
from .conftest import BETA, host_client, sign_in
from .sales.factories import make_opportunity

BETA_ONLY = 910_001
SHARED = 920_001
MISSING = 999_001
ALPHA_LABEL = "Alfaside"
MARKER = "XBETAX"  # in every name of beta's rows
PERIOD = "2030-Q1"
CLOSE = dt.date(2030, 2, 15)


# --- The rows ----------------------------------------------------------------------------------


@dataclass
class World:
    """One workspace's rows for the sweep, all with primary key `pk` (stages pk … pk+3)."""

    pk: int
    label: str
    texts: dict[str, str] = field(default_factory=dict)


def feed_token(pk: int) -> str:
    return f"calendar-feed-token-{pk}-0123456789abcdef"


def build(tenant: Any, pk: int, label: str) -> World:
    """Every kind of row the sales URLs name, with primary key `pk`, in `tenant`. Rows of
    another workspace with the same key are its own business."""
    world = World(pk, label)
    with tenant_context(tenant):
        admin = User.objects.get(pk=1)
        user = User.objects.create_user(
            email=f"{label.lower()}.{pk}@world.test",
            password="x" * 12,
            full_name=f"{label} Rep",
            role=Role.objects.get(key="sales_rep"),
            pk=pk,
        )
        team = Team.objects.create(pk=pk, name=f"{label} team")
        team.members.add(user)
        account = Account.objects.create(pk=pk, name=f"{label} account", owner=admin)
        contact = Contact.objects.create(
            pk=pk, last_name=f"{label} contact", account=account, owner=admin
        )
        pipeline = Pipeline.objects.create(
            pk=pk, key=f"world-{pk}", name=f"{label} pipeline", position=99
        )
        stages = [
            ("qualify", f"{label} stage", 10, Stage.Outcome.OPEN, 1),
            ("won", f"{label} won", 100, Stage.Outcome.WON, 3),
            ("lost", f"{label} lost", 0, Stage.Outcome.LOST, 4),
            ("propose", f"{label} spare stage", 50, Stage.Outcome.OPEN, 2),
        ]
        for offset, (key, name, probability, outcome, position) in enumerate(stages):
            Stage.objects.create(
                pk=pk + offset,
                pipeline=pipeline,
                key=key,
                name=name,
                probability=probability,
                outcome=outcome,
                position=position,
            )
        opp = make_opportunity(
            user,
            account=account,
            name=f"{label} deal",
            amount=4321,
            currency="CNY",
            stage_key="qualify",
            pipeline_key=pipeline.key,
            close_date=CLOSE,
            forecast_category="commit",
            id=pk,
        )
        role = PicklistValue.objects.filter(picklist="contact_role", is_active=True).first()
        assert role is not None, "the workspace seeds contact roles"
        OpportunityContact.objects.create(pk=pk, opportunity=opp, contact=contact, role=role)
        OpportunityTeamMember.objects.create(pk=pk, opportunity=opp, user=admin, role="sales")
        Competitor.objects.create(pk=pk, opportunity=opp, name=f"{label} rival")
        currency = Currency.objects.create(
            pk=pk, code="ZZB" if label == MARKER else "ZZA", rate_to_base=Decimal("1.5")
        )
        category = ProductCategory.objects.create(pk=pk, name=f"{label} category")
        product = Product.objects.create(
            pk=pk, code=f"{label}-P{pk}", name=f"{label} product", category=category
        )
        book = PriceBook.objects.create(pk=pk, name=f"{label} book", currency="CNY")
        PriceBookEntry.objects.create(
            pk=pk, price_book=book, product=product, unit_price=Decimal("100")
        )
        OpportunityLineItem.objects.create(
            pk=pk,
            opportunity=opp,
            price_book=book,
            product=product,
            quantity=1,
            list_price=Decimal("100"),
            net=Decimal("100"),
            position=1,
        )
        quote = Quote.objects.create(
            pk=pk,
            owner=user,
            number=f"{label}-{pk}",
            title=f"{label} quote",
            opportunity=opp,
            account=account,
            price_book=book,
            currency="CNY",
            tax_rate=Decimal("13"),
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            subtotal=Decimal("100"),
            tax_total=Decimal("13"),
            grand_total=Decimal("113"),
        )
        QuoteLine.objects.create(
            pk=pk,
            quote=quote,
            product=product,
            description=f"{label} line",
            quantity=1,
            list_price=Decimal("100"),
            net=Decimal("100"),
            position=1,
        )
        snapshot = quote_services.quote_snapshot(quote)
        snapshot.update(version=1, sent_at=timezone.now().isoformat(), sent_by=str(admin))
        QuoteVersion.objects.create(pk=pk, quote=quote, number=1, snapshot=snapshot, sent_by=admin)
        start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
        Activity.objects.create(
            pk=pk,
            owner=admin,
            kind="meeting",
            subject=f"{label} meeting",
            start_at=start,
            end_at=start + dt.timedelta(hours=1),
            account=account,
            opportunity=opp,
            created_by=admin,
        )
        plan = FollowUpPlan.objects.create(
            pk=pk, name=f"{label} plan", kind="visit", account=account
        )
        Notification.objects.create(
            pk=pk,
            user=admin,
            kind="assigned",
            title=f"{label} note",
            url=f"/opportunities/{pk}/?from={label}",
        )
        CalendarFeed.objects.update_or_create(
            user=admin, defaults={"token_hash": token_hash(feed_token(pk))}
        )
        quarter = dt.date(2030, 1, 1)
        amount = 99_999 if label == MARKER else 11_111
        Quota.objects.create(
            pk=pk, user=user, period_kind="quarter", period_start=quarter, amount=amount
        )
        Quota.objects.create(
            pk=pk + 1, team=team, period_kind="quarter", period_start=quarter, amount=amount + 1
        )
        world.texts = {
            "user": user.full_name,
            "team": team.name,
            "account": account.name,
            "opp": opp.name,
            "pipeline": pipeline.name,
            "stage": f"{label} stage",
            "spare_stage": f"{label} spare stage",
            "currency": currency.code,
            "product": product.name,
            "category": category.name,
            "line": f"{label} line",
            "book": book.name,
            "quote": quote.title,
            "number": quote.number,
            "activity": f"{label} meeting",
            "plan": plan.name,
            "note": f"{label} note",
            "note_url": f"?from={label}",
            "quota": f"{amount:,}",
            "contact_role": str(role.pk),
        }
    return world


TRACKED = [
    User,
    Team,
    RecordShare,
    Account,
    Contact,
    Pipeline,
    Stage,
    Currency,
    Opportunity,
    StageChange,
    OpportunityContact,
    OpportunityTeamMember,
    Competitor,
    ProductCategory,
    Product,
    PriceBook,
    PriceBookEntry,
    OpportunityLineItem,
    Quote,
    QuoteLine,
    QuoteVersion,
    QuoteEvent,
    Activity,
    FollowUpPlan,
    Notification,
    CalendarFeed,
    Quota,
    AuditEntry,
]


def state(tenant: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row the sweep's URLs could touch, in order."""
    with tenant_context(tenant):
        rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in TRACKED}
        rows["Team.members"] = list(
            Team.members.through.objects.order_by("pk").values("team_id", "user_id")
        )
        rows["Activity.participants"] = list(
            Activity.participants.through.objects.order_by("pk").values("activity_id", "user_id")
        )
    # Signing in with a token stamps last_login/last_used; that is not the sweep's business.
    for row in rows["User"]:
        row.pop("last_login", None)
    return rows


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- The cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request. `url` and `data` are formatted with the ids of a world: {pk}, {won},
    {lost}, {spare} (stages), {admin}, {rep}, {role} (a contact role value), {start},
    {end} (a calendar range) and {token} (a calendar feed link)."""

    name: str
    method: str
    url: str
    data: dict[str, Any] | list[Any] | None = None
    api: bool = False
    shows: str | None = None  # a text of alpha's world the shared-id answer must show
    changes: bool = False  # the shared-id write changes alpha's rows
    id_in_path: bool = True  # else the id is a query or form value: answer as for none

    def __str__(self) -> str:
        return self.name


def page(name: str, method: str, url: str, data: Any = None, **kw: Any) -> Case:
    return Case(name, method, url, data, api=False, **kw)


def api(name: str, method: str, url: str, data: Any = None, **kw: Any) -> Case:
    return Case(name, method, url, data, api=True, **kw)


GET, POST, PATCH, DELETE = "GET", "POST", "PATCH", "DELETE"
OPP = "/opportunities/{pk}"
QUOTE = "/quotes/{pk}"
ACT = "/activities/{pk}"
CAL = "start={start}&end={end}"
FORECAST_Q = f"period={PERIOD}&scope=all&column=commit"

CASES: list[Case] = [
    # Opportunities and the board
    page("opp-detail", GET, OPP + "/", shows="opp"),
    page("opp-edit", GET, OPP + "/edit/", shows="opp"),
    page(
        "opp-edit-post",
        POST,
        OPP + "/edit/",
        {
            "name": "Renamed deal",
            "account": "{pk}",
            "pipeline": "{pk}",
            "stage": "{pk}",
            "amount": "5000",
            "currency": "CNY",
            "close_date": "2030-02-20",
            "forecast_category": "commit",
        },
        changes=True,
    ),
    page("opp-move", POST, OPP + "/move/", {"stage": "{spare}"}, changes=True),
    page(
        "opp-contact-role",
        POST,
        OPP + "/contact-role/",
        {"contact": "{pk}", "role": "{role}", "influence": "high", "attitude": "champion"},
        changes=True,
    ),
    page(
        "opp-contact-role-remove", POST, OPP + "/contact-role-remove/", {"id": "{pk}"}, changes=True
    ),
    page("opp-team", POST, OPP + "/team/", {"user": "{rep}", "role": "presales"}, changes=True),
    page("opp-team-remove", POST, OPP + "/team-remove/", {"id": "{pk}"}, changes=True),
    page("opp-competitor", POST, OPP + "/competitor/", {"name": "Rival Ltd"}, changes=True),
    page("opp-competitor-remove", POST, OPP + "/competitor-remove/", {"id": "{pk}"}, changes=True),
    page("opp-owner", POST, OPP + "/owner/", {"owner": "{admin}"}, changes=True),
    # Refused on both sides of the test: the opportunity has a quote.
    page("opp-delete", POST, OPP + "/delete/", {}),
    page("board-column", GET, "/opportunities/board/column/{pk}/", shows="opp"),
    page(
        "board-pipeline",
        GET,
        "/opportunities/board/?pipeline={pk}",
        shows="stage",
        id_in_path=False,
    ),
    page(
        "opp-list-filters",
        GET,
        "/opportunities/?owner={pk}&team={pk}&pipeline={pk}&stage={pk}",
        shows="opp",
        id_in_path=False,
    ),
    page(
        "opp-new-account",
        GET,
        "/opportunities/new/?account={pk}",
        shows="account",
        id_in_path=False,
    ),
    # Settings → Pipelines, Settings → Sales
    page("pipeline-edit", GET, "/settings/pipelines/{pk}/edit/", shows="pipeline"),
    page(
        "pipeline-edit-post",
        POST,
        "/settings/pipelines/{pk}/edit/",
        {"name": "Renamed"},
        changes=True,
    ),
    page("pipeline-deactivate", POST, "/settings/pipelines/{pk}/deactivate/", changes=True),
    page("pipeline-activate", POST, "/settings/pipelines/{pk}/activate/"),
    page("stage-add", GET, "/settings/pipelines/{pk}/stages/add/", shows="pipeline"),
    page(
        "stage-add-post",
        POST,
        "/settings/pipelines/{pk}/stages/add/",
        {"name": "Extra", "probability": "30", "outcome": "open"},
        changes=True,
    ),
    page(
        "stage-order",
        POST,
        "/settings/pipelines/{pk}/stages/order/",
        {"order": "{spare},{pk},{won},{lost}"},
        changes=True,
    ),
    page("stage-edit", GET, "/settings/stages/{pk}/edit/", shows="stage"),
    page(
        "stage-edit-post",
        POST,
        "/settings/stages/{pk}/edit/",
        {"name": "Renamed", "probability": "20"},
        changes=True,
    ),
    page("stage-retire", GET, "/settings/stages/{spare}/retire/", shows="spare_stage"),
    page("stage-retire-post", POST, "/settings/stages/{spare}/retire/", changes=True),
    page("stage-reactivate", POST, "/settings/stages/{spare}/reactivate/"),
    page("stage-move", POST, "/settings/stages/{spare}/move/up/", changes=True),
    page(
        "currency-rate",
        POST,
        "/settings/sales/currencies/{pk}/rate/",
        {"rate_to_base": "2.5"},
        changes=True,
    ),
    page("currency-deactivate", POST, "/settings/sales/currencies/{pk}/deactivate/", changes=True),
    page("currency-activate", POST, "/settings/sales/currencies/{pk}/activate/"),
    # Quotes, opportunity products, catalogue
    page("quote-detail", GET, QUOTE + "/", shows="quote"),
    page("quote-edit", GET, QUOTE + "/edit/", shows="quote"),
    page(
        "quote-edit-post",
        POST,
        QUOTE + "/edit/",
        {"title": "Renamed quote", "tax_rate": "6", "valid_until": "2031-01-01"},
        changes=True,
    ),
    page(
        "quote-line-add",
        POST,
        QUOTE + "/lines/",
        {"new-product": "{pk}", "new-quantity": "2", "new-discount_percent": "0"},
        changes=True,
    ),
    page("quote-line-change", POST, QUOTE + "/lines/{pk}/", {"quantity": "5"}, changes=True),
    page("quote-line-delete", POST, QUOTE + "/lines/{pk}/", {"delete": "1"}, changes=True),
    page("quote-send", GET, QUOTE + "/send/", shows="number"),
    page("quote-send-post", POST, QUOTE + "/send/", changes=True),
    page("quote-submit", POST, QUOTE + "/submit/", {"comment": "please"}),
    page("quote-approve", POST, QUOTE + "/approve/", {"comment": "ok"}),
    page("quote-decline", POST, QUOTE + "/decline/", {"comment": "no"}),
    page("quote-accept", POST, QUOTE + "/accept/", {"comment": "yes"}),
    page("quote-reject", POST, QUOTE + "/reject/", {"comment": "no"}),
    page("quote-print", GET, QUOTE + "/versions/1/print/", shows="quote"),
    page("quote-pdf", GET, QUOTE + "/versions/1/pdf/", shows="number"),
    page("quote-list-owner", GET, "/quotes/?owner={pk}", shows="number", id_in_path=False),
    page("quote-new", GET, OPP + "/quotes/new/", shows="opp"),
    page(
        "quote-new-post",
        POST,
        OPP + "/quotes/new/",
        {"title": "New quote", "tax_rate": "13", "valid_until": "2031-01-01"},
        changes=True,
    ),
    page("opp-products", GET, OPP + "/products/", shows="product"),
    page(
        "opp-products-post",
        POST,
        OPP + "/products/",
        {"price_book": "{pk}", "product": "{pk}", "quantity": "2", "discount_percent": "0"},
        changes=True,
    ),
    page("opp-product-change", POST, OPP + "/products/{pk}/", {"quantity": "4"}, changes=True),
    page("opp-product-delete", POST, OPP + "/products/{pk}/", {"delete": "1"}, changes=True),
    page("product-edit", GET, "/settings/products/{pk}/", shows="product"),
    page(
        "product-edit-post",
        POST,
        "/settings/products/{pk}/",
        {"code": "RENAMED-1", "name": "Renamed product", "unit": "pcs", "is_active": "on"},
        changes=True,
    ),
    page("price-book-edit", GET, "/settings/price-books/{pk}/", shows="book"),
    page(
        "price-book-edit-post",
        POST,
        "/settings/price-books/{pk}/",
        {"name": "Renamed book", "currency": "CNY", "is_active": "on"},
        changes=True,
    ),
    page(
        "price-book-price-post",
        POST,
        "/settings/price-books/{pk}/",
        {"form": "price", "product": "{pk}", "unit_price": "120"},
        changes=True,
    ),
    page("price-remove", POST, "/settings/price-books/{pk}/prices/{pk}/remove/", changes=True),
    # Activities, calendar, follow-up plans
    page("activity-detail", GET, ACT + "/", shows="activity"),
    page("activity-edit", GET, ACT + "/edit/", shows="activity"),
    page(
        "activity-edit-post",
        POST,
        ACT + "/edit/",
        {
            "kind": "meeting",
            "subject": "Renamed meeting",
            "priority": "normal",
            "start_at": "2030-03-01T10:00",
            "end_at": "2030-03-01T11:00",
            "account": "{pk}",
            "opportunity": "{pk}",
        },
        changes=True,
    ),
    page("activity-complete", POST, ACT + "/complete/", {"outcome": "Done"}, changes=True),
    page("activity-reopen", POST, ACT + "/reopen/"),
    page("activity-delete", POST, ACT + "/delete/", changes=True),
    page(
        "activity-reschedule",
        POST,
        ACT + "/reschedule/",
        {"start": "2030-03-02T09:00:00+00:00"},
        changes=True,
    ),
    page(
        "activity-new-prefill",
        GET,
        "/activities/new/?account={pk}&opportunity={pk}",
        shows="account",
        id_in_path=False,
    ),
    page("calendar-events", GET, "/calendar/events/?" + CAL, shows="activity", id_in_path=False),
    page("calendar-events-team", GET, "/calendar/events/?scope=team&" + CAL, id_in_path=False),
    page("calendar-feed", GET, "/calendar/feed/{token}.ics", shows="activity"),
    page("plan-edit", GET, "/settings/follow-up-plans/{pk}/", shows="plan"),
    page(
        "plan-edit-post",
        POST,
        "/settings/follow-up-plans/{pk}/",
        {
            "name": "Renamed plan",
            "kind": "visit",
            "interval": "2",
            "unit": "months",
            "account": "{pk}",
            "is_active": "on",
        },
        changes=True,
    ),
    page("plan-start", POST, "/settings/follow-up-plans/{pk}/", {"action": "start"}),
    page(
        "plan-delete", POST, "/settings/follow-up-plans/{pk}/", {"action": "delete"}, changes=True
    ),
    # Notifications
    page("notification-open", GET, "/notifications/{pk}/open/", shows="note_url", changes=True),
    page("notification-read", POST, "/notifications/{pk}/read/", changes=True),
    # Forecast, quotas and reports: ids as owner=/team=/scope= values
    page(
        "forecast-team-scope",
        GET,
        f"/forecast/?period={PERIOD}&scope=team:{{pk}}",
        shows="team",
        id_in_path=False,
    ),
    page(
        "forecast-drill-owner",
        GET,
        f"/forecast/opportunities/?{FORECAST_Q}&owner={{pk}}",
        shows="opp",
        id_in_path=False,
    ),
    page(
        "forecast-drill-team",
        GET,
        f"/forecast/opportunities/?{FORECAST_Q}&team={{pk}}",
        shows="opp",
        id_in_path=False,
    ),
    page(
        "quotas", GET, "/forecast/quotas/?kind=quarter&year=2030", shows="quota", id_in_path=False
    ),
    page(
        "quotas-post",
        POST,
        "/forecast/quotas/",
        {"kind": "quarter", "year": "2030", "u{pk}-2030-01-01": "5000", "t{pk}-2030-01-01": "7000"},
        changes=True,
        id_in_path=False,
    ),
    page(
        "report-pipeline",
        GET,
        "/reports/pipeline/?owner={pk}&team={pk}",
        shows="pipeline",
        id_in_path=False,
    ),
    page(
        "report-win-loss",
        GET,
        f"/reports/win-loss/?period={PERIOD}&owner={{pk}}&team={{pk}}",
        shows="user",
        id_in_path=False,
    ),
    # REST API: opportunities
    api("api-opp", GET, "/api/v1/opportunities/{pk}/", shows="opp"),
    api(
        "api-opp-patch",
        PATCH,
        "/api/v1/opportunities/{pk}/",
        {"name": "Renamed deal"},
        changes=True,
    ),
    api("api-opp-delete", DELETE, "/api/v1/opportunities/{pk}/"),
    api("api-opp-history", GET, "/api/v1/opportunities/{pk}/history/"),
    api(
        "api-opp-move", POST, "/api/v1/opportunities/{pk}/move/", {"stage": "{spare}"}, changes=True
    ),
    api(
        "api-opp-assign",
        POST,
        "/api/v1/opportunities/{pk}/assign/",
        {"owner": "{admin}"},
        changes=True,
    ),
    api(
        "api-opp-contact-role",
        POST,
        "/api/v1/opportunities/{pk}/contact-roles/",
        {"contact": "{pk}", "role": "{role}", "influence": "high"},
        changes=True,
    ),
    api(
        "api-opp-contact-role-remove",
        DELETE,
        "/api/v1/opportunities/{pk}/contact-roles/{pk}/",
        changes=True,
    ),
    api(
        "api-opp-team",
        POST,
        "/api/v1/opportunities/{pk}/team/",
        {"user": "{rep}", "role": "presales"},
        changes=True,
    ),
    api("api-opp-team-remove", DELETE, "/api/v1/opportunities/{pk}/team/{pk}/", changes=True),
    api(
        "api-opp-competitor",
        POST,
        "/api/v1/opportunities/{pk}/competitors/",
        {"name": "Rival Ltd"},
        changes=True,
    ),
    api(
        "api-opp-competitor-remove",
        DELETE,
        "/api/v1/opportunities/{pk}/competitors/{pk}/",
        changes=True,
    ),
    api(
        "api-opp-list-owner",
        GET,
        "/api/v1/opportunities/?owner={pk}&pipeline={pk}",
        shows="opp",
        id_in_path=False,
    ),
    # REST API: pipelines, stages, currencies
    api("api-pipeline", GET, "/api/v1/pipelines/{pk}/", shows="pipeline"),
    api("api-pipeline-patch", PATCH, "/api/v1/pipelines/{pk}/", {"name": "Renamed"}, changes=True),
    api(
        "api-pipeline-reorder",
        POST,
        "/api/v1/pipelines/{pk}/reorder/",
        {"order": ["{spare}", "{pk}", "{won}", "{lost}"]},
        changes=True,
    ),
    api("api-stage", GET, "/api/v1/stages/{pk}/", shows="stage"),
    api("api-stage-patch", PATCH, "/api/v1/stages/{pk}/", {"name": "Renamed"}, changes=True),
    api("api-stage-retire", POST, "/api/v1/stages/{spare}/retire/", {}, changes=True),
    api("api-stage-reactivate", POST, "/api/v1/stages/{spare}/reactivate/", {}),
    api("api-currency", GET, "/api/v1/currencies/{pk}/", shows="currency"),
    api(
        "api-currency-patch",
        PATCH,
        "/api/v1/currencies/{pk}/",
        {"rate_to_base": "2.5"},
        changes=True,
    ),
    # REST API: activities, follow-up plans, notifications
    api("api-activity", GET, "/api/v1/activities/{pk}/", shows="activity"),
    api(
        "api-activity-patch",
        PATCH,
        "/api/v1/activities/{pk}/",
        {"subject": "Renamed"},
        changes=True,
    ),
    api("api-activity-delete", DELETE, "/api/v1/activities/{pk}/", changes=True),
    api(
        "api-activity-complete",
        POST,
        "/api/v1/activities/{pk}/complete/",
        {"outcome": "Done"},
        changes=True,
    ),
    api("api-activity-reopen", POST, "/api/v1/activities/{pk}/reopen/", {}, shows="activity"),
    api(
        "api-activity-list-filters",
        GET,
        "/api/v1/activities/?account={pk}&opportunity={pk}",
        shows="activity",
        id_in_path=False,
    ),
    api("api-plan", GET, "/api/v1/follow-up-plans/{pk}/", shows="plan"),
    api(
        "api-plan-patch",
        PATCH,
        "/api/v1/follow-up-plans/{pk}/",
        {"name": "Renamed plan"},
        changes=True,
    ),
    api("api-plan-delete", DELETE, "/api/v1/follow-up-plans/{pk}/", changes=True),
    api("api-plan-start", POST, "/api/v1/follow-up-plans/{pk}/start/", {}, changes=True),
    # The caller's own calendar link (no id: beta's link of user 1 must not answer alpha's)
    api("api-calendar-link", GET, "/api/v1/calendar-link/", id_in_path=False),
    api(
        "api-calendar-link-revoke",
        DELETE,
        "/api/v1/calendar-link/",
        changes=True,
        id_in_path=False,
    ),
    api("api-notification", GET, "/api/v1/notifications/{pk}/", shows="note"),
    api("api-notification-read", POST, "/api/v1/notifications/{pk}/read/", {}, changes=True),
    # REST API: quotes
    api("api-quote", GET, "/api/v1/quotes/{pk}/", shows="quote"),
    api("api-quote-patch", PATCH, "/api/v1/quotes/{pk}/", {"title": "Renamed quote"}, changes=True),
    api("api-quote-lines", GET, "/api/v1/quotes/{pk}/lines/", shows="line"),
    api(
        "api-quote-line-add",
        POST,
        "/api/v1/quotes/{pk}/lines/",
        {"product": "{pk}", "quantity": "2"},
        changes=True,
    ),
    api(
        "api-quote-line-change",
        PATCH,
        "/api/v1/quotes/{pk}/lines/{pk}/",
        {"quantity": "5"},
        changes=True,
    ),
    api("api-quote-line-remove", DELETE, "/api/v1/quotes/{pk}/lines/{pk}/", changes=True),
    api("api-quote-submit", POST, "/api/v1/quotes/{pk}/submit/", {"comment": "please"}),
    api("api-quote-approve", POST, "/api/v1/quotes/{pk}/approve/", {"comment": "ok"}),
    api("api-quote-decline", POST, "/api/v1/quotes/{pk}/decline/", {"comment": "no"}),
    api("api-quote-send", POST, "/api/v1/quotes/{pk}/send/", {}, changes=True),
    api("api-quote-accept", POST, "/api/v1/quotes/{pk}/accept/", {"comment": "yes"}),
    api("api-quote-reject", POST, "/api/v1/quotes/{pk}/reject/", {"comment": "no"}),
    api("api-quote-history", GET, "/api/v1/quotes/{pk}/history/"),
    api("api-quote-versions", GET, "/api/v1/quotes/{pk}/versions/"),
    api("api-quote-version", GET, "/api/v1/quotes/{pk}/versions/1/", shows="quote"),
    api("api-quote-version-pdf", GET, "/api/v1/quotes/{pk}/versions/1/pdf/", shows="number"),
    api(
        "api-quote-list-filters",
        GET,
        "/api/v1/quotes/?account={pk}&opportunity={pk}&owner={pk}",
        shows="quote",
        id_in_path=False,
    ),
    # REST API: catalogue and opportunity products
    api("api-product", GET, "/api/v1/products/{pk}/", shows="product"),
    api(
        "api-product-patch",
        PATCH,
        "/api/v1/products/{pk}/",
        {"name": "Renamed product"},
        changes=True,
    ),
    api("api-product-deactivate", POST, "/api/v1/products/{pk}/deactivate/", {}, changes=True),
    api("api-product-reactivate", POST, "/api/v1/products/{pk}/reactivate/", {}),
    api(
        "api-product-list-filters",
        GET,
        "/api/v1/products/?category={pk}&price_book={pk}",
        shows="product",
        id_in_path=False,
    ),
    api("api-category", GET, "/api/v1/product-categories/{pk}/", shows="category"),
    api(
        "api-category-patch",
        PATCH,
        "/api/v1/product-categories/{pk}/",
        {"name": "Renamed category"},
        changes=True,
    ),
    api("api-price-book", GET, "/api/v1/price-books/{pk}/", shows="book"),
    api(
        "api-price-book-patch",
        PATCH,
        "/api/v1/price-books/{pk}/",
        {"name": "Renamed book"},
        changes=True,
    ),
    api("api-price-book-prices", GET, "/api/v1/price-books/{pk}/prices/", shows="product"),
    api(
        "api-price-book-price-set",
        POST,
        "/api/v1/price-books/{pk}/prices/",
        {"product": "{pk}", "unit_price": "120"},
        changes=True,
    ),
    api(
        "api-price-book-price-change",
        PATCH,
        "/api/v1/price-books/{pk}/prices/{pk}/",
        {"unit_price": "130"},
        changes=True,
    ),
    api(
        "api-price-book-price-remove", DELETE, "/api/v1/price-books/{pk}/prices/{pk}/", changes=True
    ),
    api("api-opp-products", GET, "/api/v1/opportunities/{pk}/products/", shows="product"),
    api(
        "api-opp-products-add",
        POST,
        "/api/v1/opportunities/{pk}/products/",
        {"product": "{pk}", "price_book": "{pk}", "quantity": "2"},
        changes=True,
    ),
    api(
        "api-opp-product-change",
        PATCH,
        "/api/v1/opportunities/{pk}/products/{pk}/",
        {"quantity": "4"},
        changes=True,
    ),
    api(
        "api-opp-product-remove", DELETE, "/api/v1/opportunities/{pk}/products/{pk}/", changes=True
    ),
    # REST API: quotas, forecast and reports
    api("api-quota", GET, "/api/v1/quotas/{pk}/", shows="user"),
    api("api-quota-delete", DELETE, "/api/v1/quotas/{pk}/", changes=True),
    api("api-quota-list-filters", GET, "/api/v1/quotas/?user={pk}", shows="user", id_in_path=False),
    api(
        "api-quota-set",
        POST,
        "/api/v1/quotas/",
        {"user": "{pk}", "period": PERIOD, "amount": "5000"},
        changes=True,
        id_in_path=False,
    ),
    api(
        "api-quota-bulk",
        POST,
        "/api/v1/quotas/bulk/",
        [
            {"user": "{pk}", "period": PERIOD, "amount": "5000"},
            {"team": "{pk}", "period": PERIOD, "amount": "7000"},
        ],
        changes=True,
        id_in_path=False,
    ),
    api(
        "api-forecast-team-scope",
        GET,
        f"/api/v1/forecast/?period={PERIOD}&scope=team:{{pk}}",
        shows="team",
        id_in_path=False,
    ),
    api(
        "api-forecast-drill-owner",
        GET,
        f"/api/v1/forecast/opportunities/?{FORECAST_Q}&owner={{pk}}",
        shows="opp",
        id_in_path=False,
    ),
    api(
        "api-forecast-drill-team",
        GET,
        f"/api/v1/forecast/opportunities/?{FORECAST_Q}&team={{pk}}",
        shows="opp",
        id_in_path=False,
    ),
    api(
        "api-report-pipeline",
        GET,
        "/api/v1/reports/pipeline/?owner={pk}&team={pk}",
        shows="pipeline",
        id_in_path=False,
    ),
    api(
        "api-report-win-loss",
        GET,
        f"/api/v1/reports/win-loss/?period={PERIOD}&owner={{pk}}&team={{pk}}",
        id_in_path=False,
    ),
]


def ids(pk: int, role: int) -> dict[str, Any]:
    now = timezone.now().astimezone(dt.UTC).replace(microsecond=0)
    return {
        "pk": pk,
        "won": pk + 1,
        "lost": pk + 2,
        "spare": pk + 3,
        "admin": 1,
        "rep": 2,
        "role": role,
        "start": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "token": feed_token(pk),
    }


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        filled = value.format(**values)
        return int(filled) if re.fullmatch(r"\{\w+\}", value) and filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {_fill(k, values): _fill(v, values) for k, v in value.items()}
    return value


def send(case: Case, clients: tuple[Any, Any], values: dict[str, Any]) -> Any:
    """The case's request from a (browser, API) pair of clients."""
    page_client, api_client = clients
    url = case.url.format(**values)
    data = _fill(case.data, values) if case.data is not None else None
    if case.api:
        client, headers = api_client.client, api_client.headers
        if case.method == GET:
            return client.get(url, **headers)
        body = json.dumps(data if data is not None else {})
        return client.generic(case.method, url, body, content_type="application/json", **headers)
    if case.method == GET:
        return page_client.get(url)
    return page_client.post(url, data or {})


def text_of(response: Any) -> str:
    """What a person or program receives: the body and the headers that name things."""
    body = response.content.decode("utf-8", errors="replace")
    extra = " ".join(response.get(h, "") for h in ("Location", "Content-Disposition"))
    return f"{body}\n{extra}"


def masked(text: str) -> str:
    """Without what differs from one request to the next (CSRF token, return addresses)."""
    text = re.sub(r'(name="csrfmiddlewaretoken" value=)"[^"]+"', r"\1", text)
    text = re.sub(r'(name="next"[^>]*value=)"[^"]+"', r"\1", text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "T", text)


@pytest.fixture
def clients(alpha, admin, admin_client, admin_api):  # type: ignore[no-untyped-def]  # noqa: F811
    """Alpha's workspace admin in a browser and with an API token."""
    return admin_client, admin_api[1]


@pytest.fixture
def beta_clients(beta, beta_api):  # type: ignore[no-untyped-def]  # noqa: F811
    """Beta's workspace admin (primary key 1 too) in a browser and with an API token."""
    client = host_client("beta.localhost")
    sign_in(client, beta, BETA.admin_email)
    return client, beta_api[1]


def contact_role(tenant: Any) -> int:
    with tenant_context(tenant):
        value = PicklistValue.objects.filter(picklist="contact_role", is_active=True).first()
        return value.pk if value else 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_row_only_beta_has_is_not_found_from_alpha(case, alpha, beta, clients):  # type: ignore[no-untyped-def]
    values = ids(BETA_ONLY, contact_role(alpha))
    missing = send(case, clients, values)  # no row with these ids anywhere yet
    build(beta, BETA_ONLY, MARKER)
    alpha_before, beta_before = state(alpha), state(beta)

    response = send(case, clients, values)

    got = text_of(response)
    if case.id_in_path:
        assert response.status_code == 404, got[:500]
    assert response.status_code == missing.status_code
    assert masked(got) == masked(text_of(missing)), (
        "alpha answers differently once beta has the row"
    )
    assert MARKER not in got
    assert changed_tables(alpha_before, state(alpha)) == []
    assert changed_tables(beta_before, state(beta)) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_id_both_have_reaches_alphas_row_never_betas(case, alpha, beta, clients, beta_clients):  # type: ignore[no-untyped-def]
    mine = build(alpha, SHARED, ALPHA_LABEL)
    theirs = build(beta, SHARED, MARKER)
    values = ids(SHARED, int(mine.texts["contact_role"]))
    if case.method == GET:
        # Beta reads first: whatever it leaves in a cache must not answer alpha.
        warm = send(case, beta_clients, ids(SHARED, int(theirs.texts["contact_role"])))
        if case.shows:
            assert str(theirs.texts[case.shows]) in text_of(warm)
    alpha_before, beta_before = state(alpha), state(beta)

    response = send(case, clients, values)

    got = text_of(response)
    assert response.status_code != 404, got[:500]
    assert response.status_code < 500
    if case.method == GET:
        assert response.status_code in (200, 302), got[:500]
    if case.shows:
        assert str(mine.texts[case.shows]) in got
        assert str(theirs.texts[case.shows]) not in got
    assert MARKER not in got
    assert changed_tables(beta_before, state(beta)) == []
    if case.changes:
        assert changed_tables(alpha_before, state(alpha)), (
            f"the request should have changed alpha: {response.status_code} {_errors(got)}"
        )


def _errors(text: str) -> list[str]:
    """Error and message texts of a page or an API answer, for failure messages."""
    found = re.findall(r'(?:error|alert)"[^>]*>\s*(?:<p>)?([^<]{3,200})', text)
    return found[:5] or [text[:300]]


# --- Every id-bearing route of the sales side has a case ---------------------------------------

SWEPT_URLCONFS = {
    "core_crm.sales.urls",
    "core_crm.sales.settings_urls",
    "core_crm.sales.api_urls",
    "core_crm.sales.settings_api_urls",
    "core_crm.quotes.urls",
    "core_crm.quotes.api_urls",
    "core_crm.activities.urls",
    "core_crm.activities.api_urls",
    "core_crm.forecast.urls",
    "core_crm.forecast.api_urls",
    "core_crm.notifications.urls",
    "core_crm.notifications.api_urls",
}
ID_PARAM = re.compile(r"<(?:int|str|slug|path|uuid):(\w+)>|\(\?P<(\w+)>")


def _routes(patterns: list[Any], prefix: str = "", module: str = "") -> list[tuple[str, str]]:
    found = []
    for pattern in patterns:
        # Joined as Django joins them for ResolverMatch.route.
        route = prefix + str(pattern.pattern).removeprefix("^") if prefix else str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            conf = pattern.urlconf_name  # a module, its dotted name, or a router's list
            name = conf if isinstance(conf, str) else getattr(conf, "__name__", module)
            found += _routes(pattern.url_patterns, route, name)
        elif isinstance(pattern, URLPattern):
            found.append((module, route))
    return found


def id_routes() -> set[str]:
    routes = set()
    for module, route in _routes(get_resolver("guanxi.urls_tenant").url_patterns):
        if "(?P<format>" in route:  # the same view with a .json suffix
            continue
        names = {a or b for a, b in ID_PARAM.findall(route)} - {"state", "direction", "action"}
        if module in SWEPT_URLCONFS and names:
            routes.add(route)
    return routes


def test_every_id_route_has_a_case(alpha):  # type: ignore[no-untyped-def]
    values = ids(BETA_ONLY, 1)
    covered = {
        resolve(case.url.format(**values).split("?")[0], urlconf="guanxi.urls_tenant").route
        for case in CASES
    }
    assert id_routes() - covered == set()
