"""The quote pages over HTTP: versions as PDF and print pages, the approval flow, record
security, bad line input and the list's query count.

Money in the fixture (standard CNY book, tax 13 %, discount limit 15 %):
  pump 12,000.00 x 2 = 24,000.00 gross
  10 % off: discount 2,400.00, net 21,600.00, tax 2,808.00, grand total 24,408.00
   5 % off: discount 1,200.00, net 22,800.00, tax 2,964.00, grand total 25,764.00
   5 % off, tax 10 %:               net 22,800.00, tax 2,280.00, grand total 25,080.00
"""

from __future__ import annotations

import html as html_lib
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from core_crm.notifications.models import Notification
from core_crm.quotes import services
from core_crm.quotes.models import Quote, QuoteEvent, QuoteLine, QuoteVersion

from ..customfields.helpers import client_for
from ..sales.factories import make_opportunity
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


def plain(html: str) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    return html_lib.unescape(text_of(html))


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


# --- Lines without a product need approval ----------------------------------------------------

HAND_PRICED = "Lines without a product are priced by hand: submit the quote for approval first."


def test_a_line_without_a_product_waits_for_a_managers_approval(
    alpha, rep, manager, rep_client, manager_client, catalogue
):
    """The bypass: the pump line replaced by a line without a product at 60 % of the pump's
    list price, no discount. It is not sent until a manager approved it."""
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        pump_line = quote.lines.get()
    rep_client.post(f"/quotes/{quote.pk}/lines/{pump_line.pk}/", {"delete": "1"})
    rep_client.post(
        f"/quotes/{quote.pk}/lines/",
        {
            "new-description": "Centrifugal pump",
            "new-quantity": "2",
            "new-list_price": "7200",
            "new-discount_percent": "0",
        },
    )
    with tenant_context(alpha):
        quote.refresh_from_db()
        line = quote.lines.get()
        assert line.product is None and quote.max_discount == Decimal("0.00")
        assert quote.grand_total == Decimal("16272.00")  # 14,400 + 13 %

    detail = rep_client.get(f"/quotes/{quote.pk}/").content.decode()
    hint = plain(detail.split('data-testid="needs-approval"')[1].split("</p>")[0])
    assert (
        "Lines without a product are priced by hand: submit the quote for approval before "
        "sending it." in hint
    )
    assert 'data-testid="submit-for-approval"' in detail
    assert 'data-testid="send-link"' not in detail
    assert HAND_PRICED in plain(detail.split('data-testid="send-blockers"')[1])
    send_page = rep_client.get(f"/quotes/{quote.pk}/send/").content.decode()
    assert HAND_PRICED in plain(send_page)
    assert 'data-testid="confirm-send" disabled' in send_page
    refused = rep_client.post(f"/quotes/{quote.pk}/send/")
    assert refused.status_code == 200 and HAND_PRICED in messages_of(refused)
    with tenant_context(alpha):
        assert not QuoteVersion.objects.filter(quote=quote).exists()

    submitted = rep_client.post(f"/quotes/{quote.pk}/submit/", follow=True)
    assert "Submitted for approval; approvers have been told." in messages_of(submitted)
    banner = plain(
        rep_client.get(f"/quotes/{quote.pk}/")
        .content.decode()
        .split('data-testid="review-banner"')[1]
        .split("</div>")[0]
    )
    assert "Waiting for a manager's approval: lines without a product are priced by hand." in (
        banner
    )
    inbox = manager_client.get("/quotes/approvals/").content.decode()
    item = plain(inbox.split('data-testid="approval-item"')[1].split("</li>")[0])
    assert "largest discount 0 %" in item and "lines priced by hand" in item
    assert "16,272.00 CNY" in item
    manager_client.post(f"/quotes/{quote.pk}/approve/", {"comment": "Special price"})
    assert rep_client.post(f"/quotes/{quote.pk}/send/").status_code == 302
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "sent"

    # A new price on the line, through the line form: back to draft, and approval again.
    rep_client.post(
        f"/quotes/{quote.pk}/lines/{line.pk}/",
        {"quantity": "2", "list_price": "6000", "discount_percent": "0"},
    )
    with tenant_context(alpha):
        quote.refresh_from_db()
        assert quote.status == "draft" and quote.grand_total == Decimal("13560.00")
    refused = rep_client.post(f"/quotes/{quote.pk}/send/")
    assert refused.status_code == 200 and HAND_PRICED in messages_of(refused)
    with tenant_context(alpha):
        assert QuoteVersion.objects.filter(quote=quote).count() == 1


