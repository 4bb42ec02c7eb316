"""The quote pages over HTTP: versions as PDF and print pages, the approval flow, record
security, bad line input and the list's query count.

Money in the fixture (standard CNY book, tax 13 %, discount limit 15 %):
  pump 12,000.00 x 2 = 24,000.00 gross
  10 % off: discount 2,400.00, net 21,600.00, tax 2,808.00, grand total 24,408.00
   5 % off: discount 1,200.00, net 22,800.00, tax 2,964.00, grand total 25,764.00
   5 % off, tax 10 %:               net 22,800.00, tax 2,280.00, grand total 25,080.00
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from core_crm.notifications.models import Notification
from core_crm.quotes.models import Quote, QuoteEvent, QuoteLine, QuoteVersion

from ..customfields.helpers import client_for
from .conftest import quote_with

V1 = {"net": "21,600.00 CNY", "tax": "2,808.00 CNY", "grand": "24,408.00 CNY", "rate": "13"}
V2 = {"net": "22,800.00 CNY", "tax": "2,280.00 CNY", "grand": "25,080.00 CNY", "rate": "10"}


def pdf_text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def text_of(html: str) -> str:
    """The page's text without tags, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def print_totals(html: str) -> str:
    return text_of(html.split('class="totals"')[1].split("</table>")[0])


@pytest.fixture
def manager_client(alpha, manager):  # type: ignore[no-untyped-def]
    return client_for(alpha, manager.email)


@pytest.fixture
def other_client(alpha, other_rep):  # type: ignore[no-untyped-def]
    return client_for(alpha, other_rep.email)


# --- Versions: PDF and print ----------------------------------------------------------------


