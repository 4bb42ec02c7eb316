"""Opportunity pages: list, detail, form, stage moves and the kanban board.

Every page reads through `selectors.opportunity_list` (record security) and writes through
`opportunities` (the services); an opportunity outside the viewer's scope is a 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core_crm.access.models import Action, Team
from core_crm.access.policy import (
    PermissionDenied,
    access_or_404,
    assignable_owners,
    can,
    require_create,
    scope_for,
)
from core_crm.audit.selectors import history_of
from core_crm.customers import selectors as customer_selectors
from core_crm.customers.models import PicklistValue
from core_crm.customers.views import form_name
from core_crm.customfields.forms import add_custom_fields, custom_data
from core_crm.customfields.values import definitions
from core_crm.customfields.values import display as cf_display
from core_crm.users.models import User
from guanxi.http import show_errors

from . import opportunities as services
from .currency import base_currency, rates
from .history import readable_history
from .models import (
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityTeamMember,
    Pipeline,
    Stage,
)
from .selectors import (
    OUTCOMES,
    PERIODS,
    Filters,
    apply_filters,
    opportunity_list,
    stage_or_error,
    stage_totals,
)
from .selectors import totals as sum_totals

OBJECT_TYPE = "opportunity"
CARDS_PER_PAGE = 20


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _language() -> str:
    return get_language() or "en"


def _url_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _pipelines() -> list[Pipeline]:
    language = _language()
    pipelines = list(
        Pipeline.objects.filter(is_active=True).prefetch_related(
            Prefetch("stages", queryset=Stage.objects.filter(is_active=True).order_by("position"))
        )
    )
    for pipeline in pipelines:
        pipeline.label = pipeline.display(language)  # type: ignore[attr-defined]
        for stage in pipeline.stages.all():
            stage.label = stage.display(language)  # type: ignore[attr-defined]
    return pipelines


def _filter_context(user: User, f: Filters) -> dict[str, Any]:
    return {
        "filters": f,
        "periods": PERIODS.items(),
        "outcomes": OUTCOMES.items(),
        "owners": assignable_owners(user, OBJECT_TYPE)
        if scope_for(user, OBJECT_TYPE, Action.READ) != "own"
        else User.objects.filter(pk=user.pk),
        "teams": Team.objects.all()
        if scope_for(user, OBJECT_TYPE, Action.READ) == "all"
        else Team.objects.filter(members=user),
        "base_currency": base_currency(),
    }


@login_required
def opportunity_list_page(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    f = Filters.from_query(request.GET)
    queryset = apply_filters(opportunity_list(user), user, f)
    rows = queryset.select_related("account", "stage", "owner", "pipeline").order_by(
        "close_date", "pk"
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    language = _language()
    readable = set(
        customer_selectors.account_list(user)
        .filter(pk__in=[o.account_id for o in page.object_list])
        .values_list("pk", flat=True)
    )
    for opp in page.object_list:
        opp.stage_label = opp.stage.display(language)  # type: ignore[attr-defined]
        opp.account_readable = opp.account_id in readable  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "sales/list.html",
        {
            "page": page,
            "totals": sum_totals(queryset),
            "pipelines": _pipelines(),
            "query": query.urlencode(),
            "can_create": scope_for(user, OBJECT_TYPE, Action.CREATE) == "all",
            **_filter_context(user, f),
        },
    )


class OpportunityForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    account = forms.TypedChoiceField(label=gettext_lazy("Account"), coerce=int)
    primary_contact = forms.TypedChoiceField(
        label=gettext_lazy("Primary contact"), coerce=int, required=False, empty_value=None
    )
    pipeline = forms.TypedChoiceField(label=gettext_lazy("Pipeline"), coerce=int)
    stage = forms.TypedChoiceField(label=gettext_lazy("Stage"), coerce=int)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=16, decimal_places=2
    )
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    close_date = forms.DateField(
        label=gettext_lazy("Expected close date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    probability = forms.IntegerField(
        label=gettext_lazy("Probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=gettext_lazy("Leave empty to use the stage's default."),
    )
    forecast_category = forms.ChoiceField(
        label=gettext_lazy("Forecast category"), choices=ForecastCategory.choices
    )
    source = forms.TypedChoiceField(
        label=gettext_lazy("Source"), coerce=int, required=False, empty_value=None
    )
    lost_reason = forms.TypedChoiceField(
        label=gettext_lazy("Lost reason"), coerce=int, required=False, empty_value=None
    )
    next_step = forms.CharField(label=gettext_lazy("Next step"), max_length=255, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        account_id: int | None,
        stored: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        language = _language()
        accounts = customer_selectors.account_list(user).order_by("name")
        choices = list(accounts.values_list("pk", "name")[:1000])
        if account_id and all(pk != account_id for pk, _n in choices):
            choices += list(accounts.filter(pk=account_id).values_list("pk", "name"))
        self.fields["account"].choices = [("", "—"), *choices]  # type: ignore[attr-defined]
        contacts = customer_selectors.contact_list(user)
        if account_id:
            contacts = contacts.filter(account_id=account_id)
        self.fields["primary_contact"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *[(c.pk, str(c)) for c in contacts.order_by("last_name")[:500]],
        ]
        pipelines = _pipelines()
        self.fields["pipeline"].choices = [  # type: ignore[attr-defined]
            (p.pk, p.label)  # type: ignore[attr-defined]
            for p in pipelines
        ]
        self.fields["stage"].choices = [  # type: ignore[attr-defined]
            (p.label, [(s.pk, s.label) for s in p.stages.all()])  # type: ignore[attr-defined]
            for p in pipelines
        ]
        # A deal keeps offering its own currency after that currency was switched off (a
        # closed deal in it stays editable; the service refuses it for open ones).
        codes = set(rates())
        current = (self.initial or {}).get("currency")
        if current:
            codes.add(str(current))
        self.fields["currency"].choices = [  # type: ignore[attr-defined]
            (code, code) for code in sorted(codes)
        ]
        for name, picklist in (("source", "source"), ("lost_reason", "lost_reason")):
            values = PicklistValue.objects.filter(picklist=picklist, is_active=True)
            self.fields[name].choices = [  # type: ignore[attr-defined]
                ("", "—"),
                *[(v.pk, v.display(language)) for v in values],
            ]
        self.custom_definitions = add_custom_fields(self, OBJECT_TYPE, stored)


def _form_data(form: OpportunityForm) -> dict[str, Any]:
    """The form's plain fields the service takes (its WRITABLE set), plus custom values."""
    data = {name: value for name, value in form.cleaned_data.items() if name in services.WRITABLE}
    data["custom_fields"] = custom_data(form, form.custom_definitions)
    return data