def test_the_inbox_names_both_a_discount_and_lines_priced_by_hand(
    alpha, rep, manager, rep_client, manager_client, catalogue
):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="20")
        services.quote_line_save(
            quote, actor=rep, data={"description": "Freight", "list_price": "500"}, channel="web"
        )
    detail = plain(rep_client.get(f"/quotes/{quote.pk}/").content.decode())
    assert (
        "A discount of 20 % is above the limit of 15 %: submit the quote for approval before "
        "sending it." in detail
    )
    assert "Lines without a product are priced by hand, so they need the approval too." in detail
    rep_client.post(f"/quotes/{quote.pk}/submit/")
    inbox = manager_client.get("/quotes/approvals/").content.decode()
    item = plain(inbox.split('data-testid="approval-item"')[1].split("</li>")[0])
    assert "largest discount 20 %" in item and "lines priced by hand" in item
    assert "or with lines priced by hand" in plain(inbox)


# --- The account: timeline and quotes tab ----------------------------------------------------


def quote_items(page: str) -> list[str]:
    """The text of each quote item of the account timeline."""
    return [
        plain(item)
        for item in re.findall(r'<li class="relative" data-source="quotes">(.*?)</li>', page, re.S)
    ]


def test_the_timeline_shows_what_each_sent_version_cost(alpha, rep, rep_client, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="10", quantity="1")
        services.quote_send(quote, actor=rep, channel="web")  # 10,800 + 13 % = 12,204.00
        services.quote_line_save(
            quote, actor=rep, line=quote.lines.get(), data={"quantity": "3"}, channel="web"
        )
        services.quote_send(quote, actor=rep, channel="web")  # 32,400 + 13 % = 36,612.00
        services.quote_line_save(
            quote, actor=rep, line=quote.lines.get(), data={"quantity": "5"}, channel="web"
        )  # the working copy moves on: 61,020.00, not sent
    items = quote_items(rep_client.get(f"/customers/{quote.account_id}/").content.decode())
    v1 = [item for item in items if f"Quote {quote.number} sent (v1)" in item]
    v2 = [item for item in items if f"Quote {quote.number} sent (v2)" in item]
    assert len(v1) == len(v2) == 1, items
    assert "12,204.00 CNY" in v1[0] and "36,612.00" not in v1[0] and "61,020.00" not in v1[0]
    assert "36,612.00 CNY" in v2[0] and "12,204.00" not in v2[0] and "61,020.00" not in v2[0]


def _account_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    client.get(url)  # warm caches (content types, workspace settings)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_the_quote_timeline_queries_do_not_grow_with_sent_quotes(alpha, rep, rep_client, catalogue):
    with tenant_context(alpha):
        first = quote_with(rep, catalogue)
        account = first.account

        def send(n: int) -> None:
            for i in range(n):
                opp = make_opportunity(rep, account=account, name=f"Deal {i}", currency="CNY")
                services.quote_send(
                    quote_with(rep, catalogue, opp=opp, quantity=str(i + 1)),
                    actor=rep,
                    channel="web",
                )

        services.quote_send(first, actor=rep, channel="web")
        send(1)
    url = f"/customers/{account.pk}/?source=quotes"
    few = _account_queries(rep_client, url)
    assert len(quote_items(rep_client.get(url).content.decode())) == 2
    with tenant_context(alpha):
        send(6)
    many = _account_queries(rep_client, url)
    assert len(quote_items(rep_client.get(url).content.decode())) == 8
    assert many == few


