"""/api/v1/ products, price books, opportunity products and quotes: the pages' rules through
the API (totals, the discount approval gate, frozen versions, nothing half-saved, named
errors), record security and workspace isolation, constant query counts."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.quotes import services
from core_crm.quotes.models import OpportunityLineItem, PriceBookEntry, Product, Quote
from core_crm.sales.models import Opportunity
from tests.sales.factories import make_opportunity

from ..quotes import conftest as quote_fixtures
from ..quotes.conftest import quote_with
from .test_api import Api, make_user

D = Decimal
# The quote tests' fixtures: a catalogue, a manager over the rep, a rep of another team.
catalogue = quote_fixtures.catalogue
manager = quote_fixtures.manager
other_rep = quote_fixtures.other_rep


def api_of(tenant, email: str, role: str | None = "sales_rep") -> Api:
    _user, token = make_user(tenant, email, role)
    return Api(f"{tenant.schema_name}.localhost", token)


# --- Catalogue ---------------------------------------------------------------------------------


def test_reps_read_the_catalogue_and_only_admins_keep_it(alpha, admin_api, rep_api, catalogue):
    _admin, admin = admin_api
    _rep, rep = rep_api
    listed = rep.get("/api/v1/products/", active="true").json()["results"]
    assert {p["code"] for p in listed} == {"P-100", "V-200", "S-1"}
    pump = next(p for p in listed if p["code"] == "P-100")
    assert {(p["price_book_name"], p["unit_price"]) for p in pump["prices"]} == {
        ("Standard", "12000.00"),
        ("Export USD", "1700.00"),
    }
    in_usd = rep.get("/api/v1/products/", price_book=catalogue.usd.pk).json()["results"]
    assert [p["code"] for p in in_usd] == ["P-100"]
    assert rep.get("/api/v1/price-books/").status_code == 200

    refused = rep.post("/api/v1/products/", {"code": "X-1", "name": "Sneaky"})
    assert refused.status_code == 403
    assert "workspace admins" in refused.json()["detail"]
    assert rep.post(f"/api/v1/products/{catalogue.pump.pk}/deactivate/", {}).status_code == 403

    duplicate = admin.post("/api/v1/products/", {"code": "p-100", "name": "Copy"})
    assert duplicate.status_code == 400 and "code" in duplicate.json()
    missing = admin.post("/api/v1/products/", {"code": "G-1"})
    assert missing.status_code == 400 and "name" in missing.json()

    category = admin.post("/api/v1/product-categories/", {"name": "Pumps"}).json()
    made = admin.post(
        "/api/v1/products/",
        {"code": "G-1", "name": "Gear pump", "unit": "pcs", "category": category["id"]},
    )
    assert made.status_code == 201, made.content
    gear = made.json()
    assert gear["category_name"] == "Pumps" and gear["is_active"] is True

    price = admin.post(
        f"/api/v1/price-books/{catalogue.standard.pk}/prices/",
        {"product": gear["id"], "unit_price": "4200.50"},
    )
    assert price.status_code == 201 and price.json()["unit_price"] == "4200.50"
    again = admin.post(
        f"/api/v1/price-books/{catalogue.standard.pk}/prices/",
        {"product": gear["id"], "unit_price": "4300"},
    )
    assert again.status_code == 200 and again.json()["unit_price"] == "4300.00"
    negative = admin.patch(
        f"/api/v1/price-books/{catalogue.standard.pk}/prices/{price.json()['id']}/",
        {"unit_price": "-1"},
    )
    assert negative.status_code == 400 and "unit_price" in negative.json()
    bad_currency = admin.post("/api/v1/price-books/", {"name": "Moon", "currency": "XYZ"})
    assert bad_currency.status_code == 400 and "currency" in bad_currency.json()

    retired = admin.post(f"/api/v1/products/{gear['id']}/deactivate/", {})
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    with tenant_context(alpha):
        assert not Product.objects.get(pk=gear["id"]).is_active
        assert PriceBookEntry.objects.get(pk=price.json()["id"]).unit_price == D("4300.00")
        assert AuditEntry.objects.filter(channel="api", object_id=gear["id"]).exists()


# --- Opportunity products -----------------------------------------------------------------------


def test_opportunity_products_set_the_amount_and_follow_record_security(
    alpha, rep, rep_api, other_rep, catalogue
):
    _rep, api = rep_api
    with tenant_context(alpha):
        opp = make_opportunity(rep, name="Pumps", currency="CNY", amount=1)
        theirs = make_opportunity(other_rep, name="Not yours", currency="CNY")
    url = f"/api/v1/opportunities/{opp.pk}/products/"
    # No price book given: the standard one of the opportunity's currency.
    added = api.post(url, {"product": catalogue.pump.pk, "quantity": "2", "discount_percent": 10})
    assert added.status_code == 201, added.content
    item = added.json()
    assert (item["price_book"], item["list_price"], item["net"]) == (
        catalogue.standard.pk,
        "12000.00",
        "21600.00",
    )
    wrong_book = api.post(url, {"product": catalogue.pump.pk, "price_book": catalogue.usd.pk})
    assert wrong_book.status_code == 400 and "USD" in wrong_book.json()["price_book"][0]
    no_price = api.post(url, {"product": 999999})
    assert no_price.status_code == 400 and "product" in no_price.json()
    changed = api.patch(f"{url}{item['id']}/", {"quantity": "3"})
    assert changed.status_code == 200 and changed.json()["net"] == "32400.00"
    bad = api.patch(f"{url}{item['id']}/", {"discount_percent": "101"})
    assert bad.status_code == 400 and "discount_percent" in bad.json()
    listing = api.get(url).json()
    assert listing["total"] == "32400.00" and listing["price_book"] == catalogue.standard.pk
    with tenant_context(alpha):
        assert Opportunity.objects.get(pk=opp.pk).amount == D("32400.00")

    # Another rep's opportunity: 404 for every verb, exactly like a missing one.
    other = f"/api/v1/opportunities/{theirs.pk}/products/"
    assert api.get(other).status_code == 404
    assert api.post(other, {"product": catalogue.pump.pk}).status_code == 404
    assert api.get("/api/v1/opportunities/99999999/products/").status_code == 404

    assert api.delete(f"{url}{item['id']}/").status_code == 204
    with tenant_context(alpha):
        assert not OpportunityLineItem.objects.filter(opportunity=opp).exists()


# --- Quotes ---------------------------------------------------------------------------------------


def test_create_a_quote_with_lines_and_read_its_totals(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api
    with tenant_context(alpha):
        opp = make_opportunity(rep, name="Valves", currency="CNY")
        services.line_item_save(
            opp,
            actor=rep,
            data={
                "price_book": catalogue.standard,
                "product": catalogue.pump,
                "quantity": "2",
                "discount_percent": "10",
            },
            channel="web",
        )
    made = api.post(
        "/api/v1/quotes/",
        {
            "opportunity": opp.pk,
            "title": "Pumps and valves",
            "terms": "Delivery in 4 weeks",
            "lines": [
                {"product": catalogue.valve.pk, "quantity": "4"},
                {"description": "Freight", "list_price": "500", "quantity": 1},
            ],
        },
    )
    assert made.status_code == 201, made.content
    quote = made.json()
    assert quote["status"] == "draft" and quote["number"].startswith("Q-")
    assert quote["currency"] == "CNY" and quote["price_book"] == catalogue.standard.pk
    lines = [(x["description"], x["quantity"], x["list_price"], x["net"]) for x in quote["lines"]]
    assert lines == [
        ("Centrifugal pump", "2.00", "12000.00", "21600.00"),  # the opportunity's product
        ("Ball valve 球阀", "4.00", "850.50", "3402.00"),
        ("Freight", "1.00", "500.00", "500.00"),
    ]
    # Subtotal 24,000 + 3,402 + 500 = 27,902; discounts 2,400; net 25,502;
    # tax 13 % = 3,315.26; grand total 28,817.26.
    totals = {k: quote[k] for k in ("subtotal", "discount_total", "net_total", "tax_total")}
    assert totals == {
        "subtotal": "27902.00",
        "discount_total": "2400.00",
        "net_total": "25502.00",
        "tax_total": "3315.26",
    }
    assert quote["grand_total"] == "28817.26"
    # The freight line has no product: its price is set by hand, so a manager approves it.
    assert quote["needs_approval"] is True
    assert quote["send_blockers"] == [
        "Lines without a product are priced by hand: submit the quote for approval first."
    ]

    line = quote["lines"][1]
    url = f"/api/v1/quotes/{quote['id']}/"
    changed = api.patch(f"{url}lines/{line['id']}/", {"quantity": "5", "discount_percent": "5"})
    assert changed.status_code == 200 and changed.json()["net"] == "4039.87"  # 4252.50 - 212.63
    header = api.patch(url, {"tax_rate": "6", "title": "Pumps, valves"})
    assert header.status_code == 200
    body = header.json()
    # Net 21,600 + 4,039.87 + 500 = 26,139.87; 6 % tax = 1,568.39.
    assert (body["title"], body["tax_total"], body["grand_total"]) == (
        "Pumps, valves",
        "1568.39",
        "27708.26",
    )
    assert api.delete(f"{url}lines/{quote['lines'][2]['id']}/").status_code == 204
    assert [x["description"] for x in api.get(f"{url}lines/").json()] == [
        "Centrifugal pump",
        "Ball valve 球阀",
    ]
    with tenant_context(alpha):
        assert AuditEntry.objects.filter(channel="api", object_id=quote["id"]).count() >= 3


def test_bad_input_names_the_field_or_line_and_saves_nothing(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api
    with tenant_context(alpha):
        opp = make_opportunity(rep, currency="CNY")
        before = Quote.objects.count()
    bad = api.post(
        "/api/v1/quotes/",
        {
            "opportunity": opp.pk,
            "valid_until": "2026-13-01",
            "lines": [{"product": catalogue.pump.pk}, {"quantity": "0", "description": "x"}],
        },
    )
    assert bad.status_code == 400 and "valid_until" in bad.json()
    half = api.post(
        "/api/v1/quotes/",
        {
            "opportunity": opp.pk,
            "lines": [
                {"product": catalogue.pump.pk, "quantity": "2"},
                {"description": "Freight"},  # no list price
                {"product": catalogue.valve.pk, "discount_percent": "150"},
            ],
        },
    )
    assert half.status_code == 400, half.content
    errors = half.json()["lines"]
    assert errors[0] == {} and "list_price" in errors[1] and "discount_percent" in errors[2]
    with tenant_context(alpha):
        assert Quote.objects.count() == before  # no quote, no number used

    quote = api.post("/api/v1/quotes/", {"opportunity": opp.pk}).json()
    lines = f"/api/v1/quotes/{quote['id']}/lines/"
    assert api.post(lines, {"product": 424242}).json() == {"product": ["There is no such product."]}
    priced = api.post(lines, {"product": catalogue.pump.pk, "list_price": "1"})
    assert priced.status_code == 400 and "price book" in priced.json()["list_price"][0]
    same = api.post(lines, {"product": catalogue.pump.pk, "list_price": "12000"})
    assert same.status_code == 201
    assert api.post(lines, {"quantity": "abc", "description": "x"}).status_code == 400
    unknown_opp = api.post("/api/v1/quotes/", {"opportunity": 99999999})
    assert unknown_opp.status_code == 400 and "opportunity" in unknown_opp.json()


def test_discount_above_the_limit_blocks_sending_until_a_manager_approves(
    alpha, rep, rep_api, manager, catalogue
):
    _rep, api = rep_api
    boss = api_of(alpha, "manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="20")
    url = f"/api/v1/quotes/{quote.pk}/"
    detail = api.get(url).json()
    assert detail["needs_approval"] is True and detail["discount_limit"] == "15.00"
    assert any("approval" in reason for reason in detail["send_blockers"])
    blocked = api.post(f"{url}send/", {})
    assert blocked.status_code == 400 and "approval" in blocked.json()["status"][0]

    submitted = api.post(f"{url}submit/", {"comment": "Big order"})
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review"
    own = api.post(f"{url}approve/", {"comment": "me"})
    assert own.status_code == 403 and "own quote" in own.json()["detail"]
    assert boss.get(f"{url}").json()["may_approve"] is True
    waiting = boss.get("/api/v1/quotes/approvals/").json()["results"]
    assert [q["id"] for q in waiting] == [quote.pk]
    assert api.get("/api/v1/quotes/approvals/").status_code == 403
    no_reason = boss.post(f"{url}decline/", {"comment": " "})
    assert no_reason.status_code == 400 and "comment" in no_reason.json()
    approved = boss.post(f"{url}approve/", {"comment": "OK for this volume"})
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", manager.pk)

    sent = api.post(f"{url}send/", {})
    assert sent.status_code == 201 and sent.json()["number"] == 1
    history = [e["kind"] for e in api.get(f"{url}history/").json()]
    assert history[:3] == ["sent", "approved", "submitted"]


def test_a_line_without_a_product_needs_approval_like_a_discount_above_the_limit(
    alpha, rep, rep_api, manager, catalogue
):
    """A product line swapped for a line without a product at 60 % of its list price and no
    discount: the detail says approval is needed, sending is refused until a manager approved,
    and a new price on that line needs approval again."""
    _rep, api = rep_api
    boss = api_of(alpha, "manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        pump_line = quote.lines.get().pk
    url = f"/api/v1/quotes/{quote.pk}/"
    detail = api.get(url).json()
    assert detail["needs_approval"] is False and detail["send_blockers"] == []
    assert api.delete(f"{url}lines/{pump_line}/").status_code == 204
    added = api.post(
        f"{url}lines/", {"description": "Centrifugal pump", "list_price": "7200", "quantity": "2"}
    )
    assert added.status_code == 201, added.content
    line = added.json()
    detail = api.get(url).json()
    assert detail["max_discount"] == "0.00" and detail["grand_total"] == "16272.00"
    assert detail["needs_approval"] is True
    assert detail["send_blockers"] == [
        "Lines without a product are priced by hand: submit the quote for approval first."
    ]
    blocked = api.post(f"{url}send/", {})
    assert blocked.status_code == 400 and "priced by hand" in blocked.json()["status"][0]

    assert api.post(f"{url}submit/", {}).json()["status"] == "in_review"
    approved = boss.post(f"{url}approve/", {"comment": "Special price"}).json()
    assert approved["status"] == "approved" and approved["needs_approval"] is False
    assert approved["send_blockers"] == []

    changed = api.patch(f"{url}lines/{line['id']}/", {"list_price": "6000"})
    assert changed.status_code == 200 and changed.json()["net"] == "12000.00"
    detail = api.get(url).json()
    assert detail["status"] == "draft" and detail["needs_approval"] is True
    assert api.post(f"{url}send/", {}).status_code == 400
    assert api.get(f"{url}versions/").json() == []


def test_send_freezes_a_version_that_later_edits_leave_alone(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="10", quantity="1")
        line_id = quote.lines.get().pk
    url = f"/api/v1/quotes/{quote.pk}/"
    v1 = api.post(f"{url}send/", {}).json()
    assert v1["number"] == 1 and v1["grand_total"] == "12204.00"  # 10,800 + 13 %
    frozen = api.get(f"{url}versions/1/").json()["snapshot"]
    assert frozen["lines"][0]["quantity"] == "1.00"

    assert api.patch(f"{url}lines/{line_id}/", {"quantity": "3"}).status_code == 200
    assert api.get(url).json()["status"] == "draft"
    assert api.get(f"{url}versions/1/").json()["snapshot"] == frozen
    v2 = api.post(f"{url}send/", {}).json()
    assert v2["number"] == 2 and v2["grand_total"] == "36612.00"
    assert [v["number"] for v in api.get(f"{url}versions/").json()] == [1, 2]

    pdf = api.get(f"{url}versions/1/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    assert f"{quote.number}-v1.pdf" in pdf["Content-Disposition"]
    asked = api.client.get(f"{url}versions/2/pdf/", HTTP_ACCEPT="application/pdf", **api.headers)
    assert asked.status_code == 200 and asked.content.startswith(b"%PDF")
    assert api.get(f"{url}versions/3/pdf/").status_code == 404

    accepted = api.post(f"{url}accept/", {"comment": "PO 4711"})
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["customer_note"]) == ("accepted", "PO 4711")
    final = api.patch(url, {"terms": "new"})
    assert final.status_code == 400 and "status" in final.json()


def test_a_rep_never_sees_another_teams_quotes(alpha, rep, rep_api, manager, other_rep, catalogue):
    _rep, api = rep_api
    boss = api_of(alpha, "manager@alpha.test", "sales_manager")
    with tenant_context(alpha):
        mine = quote_with(rep, catalogue)
        theirs = quote_with(other_rep, catalogue)
        services.quote_send(theirs, actor=other_rep, channel="web")
        line_id = theirs.lines.get().pk
    assert [q["id"] for q in api.get("/api/v1/quotes/").json()["results"]] == [mine.pk]
    url = f"/api/v1/quotes/{theirs.pk}/"
    for path in (url, f"{url}versions/", f"{url}versions/1/", f"{url}versions/1/pdf/"):
        assert api.get(path).status_code == 404, path
    assert api.patch(url, {"title": "Mine now"}).status_code == 404
    assert api.patch(f"{url}lines/{line_id}/", {"quantity": "9"}).status_code == 404
    assert api.post(f"{url}accept/", {}).status_code == 404
    # The manager of the rep's team sees the rep's quote, not the other team's.
    assert [q["id"] for q in boss.get("/api/v1/quotes/").json()["results"]] == [mine.pk]
    assert boss.get(f"{url}versions/1/pdf/").status_code == 404
    # Quoting on an opportunity one cannot see is refused by name.
    refused = api.post("/api/v1/quotes/", {"opportunity": theirs.opportunity_id})
    assert refused.status_code == 400 and "opportunity" in refused.json()
    with tenant_context(alpha):
        theirs.refresh_from_db()
        assert theirs.title == "Pump deal" and theirs.status == "sent"


def test_an_id_of_another_workspace_answers_404(alpha, beta, rep, beta_api, catalogue):
    _beta_admin, other = beta_api
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        services.quote_send(quote, actor=rep, channel="web")
    with tenant_context(beta):
        assert not Quote.objects.filter(pk=quote.pk).exists()
    url = f"/api/v1/quotes/{quote.pk}/"
    for path in (url, f"{url}versions/1/", f"{url}versions/1/pdf/", f"{url}lines/"):
        assert other.get(path).status_code == 404, path
    assert other.post(f"{url}accept/", {}).status_code == 404
    assert other.get("/api/v1/quotes/").json()["results"] == []
    assert other.get(f"/api/v1/products/{catalogue.pump.pk}/").status_code == 404


def test_list_filters(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api
    with tenant_context(alpha):
        first = quote_with(rep, catalogue)
        second = quote_with(rep, catalogue)
        services.quote_send(second, actor=rep, channel="web")
    by_status = api.get("/api/v1/quotes/", status="sent").json()["results"]
    assert [q["id"] for q in by_status] == [second.pk]
    by_account = api.get("/api/v1/quotes/", account=first.account_id).json()["results"]
    assert [q["id"] for q in by_account] == [first.pk]
    by_opp = api.get("/api/v1/quotes/", opportunity=second.opportunity_id).json()["results"]
    assert [q["id"] for q in by_opp] == [second.pk]
    bad = api.get("/api/v1/quotes/", status="lost")
    assert bad.status_code == 400 and "status" in bad.json()


def test_list_queries_do_not_grow_with_quotes(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api

    def make(count: int) -> None:
        with tenant_context(alpha):
            opp = make_opportunity(rep, currency="CNY")
            for _ in range(count):
                services.quote_create(opp, actor=rep, channel="web")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/api/v1/quotes/")
        assert response.status_code == 200
        return len(captured)

    make(2)
    api.get("/api/v1/quotes/")  # warm caches (token, settings)
    two = queries()
    make(18)
    twenty = queries()
    assert len(api.get("/api/v1/quotes/").json()["results"]) == 20
    assert 0 < twenty == two


def test_the_schema_documents_the_quote_endpoints(alpha, rep_api):
    _rep, api = rep_api
    document = api.get("/api/schema/", format="json").json()
    for path in (
        "/api/v1/products/",
        "/api/v1/products/{id}/deactivate/",
        "/api/v1/product-categories/",
        "/api/v1/price-books/{id}/prices/",
        "/api/v1/price-books/{id}/prices/{entry_id}/",
        "/api/v1/opportunities/{id}/products/",
        "/api/v1/opportunities/{id}/products/{item_id}/",
        "/api/v1/quotes/",
        "/api/v1/quotes/{id}/lines/{line_id}/",
        "/api/v1/quotes/{id}/approve/",
        "/api/v1/quotes/{id}/send/",
        "/api/v1/quotes/approvals/",
        "/api/v1/quotes/{id}/versions/{number}/pdf/",
    ):
        assert path in document["paths"], path
    pdf = document["paths"]["/api/v1/quotes/{id}/versions/{number}/pdf/"]["get"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]
    assert "QuoteStatusEnum" in document["components"]["schemas"]


def test_detail_queries_do_not_grow_with_lines(alpha, rep, rep_api, catalogue):
    _rep, api = rep_api
    with tenant_context(alpha):
        opp = make_opportunity(rep, currency="CNY")
        quote = services.quote_create(opp, actor=rep, channel="web")
        for data in ({"product": catalogue.pump}, {"description": "Freight", "list_price": "5"}):
            services.quote_line_save(quote, actor=rep, data=data, channel="web")
    url = f"/api/v1/quotes/{quote.pk}/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url)
        assert response.status_code == 200
        return len(captured)

    api.get(url)  # warm caches (token, settings)
    few = queries()
    with tenant_context(alpha):
        for product in [catalogue.valve, catalogue.service] * 5:
            services.quote_line_save(quote, actor=rep, data={"product": product}, channel="web")
    many = queries()
    assert len(api.get(url).json()["lines"]) == 12
    assert 0 < many == few