@login_required
def opportunity_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _actor(request)
    opp = access_or_404(user, opportunity_list(user), pk, OBJECT_TYPE) if pk else None
    # Refuse up front rather than let someone fill in a form that cannot be saved.
    try:
        if opp is None:
            require_create(user, OBJECT_TYPE)
        elif not can(user, Action.EDIT, opp, OBJECT_TYPE):
            raise PermissionDenied(_("Your role does not allow editing this opportunity."))
    except PermissionDenied as exc:
        raise Forbidden(str(exc)) from exc
    account_id: int | None = opp.account_id if opp else None
    raw_account = request.POST.get("account") or request.GET.get("account")
    if raw_account and str(raw_account).isdigit():
        account_id = int(raw_account)
    stored = (opp.custom_fields or {}) if opp is not None else None
    if opp is not None:
        initial = {
            "name": opp.name,
            "account": opp.account_id,
            "primary_contact": opp.primary_contact_id,
            "pipeline": opp.pipeline_id,
            "stage": opp.stage_id,
            "amount": opp.amount,
            "currency": opp.currency,
            "close_date": opp.close_date,
            "probability": opp.probability,
            "forecast_category": opp.forecast_category,
            "source": opp.source_id,
            "lost_reason": opp.lost_reason_id,
            "next_step": opp.next_step,
            "description": opp.description,
        }
    else:
        first = Pipeline.objects.filter(is_active=True).first()
        initial = {
            "account": account_id,
            "currency": base_currency(),
            "pipeline": first.pk if first else None,
            "forecast_category": ForecastCategory.PIPELINE,
        }
    if request.method == "POST":
        form = OpportunityForm(
            request.POST, user=user, account_id=account_id, initial=initial, stored=stored
        )
        if form.is_valid():
            data = _form_data(form)
            try:
                if opp is None:
                    opp = services.opportunity_create(actor=user, data=data, channel="web")
                    messages.success(request, _("Opportunity created."))
                else:
                    opp = services.opportunity_update(opp, actor=user, data=data, channel="web")
                    messages.success(request, _("Changes saved."))
                return redirect("opportunity_detail", opp.pk)
            except ValidationError as exc:
                show_errors(form, exc, form_name)
        status = 400
    else:
        form = OpportunityForm(user=user, account_id=account_id, initial=initial, stored=stored)
        status = 200
    return render(request, "sales/form.html", {"form": form, "opp": opp}, status=status)


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    opp = access_or_404(
        user,
        opportunity_list(user).select_related(
            "account", "primary_contact", "stage", "pipeline", "owner", "source", "lost_reason"
        ),
        pk,
        OBJECT_TYPE,
    )
    language = _language()
    stages = list(opp.pipeline.stages.filter(is_active=True).order_by("position"))
    for stage in stages:
        stage.label = stage.display(language)  # type: ignore[attr-defined]
    changes = list(
        opp.stage_changes.select_related("from_stage", "to_stage", "actor").order_by(
            "-changed_at", "-pk"
        )[:100]
    )
    for change in changes:
        change.to_label = change.to_stage.display(language)  # type: ignore[attr-defined]
        change.from_label = (  # type: ignore[attr-defined]
            change.from_stage.display(language) if change.from_stage else ""
        )
    stored = opp.custom_fields or {}
    custom = [
        (field.display_label(language), cf_display(field, stored.get(field.key), language))
        for field in definitions(OBJECT_TYPE)
    ]
    can_edit = can(user, Action.EDIT, opp, OBJECT_TYPE)
    return render(
        request,
        "sales/detail.html",
        {
            "opp": opp,
            "stage_label": opp.stage.display(language),
            "stages": stages,
            "changes": changes,
            "custom": custom,
            "contact_roles": opp.contact_roles.select_related("contact", "role"),
            "team": opp.team.select_related("user"),
            "competitors": opp.competitors.all(),
            "history": readable_history(history_of(opp)[:50], user=user, language=language),
            "can_edit": can_edit,
            "can_delete": can(user, Action.DELETE, opp, OBJECT_TYPE),
            # A deal can be on an account its owner may not open: name it without a link.
            "account_readable": customer_selectors.account_list(user)
            .filter(pk=opp.account_id)
            .exists(),
            "lost_reasons": [
                (v.pk, v.display(language))
                for v in PicklistValue.objects.filter(picklist="lost_reason", is_active=True)
            ],
            "role_values": [
                (v.pk, v.display(language))
                for v in PicklistValue.objects.filter(picklist="contact_role", is_active=True)
            ],
            "account_contacts": customer_selectors.contact_list(user).filter(
                account_id=opp.account_id
            )[:200]
            if can_edit
            else [],
            "influences": OpportunityContact.Influence.choices,
            "attitudes": OpportunityContact.Attitude.choices,
            "member_roles": OpportunityTeamMember.Role.choices,
            "colleagues": User.objects.filter(is_active=True).exclude(pk=opp.owner_id)
            if can_edit
            else [],
            "owners": assignable_owners(user, OBJECT_TYPE) if can_edit else [],
            "products_url": _url_or_none("opportunity_products", opp.pk),
            "new_quote_url": _url_or_none("quote_new", opp.pk),
            "base_currency": base_currency(),
        },
    )