def _rows(page: str, testid: str) -> dict[str, str]:
    """Rows (`<tr>` or `<li>`) with this test id, by the quote number they start with."""
    rows = re.findall(rf'<(tr|li)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', page, re.S)
    found = {}
    for _tag, row in rows:
        text = plain(row)
        number = re.search(r"Q-\d{4}-\d{4}", text)
        assert number, text
        found[number.group(0)] = row
    return found


@pytest.fixture
def shared_account(alpha, rep, other_rep, catalogue):  # type: ignore[no-untyped-def]
    """The rep's account with the rep's quote, a sent quote of another team's rep (who may not
    be read by the rep) and an answered one of theirs."""
    with tenant_context(alpha):
        mine = quote_with(rep, catalogue)
        account = mine.account
        west = make_opportunity(other_rep, account=account, name="West deal", currency="CNY")
        theirs = quote_with(other_rep, catalogue, opp=west, quantity="3", discount="5")
        theirs.title = "Wu's secret offer"
        theirs.save(update_fields=["title"])
        services.quote_send(theirs, actor=other_rep, channel="web")
        theirs.refresh_from_db()
        old = make_opportunity(other_rep, account=account, name="Old deal", currency="CNY")
        answered = quote_with(other_rep, catalogue, opp=old, quantity="7")
        services.quote_send(answered, actor=other_rep, channel="web")
        services.quote_accept(answered, actor=other_rep, channel="web")
        answered.refresh_from_db()
        return {"mine": mine, "theirs": theirs, "answered": answered, "account": account}


def _secrets(quote: Quote) -> list[str]:
    return [
        f"{quote.grand_total:,.2f}",
        f"{quote.subtotal:,.2f}",
        quote.title,
        html_lib.escape(quote.title),
        f'href="/quotes/{quote.pk}/"',
    ]


def test_the_account_quotes_tab_lists_every_quote_but_only_what_the_viewer_may_read(
    alpha, rep, other_rep, rep_client, admin_client, shared_account
):
    mine, theirs = shared_account["mine"], shared_account["theirs"]
    answered = shared_account["answered"]
    url = f"/customers/{shared_account['account'].pk}/?tab=quotes"
    page = rep_client.get(url).content.decode()
    rows = _rows(page, "account-quote")
    assert set(rows) == {mine.number, theirs.number, answered.number}

    own = plain(rows[mine.number])
    assert "Pump deal" in own and "27,120.00 CNY" in own  # 24,000 + 13 %
    assert f'href="/quotes/{mine.pk}/"' in rows[mine.number]
    sent_on = timezone.localtime(theirs.sent_at).strftime("%m/%d/%Y")
    for quote, status in ((theirs, "Sent"), (answered, "Accepted")):
        row = plain(rows[quote.number])
        assert str(other_rep) in row and status in row, row
        assert not re.search(r"\d,\d{3}\.\d\d|\d\.\d\d", row), row  # no amount at all
        for secret in _secrets(quote):
            assert secret not in page, secret
    assert f"sent {sent_on}" in plain(rows[theirs.number])
    assert rep_client.get(f"/quotes/{theirs.pk}/").status_code == 404

    # The admin reads every quote: all in full.
    full = _rows(admin_client.get(url).content.decode(), "account-quote")
    assert set(full) == set(rows)
    for quote in (mine, theirs, answered):
        assert f"{quote.grand_total:,.2f} CNY" in plain(full[quote.number])
        assert f'href="/quotes/{quote.pk}/"' in full[quote.number]
    assert "Wu's secret offer" in plain(full[theirs.number])


