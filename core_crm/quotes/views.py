"""Pages for products, price books, opportunity line items and quotes: the same services and
selectors as the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core_crm.access.models import Action
from core_crm.access.policy import PermissionDenied, can, require_create
from core_crm.customers.models import Contact
from core_crm.sales.currency import rates
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from . import selectors, services
from .models import (
    OpportunityLineItem,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteVersion,
)
from .pdf import version_pdf

PAGE_SIZE = 25


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def opportunity_url(pk: int) -> str | None:
    """The opportunity page, when the sales pages are installed."""
    try:
        return reverse("opportunity_detail", args=[pk])
    except NoReverseMatch:
        return None


def _forbid(exc: PermissionDenied) -> Forbidden:
    return Forbidden(str(exc))


# --- forms --------------------------------------------------------------------------------


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["code", "name", "category", "unit", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        field.label_from_instance = lambda c: c.path()  # type: ignore[attr-defined]


class CategoryForm(forms.ModelForm):
    class Meta:
        model = ProductCategory
        fields = ["name", "parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].label_from_instance = lambda c: c.path()  # type: ignore[attr-defined]


class PriceBookForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("currency"))

    class Meta:
        model = PriceBook
        fields = ["name", "currency", "is_standard", "is_active", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = sorted(rates())
        current = getattr(self.instance, "currency", "")
        if current and current not in codes:
            codes.append(current)
        self.fields["currency"].choices = [(c, c) for c in codes]  # type: ignore[attr-defined]


class PriceForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=_("Product"))
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, decimal_places=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = selectors.active_products()  # type: ignore[attr-defined]


class LineItemForm(forms.Form):
    price_book = forms.ModelChoiceField(queryset=PriceBook.objects.none(), label=_("Price book"))
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=_("Product"))
    quantity = forms.DecimalField(label=_("Quantity"), initial=1, decimal_places=2)
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), initial=0, required=False, decimal_places=2
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_book"].queryset = selectors.active_books(currency)  # type: ignore[attr-defined]
        self.fields["product"].queryset = selectors.active_products()  # type: ignore[attr-defined]


class QuoteForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), label=_("Contact"), required=False
    )
    price_book = forms.ModelChoiceField(
        queryset=PriceBook.objects.none(), label=_("Price book"), required=False
    )
    tax_rate = forms.DecimalField(label=_("Tax rate (%)"), decimal_places=2)
    valid_until = forms.DateField(
        label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    terms = forms.CharField(
        label=_("Terms"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, user: User, account: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from core_crm.customers.selectors import contact_list

        self.fields["contact"].queryset = contact_list(user).filter(account=account)  # type: ignore[attr-defined]
        self.fields["price_book"].queryset = selectors.active_books(currency)  # type: ignore[attr-defined]


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), label=_("Product"), required=False
    )
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), initial=1, decimal_places=2)
    list_price = forms.DecimalField(label=_("List price"), required=False, decimal_places=2)
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), initial=0, required=False, decimal_places=2
    )

    def __init__(self, *args: Any, book: PriceBook | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = selectors.active_products()
        if book is not None:
            products = products.filter(prices__price_book=book, prices__is_active=True)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]


def _data(form: forms.Form) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    if "discount_percent" in data and data["discount_percent"] is None:
        data["discount_percent"] = Decimal(0)
    if data.get("list_price") is None:
        data.pop("list_price", None)
    return data


# --- catalogue pages (workspace admins) ----------------------------------------------------


def _admin_only(request: HttpRequest) -> None:
    if not _actor(request).is_workspace_admin:
        raise Forbidden(_("Only workspace admins can maintain products and price books."))


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    q = request.GET.get("q", "").strip()
    products = Product.objects.select_related("category").order_by("-is_active", "name")
    if q:
        products = products.filter(Q(name__icontains=q) | Q(code__icontains=q))
    page = Paginator(products, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "quotes/product_list.html",
        {"page": page, "q": q, "categories": ProductCategory.objects.select_related("parent")},
    )


@login_required
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin_only(request)
    product = get_object_or_404(Product, pk=pk) if pk else None
    form = ProductForm(posted(request), instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.product_save(
                actor=_actor(request),
                data=form.cleaned_data,
                channel="web",
                product=Product.objects.get(pk=pk) if pk else None,
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": saved.name})
            return redirect("product_list")
    prices = (
        PriceBookEntry.objects.filter(product=product).select_related("price_book")
        if product
        else []
    )
    return render(
        request, "quotes/product_form.html", {"form": form, "product": product, "prices": prices}
    )


@login_required
def category_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = CategoryForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.category_save(actor=_actor(request), data=form.cleaned_data, channel="web")
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Category added."))
            return redirect("product_categories")
    categories = sorted(ProductCategory.objects.select_related("parent"), key=lambda c: c.path())
    return render(request, "quotes/category_list.html", {"form": form, "categories": categories})


@login_required
def price_book_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    from django.db.models import Count

    books = PriceBook.objects.annotate(products=Count("entries"))
    return render(request, "quotes/price_book_list.html", {"books": books})


@login_required
def price_book_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin_only(request)
    book = get_object_or_404(PriceBook, pk=pk) if pk else None
    form = PriceBookForm(
        posted(request) if request.POST.get("form") != "price" else None, instance=book
    )
    price_form = PriceForm(request.POST if request.POST.get("form") == "price" else None)
    actor = _actor(request)
    if request.method == "POST" and request.POST.get("form") == "price" and book is not None:
        if price_form.is_valid():
            try:
                services.price_set(
                    actor=actor,
                    book=book,
                    product=price_form.cleaned_data["product"],
                    unit_price=price_form.cleaned_data["unit_price"],
                    channel="web",
                )
            except ValidationError as exc:
                show_errors(price_form, exc)
            else:
                messages.success(request, _("Price saved."))
                return redirect("price_book_edit", pk=book.pk)
    elif request.method == "POST" and form.is_valid():
        try:
            saved = services.price_book_save(
                actor=actor,
                data=form.cleaned_data,
                channel="web",
                book=PriceBook.objects.get(pk=pk) if pk else None,
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Price book “%(name)s” saved.") % {"name": saved.name})
            return redirect("price_book_edit", pk=saved.pk)
    entries = book.entries.select_related("product") if book else []
    return render(
        request,
        "quotes/price_book_form.html",
        {"form": form, "book": book, "entries": entries, "price_form": price_form},
    )


@login_required
@require_POST
def price_remove(request: HttpRequest, pk: int, entry_pk: int) -> HttpResponse:
    _admin_only(request)
    entry = get_object_or_404(PriceBookEntry, pk=entry_pk, price_book_id=pk)
    services.price_remove(actor=_actor(request), entry=entry, channel="web")
    messages.success(request, _("Product taken out of the price book."))
    return redirect("price_book_edit", pk=pk)


# --- opportunity products -------------------------------------------------------------------


@login_required
def opportunity_products(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    opp = selectors.access_opportunity(actor, pk)
    can_edit = can(actor, Action.EDIT, opp, "opportunity")
    form = LineItemForm(posted(request), currency=opp.currency)
    items = list(opp.line_items.select_related("product", "price_book"))
    if not form.is_bound:
        book = selectors.default_book(opp, items)
        form.fields["price_book"].initial = book.pk if book else None
    if request.method == "POST":
        if not can_edit:
            raise Forbidden(_("Your role does not allow editing this opportunity."))
        if form.is_valid():
            try:
                services.line_item_save(opp, actor=actor, data=_data(form), channel="web")
            except ValidationError as exc:
                show_errors(form, exc)
            except PermissionDenied as exc:
                raise _forbid(exc) from exc
            else:
                messages.success(request, _("Product added; the opportunity's amount follows."))
                return redirect("opportunity_products", pk=opp.pk)
    return render(
        request,
        "quotes/opportunity_products.html",
        {
            "opp": opp,
            "opp_url": opportunity_url(opp.pk),
            "items": items,
            "total": sum((i.net for i in items), Decimal("0.00")),
            "form": form,
            "can_edit": can_edit,
            "books": selectors.active_books(opp.currency).exists(),
            "quotes": selectors.quote_list(actor).filter(opportunity=opp),
        },
    )


@login_required
@require_POST
def opportunity_product_change(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    actor = _actor(request)
    opp = selectors.access_opportunity(actor, pk)
    item = get_object_or_404(OpportunityLineItem, pk=item_pk, opportunity=opp)
    try:
        if request.POST.get("delete"):
            services.line_item_delete(item, actor=actor, channel="web")
            messages.success(request, _("Product removed."))
        else:
            services.line_item_save(
                opp,
                actor=actor,
                channel="web",
                item=item,
                # Only what was sent changes; an emptied discount box means no discount.
                data={
                    **(
                        {"quantity": request.POST["quantity"]} if "quantity" in request.POST else {}
                    ),
                    **(
                        {"discount_percent": request.POST["discount_percent"] or "0"}
                        if "discount_percent" in request.POST
                        else {}
                    ),
                },
            )
            messages.success(request, _("Product changed."))
    except ValidationError as exc:
        for field_errors in exc.message_dict.values():
            for message in field_errors:
                messages.error(request, message)
    except PermissionDenied as exc:
        raise _forbid(exc) from exc
    return redirect("opportunity_products", pk=opp.pk)


# --- quotes -------------------------------------------------------------------------------


@login_required
def quote_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    quotes = selectors.quote_list(actor)
    status = request.GET.get("status", "")
    owner = request.GET.get("owner", "")
    mine = bool(request.GET.get("mine"))
    q = request.GET.get("q", "").strip()
    if status in QuoteStatus.values:
        quotes = quotes.filter(status=status)
    if owner.isdigit():
        quotes = quotes.filter(owner_id=int(owner))
    if mine:
        quotes = quotes.filter(owner=actor)
    if q:
        quotes = quotes.filter(
            Q(number__icontains=q) | Q(account__name__icontains=q) | Q(title__icontains=q)
        )
    page = Paginator(quotes.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    owners = User.objects.filter(pk__in=selectors.quote_list(actor).values("owner_id")).order_by(
        "full_name"
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "quotes/quote_list.html",
        {
            "page": page,
            "status": status,
            "statuses": QuoteStatus.choices,
            "owner": owner,
            "owners": owners,
            "mine": mine,
            "q": q,
            "query": query.urlencode(),
            "filtered": bool(status or owner or mine or q),
            "waiting": selectors.approval_inbox(actor).count()
            if selectors.is_approver(actor)
            else None,
        },
    )


@login_required
def approval_inbox(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not selectors.is_approver(actor):
        raise Forbidden(_("Only managers and workspace admins decide on quote discounts."))
    return render(
        request,
        "quotes/approvals.html",
        {"quotes": selectors.approval_inbox(actor), "limit": services.discount_limit()},
    )


@login_required
def quote_new(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    opp = selectors.access_opportunity(actor, pk)
    try:
        require_create(actor, "quote")
    except PermissionDenied as exc:
        raise _forbid(exc) from exc
    from core_crm.workspace.models import workspace_settings

    ws = workspace_settings()
    items = list(opp.line_items.select_related("price_book"))
    book = selectors.default_book(opp, items)
    form = QuoteForm(
        posted(request),
        user=actor,
        account=opp.account,
        currency=opp.currency,
        initial={
            "title": opp.name,
            "contact": opp.primary_contact_id,
            "price_book": book.pk if book else None,
            "tax_rate": ws.default_tax_rate,
            "valid_until": timezone.localdate() + timedelta(days=ws.quote_validity_days),
        },
    )
    if items:
        form.fields["price_book"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if items:
            data.pop("price_book", None)
        try:
            quote = services.quote_create(opp, actor=actor, data=data, channel="web")
        except ValidationError as exc:
            show_errors(form, exc)
        except PermissionDenied as exc:
            raise _forbid(exc) from exc
        else:
            messages.success(request, _("Quote %(number)s created.") % {"number": quote.number})
            return redirect("quote_detail", pk=quote.pk)
    return render(
        request,
        "quotes/quote_new.html",
        {"form": form, "opp": opp, "items": items, "opp_url": opportunity_url(opp.pk)},
    )


def _detail_context(request: HttpRequest, quote: Quote) -> dict[str, Any]:
    actor = _actor(request)
    can_edit = can(actor, Action.EDIT, quote, "quote")
    lines = list(quote.lines.select_related("product"))
    editable = can_edit and quote.status not in ("accepted", "rejected")
    limit = services.discount_limit()
    approval = services.approval(quote, lines=lines, limit=limit)
    return {
        "quote": quote,
        "lines": lines,
        "can_edit": can_edit,
        "editable": editable,
        "line_form": LineForm(book=quote.price_book, prefix="new"),
        "approval": approval,
        "needs_approval": approval.needed,
        "limit": limit,
        "blockers": services.send_blockers(quote, lines=lines, need=approval, limit=limit),
        "may_approve": services.may_approve(actor, quote) and quote.status == "in_review",
        "versions": list(quote.versions.select_related("sent_by")),
        "events": list(quote.events.select_related("actor")[:30]),
        "opp_url": opportunity_url(quote.opportunity_id),
    }


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.access_quote(_actor(request), pk)
    return render(request, "quotes/quote_detail.html", _detail_context(request, quote))


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.access_quote(actor, pk)
    if not can(actor, Action.EDIT, quote, "quote"):
        raise Forbidden(_("Your role does not allow editing this quote."))
    form = QuoteForm(
        posted(request),
        user=actor,
        account=quote.account,
        currency=quote.currency,
        initial={
            "title": quote.title,
            "contact": quote.contact_id,
            "price_book": quote.price_book_id,
            "tax_rate": quote.tax_rate,
            "valid_until": quote.valid_until,
            "terms": quote.terms,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.quote_update(quote, actor=actor, data=form.cleaned_data, channel="web")
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Quote saved."))
            return redirect("quote_detail", pk=quote.pk)
    return render(request, "quotes/quote_edit.html", {"form": form, "quote": quote})


def _report(
    request: HttpRequest, exc: ValidationError, fields: dict[str, forms.Field] | None = None
) -> None:
    """A service's errors as messages, each prefixed with its field's label when `fields`
    (a form's fields) has it."""
    for name, field_errors in exc.message_dict.items():
        field = (fields or {}).get(name)
        for message in field_errors:
            messages.error(request, f"{field.label}: {message}" if field else message)


@login_required
@require_POST
def quote_line(request: HttpRequest, pk: int, line_pk: int | None = None) -> HttpResponse:
    """Add a line (no line_pk), change one, or delete one (POST delete=1)."""
    actor = _actor(request)
    quote = selectors.access_quote(actor, pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote) if line_pk else None
    try:
        if line is not None and request.POST.get("delete"):
            services.quote_line_delete(line, actor=actor, channel="web")
            messages.success(request, _("Line removed."))
        else:
            form = LineForm(request.POST, book=quote.price_book, prefix=None if line else "new")
            if line is not None:
                form.fields["quantity"].required = True
            if not form.is_valid():
                for name, errors in form.errors.items():
                    label = form.fields[name].label if name in form.fields else ""
                    for message in errors:
                        messages.error(request, f"{label}: {message}" if label else str(message))
                return redirect("quote_detail", pk=quote.pk)
            data = _data(form)
            if line is not None:
                data = {k: v for k, v in data.items() if k in request.POST}
                if "product" not in request.POST:
                    data.pop("product", None)
            services.quote_line_save(quote, actor=actor, data=data, channel="web", line=line)
            messages.success(request, _("Line saved.") if line else _("Line added."))
    except ValidationError as exc:
        _report(request, exc, LineForm.base_fields)
    except PermissionDenied as exc:
        raise _forbid(exc) from exc
    return redirect("quote_detail", pk=quote.pk)


@login_required
@require_POST
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """submit, approve, decline, accept, reject (by the customer)."""
    actor = _actor(request)
    quote = selectors.access_quote(actor, pk)
    comment = request.POST.get("comment", "")
    done = {
        "submit": _("Submitted for approval; approvers have been told."),
        "approve": _("Quote approved; the owner has been told."),
        "decline": _("Approval refused; the quote is back with its owner as a draft."),
        "accept": _("The customer's acceptance is recorded."),
        "reject": _("The customer's rejection is recorded."),
    }
    try:
        if action == "submit":
            services.quote_submit(quote, actor=actor, channel="web", comment=comment)
        elif action == "approve":
            services.quote_approve(quote, actor=actor, channel="web", comment=comment)
        elif action == "decline":
            services.quote_decline(quote, actor=actor, channel="web", comment=comment)
        elif action == "accept":
            services.quote_accept(quote, actor=actor, channel="web", note=comment)
        elif action == "reject":
            services.quote_reject(quote, actor=actor, channel="web", note=comment)
        else:
            raise Http404
    except ValidationError as exc:
        _report(request, exc)
    except PermissionDenied as exc:
        raise _forbid(exc) from exc
    else:
        messages.success(request, done[action])
    if action in ("approve", "decline") and request.POST.get("next") == "inbox":
        return redirect("quote_approvals")
    return redirect("quote_detail", pk=quote.pk)


def overlap_rows(user: User, quote: Quote) -> list[dict[str, Any]]:
    """Every other open quote on the account, whoever owns it: readable ones in full, the
    others only by number, owner, status and date."""
    others = selectors.with_readable(user, selectors.other_open_quotes(quote))
    return [
        {"quote": other, "readable": other.readable, "owner": other.owner}  # type: ignore[attr-defined]
        for other in others
    ]


@login_required
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.access_quote(actor, pk)
    if not can(actor, Action.EDIT, quote, "quote"):
        raise Forbidden(_("Your role does not allow editing this quote."))
    if request.method == "POST":
        try:
            version = services.quote_send(quote, actor=actor, channel="web")
        except ValidationError as exc:
            _report(request, exc)
        else:
            messages.success(
                request,
                _("Quote %(number)s sent as version %(version)s.")
                % {"number": quote.number, "version": version.number},
            )
            return redirect("quote_detail", pk=quote.pk)
    return render(
        request,
        "quotes/quote_send.html",
        {
            "quote": quote,
            "blockers": services.send_blockers(quote),
            "others": overlap_rows(actor, quote),
            "next_version": quote.versions.count() + 1,
        },
    )


def _version(request: HttpRequest, pk: int, number: int) -> QuoteVersion:
    quote = selectors.access_quote(_actor(request), pk)
    return get_object_or_404(QuoteVersion, quote=quote, number=number)


@login_required
def version_print(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    return render(request, "quotes/print.html", {"version": version, "snap": version.snapshot})


@login_required
def version_pdf_view(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk, number)
    response = HttpResponse(version_pdf(version), content_type="application/pdf")
    name = f"{version.snapshot['number']}-v{version.number}.pdf"
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def account_tab(request: HttpRequest, account: Any) -> str:
    """The account 360° "Quotes" tab: every quote on the account, so two people do not offer
    the customer two prices unknowingly; those the viewer may not read only by number, owner,
    status and date."""
    quotes = selectors.account_quotes(_actor(request), account)
    rows = list(quotes[:100])
    return render_to_string(
        "quotes/_account_tab.html",
        {
            "quotes": rows,
            "count": quotes.count(),
            "account": account,
            "limited": any(not quote.readable for quote in rows),  # type: ignore[attr-defined]
        },
        request=request,
    )