@login_required
@require_POST
def opportunity_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another stage (stage path buttons and the board). JSON for the board (with the
    new column figures), a redirect for plain forms."""
    user = _actor(request)
    opp = access_or_404(user, opportunity_list(user), pk, OBJECT_TYPE)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        stage = stage_or_error(request.POST.get("stage"))
        reason = request.POST.get("lost_reason") or None
        opp = services.opportunity_move(
            opp,
            actor=user,
            stage=stage,
            lost_reason=int(reason) if reason and reason.isdigit() else None,
            lost_note=request.POST.get("lost_note", ""),
            channel="web",
        )
    except PermissionDenied as exc:
        if wants_json:
            return JsonResponse({"errors": {"stage": [str(exc)]}}, status=403)
        messages.error(request, str(exc))
        return redirect("opportunity_detail", pk)
    except ValidationError as exc:
        if wants_json:
            return JsonResponse({"errors": exc.message_dict}, status=400)
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect("opportunity_detail", pk)
    if wants_json:
        f = Filters.from_query(request.POST)
        f.stage = ""  # "stage" is the move's target here, not a filter: every column's figures
        queryset = apply_filters(opportunity_list(user), user, f).filter(
            pipeline_id=opp.pipeline_id
        )
        board_totals = sum_totals(queryset)
        return JsonResponse(
            {
                "id": opp.pk,
                "stage": opp.stage_id,
                "probability": opp.probability,
                "columns": _columns_json(stage_totals(queryset)),
                "totals": {
                    "total": _money(board_totals["total"]),
                    "weighted": _money(board_totals["weighted"]),
                },
            }
        )
    messages.success(request, _("Moved to %(stage)s.") % {"stage": opp.stage.display(_language())})
    return redirect("opportunity_detail", pk)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _columns_json(figures: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        str(stage_id): {
            "count": row["count"],
            "total": _money(row["total"]),
            "weighted": _money(row["weighted"]),
        }
        for stage_id, row in figures.items()
    }


@login_required
@require_POST
def opportunity_part(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """Contact roles, deal team, competitors and owner: add, change or remove from the detail
    page."""
    user = _actor(request)
    opp = access_or_404(user, opportunity_list(user), pk, OBJECT_TYPE)
    post = request.POST
    try:
        if part == "contact-role":
            services.contact_role_set(
                opp,
                actor=user,
                contact=int(post.get("contact") or 0),
                role=int(post.get("role") or 0),
                influence=post.get("influence", ""),
                attitude=post.get("attitude", ""),
                channel="web",
            )
        elif part == "contact-role-remove":
            services.contact_role_remove(
                opp, actor=user, role_id=int(post.get("id") or 0), channel="web"
            )
        elif part == "team":
            member = User.objects.filter(pk=post.get("user") or 0, is_active=True).first()
            if member is None:
                raise ValidationError({"user": [_("Choose a colleague.")]})
            services.team_member_add(
                opp, actor=user, user=member, role=post.get("role", ""), channel="web"
            )
        elif part == "team-remove":
            services.team_member_remove(
                opp, actor=user, member_id=int(post.get("id") or 0), channel="web"
            )
        elif part == "competitor":
            services.competitor_add(opp, actor=user, data=post.dict(), channel="web")
        elif part == "competitor-remove":
            services.competitor_remove(
                opp, actor=user, competitor_id=int(post.get("id") or 0), channel="web"
            )
        elif part == "owner":
            owner = User.objects.filter(pk=post.get("owner") or 0).first()
            if owner is None:
                raise ValidationError({"owner": [_("Choose a person.")]})
            services.opportunity_assign(opp, actor=user, owner=owner, channel="web")
        elif part == "delete":
            services.opportunity_delete(opp, actor=user, channel="web")
            messages.success(request, _("Opportunity deleted."))
            return redirect("opportunity_list")
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except (ValidationError, ValueError) as exc:
        details = exc.message_dict if isinstance(exc, ValidationError) else {}
        for errors in details.values() or [[_("Check the values entered.")]]:
            for error in errors:
                messages.error(request, error)
    return redirect("opportunity_detail", pk)


# --- The board --------------------------------------------------------------------------


def _board_pipeline(request: HttpRequest, pipelines: list[Pipeline]) -> Pipeline:
    wanted = request.GET.get("pipeline", "")
    for pipeline in pipelines:
        if str(pipeline.pk) == wanted:
            return pipeline
    if not pipelines:
        raise Http404
    return pipelines[0]


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """Kanban of one pipeline: a column per active stage with count, total and weighted total;
    the cards of each column load as the column scrolls into view."""
    user = _actor(request)
    if scope_for(user, OBJECT_TYPE, Action.READ) == "none":
        raise Http404
    pipelines = _pipelines()
    pipeline = _board_pipeline(request, pipelines)
    f = Filters.from_query(request.GET)
    f.pipeline, f.stage = str(pipeline.pk), ""
    queryset = apply_filters(opportunity_list(user), user, f)
    figures = stage_totals(queryset)
    empty = {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}
    columns = [
        {"stage": stage, "figures": figures.get(stage.pk, empty)} for stage in pipeline.stages.all()
    ]
    query = request.GET.copy()
    query["pipeline"] = str(pipeline.pk)
    language = _language()
    return render(
        request,
        "sales/board.html",
        {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": columns,
            "query": query.urlencode(),
            "lost_reasons": [
                (v.pk, v.display(language))
                for v in PicklistValue.objects.filter(picklist="lost_reason", is_active=True)
            ],
            "totals": sum_totals(queryset),
            "filters_data": {k: v for k, v in vars(f).items() if v},
            "can_create": scope_for(user, OBJECT_TYPE, Action.CREATE) == "all",
            **_filter_context(user, f),
        },
    )


@login_required
def board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """One page of a column's cards (htmx), in a fixed number of queries."""
    user = _actor(request)
    stage = Stage.objects.filter(pk=stage_id).first()
    if stage is None:
        raise Http404
    f = Filters.from_query(request.GET)
    f.pipeline, f.stage = str(stage.pipeline_id), str(stage.pk)
    queryset = (
        apply_filters(opportunity_list(user), user, f)
        .select_related("account", "owner")
        .order_by("close_date", "pk")
    )
    page = Paginator(queryset, CARDS_PER_PAGE).get_page(request.GET.get("page"))
    editable: set[int] = set()
    if page.object_list:
        from core_crm.access.policy import visible

        editable = set(
            visible(user, Opportunity.objects.all(), OBJECT_TYPE, Action.EDIT)
            .filter(pk__in=[o.pk for o in page.object_list])
            .values_list("pk", flat=True)
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "sales/_board_cards.html",
        {
            "page": page,
            "stage": stage,
            "editable": editable,
            "query": query.urlencode(),
            "base_currency": base_currency(),
        },
    )