def test_the_send_page_warns_about_every_other_open_quote_on_the_account(
    alpha, rep, other_rep, rep_client, admin_client, catalogue, shared_account
):
    mine, theirs = shared_account["mine"], shared_account["theirs"]
    account = shared_account["account"]
    with tenant_context(alpha):
        # One more of the rep's own, for another product: the rep reads it in full.
        opp = make_opportunity(rep, account=account, name="Valves", currency="CNY")
        valves = services.quote_create(opp, actor=rep, channel="web")
        services.quote_line_save(
            valves, actor=rep, data={"product": catalogue.valve, "quantity": "2"}, channel="web"
        )
        valves.refresh_from_db()
    page = rep_client.get(f"/quotes/{mine.pk}/send/").content.decode()
    assert "Other open quotes on this account:" in plain(page)
    rows = _rows(page, "other-quote")
    # The answered quote is not open: not a price the customer may still take.
    assert set(rows) == {theirs.number, valves.number}
    readable = plain(rows[valves.number])
    assert "1,922.13 CNY" in readable  # 1,701 + 13 %
    assert f'href="/quotes/{valves.pk}/"' in rows[valves.number]
    limited = plain(rows[theirs.number])
    assert str(other_rep) in limited and "Sent" in limited
    assert not re.search(r"\d,\d{3}\.\d\d|\d\.\d\d", limited), limited
    for secret in _secrets(theirs):
        assert secret not in page, secret
    full = _rows(admin_client.get(f"/quotes/{mine.pk}/send/").content.decode(), "other-quote")
    assert f"{theirs.grand_total:,.2f} CNY" in plain(full[theirs.number])


def test_account_tab_and_send_page_queries_do_not_grow_with_quotes(
    alpha, rep, other_rep, rep_client, catalogue, shared_account
):
    account, mine = shared_account["account"], shared_account["mine"]

    def add(n: int) -> None:
        with tenant_context(alpha):
            for i in range(n):
                for owner in (rep, other_rep):
                    opp = make_opportunity(owner, account=account, name=f"D{i}", currency="CNY")
                    quote_with(owner, catalogue, opp=opp)

    tab = f"/customers/{account.pk}/?tab=quotes"
    send = f"/quotes/{mine.pk}/send/"
    few = (_account_queries(rep_client, tab), _account_queries(rep_client, send))
    add(4)
    many = (_account_queries(rep_client, tab), _account_queries(rep_client, send))
    assert len(_rows(rep_client.get(tab).content.decode(), "account-quote")) == 11
    assert len(_rows(rep_client.get(send).content.decode(), "other-quote")) == 9
    assert many == few


def test_the_page_refuses_a_product_line_priced_off_the_book_and_keeps_the_shown_price(
    alpha, rep, rep_client, catalogue
):
    """The rule the API enforces holds on the page too: a product line takes the book's
    price; the price the page shows (the book's) is accepted as it is."""
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        line = quote.lines.get()
    url = f"/quotes/{quote.pk}/lines/"
    off_book = rep_client.post(
        url,
        {"new-product": catalogue.valve.pk, "new-quantity": "1", "new-list_price": "1"},
        follow=True,
    )
    assert any(
        "List price: A product line takes its list price from the price book (850.50 CNY)"
        in message
        for message in messages_of(off_book)
    ), messages_of(off_book)
    with tenant_context(alpha):
        assert quote.lines.count() == 1
    shown = rep_client.post(
        url, {"new-product": catalogue.valve.pk, "new-quantity": "1", "new-list_price": "850.50"}
    )
    assert shown.status_code == 302
    changed = rep_client.post(f"{url}{line.pk}/", {"quantity": "3", "list_price": "12000.00"})
    assert changed.status_code == 302
    with tenant_context(alpha):
        assert [(x.product, x.list_price) for x in quote.lines.all()] == [
            (catalogue.pump, Decimal("12000.00")),
            (catalogue.valve, Decimal("850.50")),
        ]
        assert quote.lines.get(pk=line.pk).quantity == Decimal("3.00")


def _detail_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    client.get(url)  # warm caches (content types, workspace settings, sessions)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_the_quote_detail_page_queries_do_not_grow_with_lines(alpha, rep, rep_client, catalogue):
    with tenant_context(alpha):
        quote = quote_with(rep, catalogue)
        services.quote_line_save(
            quote, actor=rep, data={"description": "Freight", "list_price": "500"}, channel="web"
        )
    url = f"/quotes/{quote.pk}/"
    few = _detail_queries(rep_client, url)
    with tenant_context(alpha):
        for product in [catalogue.valve, catalogue.service] * 5:
            services.quote_line_save(quote, actor=rep, data={"product": product}, channel="web")
    many = _detail_queries(rep_client, url)
    with tenant_context(alpha):
        assert quote.lines.count() == 12
    assert 0 < many == few
