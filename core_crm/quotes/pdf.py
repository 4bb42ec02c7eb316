"""A quote version as PDF (reportlab). Chinese renders through reportlab's built-in CID font
STSong-Light, so no font file is needed on the server."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .templatetags.quotes_tags import money

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def render_snapshot(snap: dict[str, Any]) -> bytes:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=colors.grey)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=20)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11)

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    currency = snap["currency"]
    story: list[Any] = [
        p(_("Quote %(number)s") % {"number": snap["number"]}, title),
        p(f"{snap['title']} · " + _("version %(n)s") % {"n": snap.get("version", "")}, small),
        Spacer(1, 5 * mm),
    ]
    contact = (snap.get("contact") or {}).get("name", "")
    header = [
        [p(_("Customer")), p(snap["account"]["name"]), p(_("Valid until")), p(snap["valid_until"])],
        [p(_("Contact")), p(contact or "—"), p(_("Sent")), p(str(snap.get("sent_at", ""))[:10])],
        [p(_("Prepared by")), p(snap["owner"]["name"]), p(_("Currency")), p(currency)],
    ]
    table = Table(header, colWidths=[28 * mm, 62 * mm, 28 * mm, 52 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, Spacer(1, 6 * mm)]

    rows: list[list[Any]] = [
        [p(h, cell) for h in ("#", _("Item"), _("Qty"), _("List price"), _("Discount"), _("Net"))]
    ]
    for line in snap["lines"]:
        item = line["description"] or line["product_name"]
        if line.get("product_code"):
            item = f"{item}\n{line['product_code']}"
        rows.append(
            [
                p(line["position"], cell),
                p(item, cell),
                p(
                    f"{Decimal(line['quantity']).normalize():f} {line.get('unit') or ''}".strip(),
                    cell,
                ),
                p(money(line["list_price"]), cell),
                p(f"{Decimal(line['discount_percent']).normalize():f} %", cell),
                p(money(line["net"]), cell),
            ]
        )
    lines = Table(
        rows, colWidths=[8 * mm, 70 * mm, 20 * mm, 26 * mm, 18 * mm, 28 * mm], repeatRows=1
    )
    lines.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [lines, Spacer(1, 5 * mm)]
    totals = snap["totals"]
    tax_label = _("Tax (%(rate)s %%)") % {"rate": f"{Decimal(snap['tax_rate']).normalize():f}"}
    sums = [
        [p(_("Subtotal")), p(money(totals["subtotal"], currency))],
        [p(_("Discounts")), p("−" + money(totals["discount_total"], currency))],
        [p(_("Net total")), p(money(totals["net_total"], currency))],
        [p(tax_label), p(money(totals["tax_total"], currency))],
        [p(_("Grand total")), p(money(totals["grand_total"], currency))],
    ]
    sum_table = Table(sums, colWidths=[40 * mm, 40 * mm], hAlign="RIGHT")
    sum_table.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]))
    story.append(sum_table)
    if snap.get("terms"):
        story += [Spacer(1, 6 * mm), p(_("Terms"), small), p(snap["terms"])]

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{snap['number']} v{snap.get('version', '')}",
    )
    doc.build(story)
    return buffer.getvalue()


def version_pdf(version: Any) -> bytes:
    return render_snapshot(version.snapshot)