def test_each_sent_version_has_its_own_pdf_and_print_page(alpha, rep, rep_client, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="10", quantity="2")
        line = quote.lines.get()
    assert rep_client.post(f"/quotes/{quote.pk}/send/").status_code == 302

    v1 = pdf_text(rep_client.get(f"/quotes/{quote.pk}/versions/1/pdf/"))
    assert f"Quote {quote.number}" in v1
    assert "Centrifugal pump" in v1 and "P-100" in v1
    assert f"Net total\n{V1['net']}" in v1
    assert f"Tax (13 %)\n{V1['tax']}" in v1
    assert f"Grand total\n{V1['grand']}" in v1

    # Change the discount through the line form (the sent quote becomes a draft again) and
    # the tax rate through the edit page.
    rep_client.post(
        f"/quotes/{quote.pk}/lines/{line.pk}/", {"quantity": "2", "discount_percent": "5"}
    )
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "draft"
        assert quote.grand_total == Decimal("25764.00")
    edited = rep_client.post(
        f"/quotes/{quote.pk}/edit/",
        {
            "title": "Pump deal",
            "price_book": catalogue.standard.pk,
            "tax_rate": "10",
            "valid_until": quote.valid_until.isoformat(),
        },
    )
    assert edited.status_code == 302
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert (quote.tax_total, quote.grand_total) == (Decimal("2280.00"), Decimal("25080.00"))
        assert quote.price_book == catalogue.standard
    assert rep_client.post(f"/quotes/{quote.pk}/send/").status_code == 302
    with tenant_context(alpha):
        numbers = QuoteVersion.objects.filter(quote=quote).values_list("number", flat=True)
        assert list(numbers) == [1, 2]

    v2 = pdf_text(rep_client.get(f"/quotes/{quote.pk}/versions/2/pdf/"))
    assert f"Net total\n{V2['net']}" in v2 and f"Grand total\n{V2['grand']}" in v2
    assert f"Tax (10 %)\n{V2['tax']}" in v2  # not "1E+1 %"
    assert "version 2" in v2 and V1["grand"] not in v2
    again = pdf_text(rep_client.get(f"/quotes/{quote.pk}/versions/1/pdf/"))
    assert f"Grand total\n{V1['grand']}" in again and V2["grand"] not in again
    download = rep_client.get(f"/quotes/{quote.pk}/versions/2/pdf/?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="{quote.number}-v2.pdf"'

    for number, figures in ((1, V1), (2, V2)):
        page = rep_client.get(f"/quotes/{quote.pk}/versions/{number}/print/")
        assert page.status_code == 200
        html = page.content.decode()
        assert f"Quote {quote.number}" in html and f"version {number}" in html
        totals = print_totals(html)
        assert f"Net total {figures['net']}" in totals
        assert f"Tax ({figures['rate']} %) {figures['tax']}" in totals
        assert f"Grand total {figures['grand']}" in totals
    assert rep_client.get(f"/quotes/{quote.pk}/versions/3/pdf/").status_code == 404
    assert rep_client.get(f"/quotes/{quote.pk}/versions/3/print/").status_code == 404


# --- Approval -------------------------------------------------------------------------------


def test_discount_above_the_limit_waits_for_the_teams_manager(
    alpha, rep, manager, other_rep, rep_client, manager_client, other_client, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="20")
    blocker = "A discount of 20 % is above the limit of 15 %: submit the quote for approval first."

    send_page = rep_client.get(f"/quotes/{quote.pk}/send/").content.decode()
    assert blocker in send_page and 'data-testid="confirm-send" disabled' in send_page
    refused = rep_client.post(f"/quotes/{quote.pk}/send/")
    assert refused.status_code == 200
    assert blocker in messages_of(refused)
    detail = rep_client.get(f"/quotes/{quote.pk}/").content.decode()
    assert 'data-testid="submit-for-approval"' in detail
    assert 'data-testid="send-link"' not in detail
    with tenant_context(alpha):
        assert not QuoteVersion.objects.filter(quote=quote).exists()

    submitted = rep_client.post(
        f"/quotes/{quote.pk}/submit/", {"comment": "Volume order"}, follow=True
    )
    assert "Submitted for approval; approvers have been told." in messages_of(submitted)
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "in_review"
        request = Notification.objects.get(user=manager, kind="approval_request")
        assert request.title == f"Approve quote {quote.number} (discount 20 %)"
        assert request.body == "Volume order"
        assert not Notification.objects.filter(user=other_rep).exists()

    inbox = manager_client.get("/quotes/approvals/").content.decode()
    item = text_of(inbox.split('data-testid="approval-item"')[1].split("</li>")[0])
    assert f"{quote.number} · Pump deal" in item
    assert "largest discount 20 %" in item and "21,696.00 CNY" in item  # 19,200 + 13 %

    # Nobody else decides: a rep of another team cannot even see it, the owner is refused.
    assert other_client.get("/quotes/approvals/").status_code == 403
    assert other_client.post(f"/quotes/{quote.pk}/approve/", {"comment": "me"}).status_code == 404
    assert rep_client.post(f"/quotes/{quote.pk}/approve/", {"comment": "me"}).status_code == 403
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "in_review" and quote.approved_by is None

    approved = manager_client.post(
        f"/quotes/{quote.pk}/approve/", {"comment": "OK for this volume", "next": "inbox"}
    )
    assert approved.status_code == 302 and approved["Location"] == "/quotes/approvals/"
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "approved" and quote.approved_by == manager
        assert quote.events.filter(
            kind=QuoteEvent.Kind.APPROVED, actor=manager, comment="OK for this volume"
        ).exists()
        decision = Notification.objects.get(user=rep, kind="approval_decision")
        assert decision.title == f"Quote {quote.number} approved"
        assert decision.body == "OK for this volume"
    assert 'data-testid="empty-state"' in manager_client.get("/quotes/approvals/").content.decode()

    sent = rep_client.post(f"/quotes/{quote.pk}/send/", follow=True)
    assert f"Quote {quote.number} sent as version 1." in messages_of(sent)
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "sent"
        assert QuoteVersion.objects.get(quote=quote).snapshot["approved_by"] == str(manager)


def test_a_refusal_with_a_reason_leaves_the_quote_editable_and_tells_the_rep(
    alpha, rep, manager, rep_client, manager_client, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="30")
        line = quote.lines.get()
    rep_client.post(f"/quotes/{quote.pk}/submit/")

    no_reason = manager_client.post(f"/quotes/{quote.pk}/decline/", {"comment": " "}, follow=True)
    assert "Say why, so the owner can revise it." in messages_of(no_reason)
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "in_review"
        assert not Notification.objects.filter(user=rep, kind="approval_decision").exists()

    manager_client.post(f"/quotes/{quote.pk}/decline/", {"comment": "At most 15 % for them"})
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "draft" and quote.approved_by is None
        note = Notification.objects.get(user=rep, kind="approval_decision")
        assert note.title == f"Quote {quote.number} not approved"
        assert note.body == "At most 15 % for them"
        assert note.url == f"/quotes/{quote.pk}/"
    detail = rep_client.get(f"/quotes/{quote.pk}/").content.decode()
    assert "“At most 15 % for them”" in detail
    assert 'data-testid="add-line"' in detail and f'href="/quotes/{quote.pk}/edit/"' in detail

    rep_client.post(
        f"/quotes/{quote.pk}/lines/{line.pk}/", {"quantity": "2", "discount_percent": "15"}
    )
    with tenant_context(alpha):
        line.refresh_from_db()
        assert line.discount_percent == Decimal("15.00") and line.net == Decimal("20400.00")
    assert rep_client.post(f"/quotes/{quote.pk}/send/").status_code == 302
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "sent"


# --- Record security ------------------------------------------------------------------------


def test_another_teams_rep_finds_nothing_and_an_admin_sees_it(
    alpha, rep, rep_client, other_client, admin_client, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="5")
        line = quote.lines.get()
    rep_client.post(f"/quotes/{quote.pk}/send/")
    before = (Decimal("22800.00"), "sent")

    for path in (
        f"/quotes/{quote.pk}/",
        f"/quotes/{quote.pk}/edit/",
        f"/quotes/{quote.pk}/send/",
        f"/quotes/{quote.pk}/versions/1/print/",
        f"/quotes/{quote.pk}/versions/1/pdf/",
    ):
        assert other_client.get(path).status_code == 404, path
    assert other_client.post(f"/quotes/{quote.pk}/edit/", {"title": "Mine"}).status_code == 404
    assert (
        other_client.post(
            f"/quotes/{quote.pk}/lines/{line.pk}/", {"quantity": "1", "discount_percent": "50"}
        ).status_code
        == 404
    )
    assert other_client.post(f"/quotes/{quote.pk}/accept/").status_code == 404
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert (quote.subtotal - quote.discount_total, quote.status) == before
        assert quote.title == "Pump deal"
    listing = other_client.get("/quotes/").content.decode()
    assert quote.number not in listing and 'data-testid="empty-state"' in listing
    searched = other_client.get(f"/quotes/?q={quote.number}").content.decode()
    assert 'data-testid="quote-row"' not in searched and "No quote matches" in searched

    assert quote.number in rep_client.get("/quotes/").content.decode()
    admin_list = admin_client.get("/quotes/").content.decode()
    assert admin_list.count('data-testid="quote-row"') == 1 and quote.number in admin_list
    assert admin_client.get(f"/quotes/{quote.pk}/").status_code == 200
    assert "Grand total\n25,764.00 CNY" in pdf_text(
        admin_client.get(f"/quotes/{quote.pk}/versions/1/pdf/")
    )


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "discount", "label", "message"),
    [
        ("1", "150", "Discount (%)", "Enter a number of at most 100."),
        ("-2", "0", "Quantity", "Enter a number greater than 0."),
        ("two", "0", "Quantity", "Enter a number."),
    ],
)
def test_bad_line_input_names_the_field_and_saves_nothing(
    alpha, rep, rep_client, catalogue, quantity, discount, label, message
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="10")
        line = quote.lines.get()
    added = rep_client.post(
        f"/quotes/{quote.pk}/lines/",
        {
            "new-product": catalogue.valve.pk,
            "new-quantity": quantity,
            "new-discount_percent": discount,
        },
        follow=True,
    )
    assert f"{label}: {message}" in messages_of(added)
    assert f"{label}: {message}" in added.content.decode()
    changed = rep_client.post(
        f"/quotes/{quote.pk}/lines/{line.pk}/",
        {"quantity": quantity, "discount_percent": discount},
        follow=True,
    )
    assert f"{label}: {message}" in messages_of(changed)
    with tenant_context(alpha):
        assert list(QuoteLine.objects.filter(quote=quote)) == [line]
        line.refresh_from_db()
        assert (line.quantity, line.discount_percent) == (Decimal("2.00"), Decimal("10.00"))
        quote.refresh_from_db()
        assert quote.grand_total == Decimal("24408.00")


# --- Query count ----------------------------------------------------------------------------


def _list_queries(client) -> int:  # type: ignore[no-untyped-def]
    client.get("/quotes/")  # warm caches (workspace settings, sessions)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/quotes/")
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("who", ["rep", "admin"])
def test_quote_list_queries_do_not_grow_with_rows(
    alpha, rep, rep_client, admin_client, catalogue, who
):
    client = rep_client if who == "rep" else admin_client
    with tenant_context(alpha):
        for _n in range(2):
            quote_with(rep, catalogue)
    few = _list_queries(client)
    assert client.get("/quotes/").content.decode().count('data-testid="quote-row"') == 2
    with tenant_context(alpha):
        for _n in range(13):
            quote_with(rep, catalogue)
        assert Quote.objects.count() == 15
    many = _list_queries(client)
    assert client.get("/quotes/").content.decode().count('data-testid="quote-row"') == 15
    assert many == few
