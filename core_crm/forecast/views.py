"""Pages of the forecast, quotas and sales reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core_crm.access.models import Team
from core_crm.sales.selectors import totals as sales_totals
from core_crm.users.models import User

from . import selectors, services
from .models import PeriodKind
from .periods import Period, month, parse_period, period_choices, quarter
from .permissions import (
    may_manage_quotas,
    may_read_opportunities,
    readable_quotas,
    settable_teams,
    settable_users,
)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "forecast/no_access.html", status=403)


def _chart(result: selectors.Forecast) -> dict[str, Any]:
    rows = result.people
    return {
        "labels": [r.name for r in rows],
        "quota": [float(r.figures.quota or 0) for r in rows],
        "won": [float(r.figures.won) for r in rows],
        "commit": [float(r.figures.commit) for r in rows],
        "series": [_("Quota"), _("Closed won"), _("Commit")],
        "currency": result.currency,
    }


@login_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    if not may_read_opportunities(viewer):
        return _no_access(request)
    errors: dict[str, list[str]] = {}
    try:
        period = parse_period(request.GET.get("period"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        period = parse_period(None)
    scope_key = request.GET.get("scope") or selectors.default_scope(viewer)
    try:
        result = selectors.forecast(viewer, period, scope_key)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        scope_key = selectors.default_scope(viewer)
        result = selectors.forecast(viewer, period, scope_key)
    base = {"period": period.key, "scope": scope_key}

    def link(column: str, row: selectors.Row | None) -> str:
        params = {**base, "column": column}
        if row is not None:
            params["owner" if row.kind == "user" else "team"] = str(row.id)
        return "/forecast/opportunities/?" + urlencode(params)

    def decorate(row: selectors.Row | None, figures: selectors.Figures) -> dict[str, Any]:
        return {
            "row": row,
            "f": figures,
            "links": {c: link(c, row) for c in selectors.COLUMNS},
        }

    return render(
        request,
        "forecast/forecast.html",
        {
            "result": result,
            "people": [decorate(r, r.figures) for r in result.people],
            "teams": [decorate(r, r.figures) for r in result.teams],
            "total": decorate(None, result.total),
            "period": period,
            "previous": period.shifted(-1),
            "next": period.shifted(1),
            "scope_key": scope_key,
            "scopes": selectors.scope_choices(viewer),
            "periods": period_choices(),
            "chart": _chart(result),
            "errors": errors,
            "may_manage_quotas": may_manage_quotas(viewer),
        },
        status=400 if errors else 200,
    )


DRILL_DOWN_PAGE_SIZE = 100
COLUMN_LABELS = {
    "won": gettext_lazy("Closed won"),
    "commit": gettext_lazy("Commit"),
    "best_case": gettext_lazy("Best case"),
    "pipeline": gettext_lazy("Pipeline"),
}


@login_required
def drill_down_page(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    if not may_read_opportunities(viewer):
        return _no_access(request)
    column = request.GET.get("column", "commit")
    try:
        period = parse_period(request.GET.get("period"))
        scope = selectors.resolve_scope(viewer, request.GET.get("scope"))
        rows = selectors.drill_down(
            viewer,
            period,
            scope,
            column,
            owner=_int(request.GET.get("owner")),
            team=_int(request.GET.get("team")),
        )
    except ValidationError as exc:
        return render(request, "forecast/drill_down.html", {"errors": exc.message_dict}, status=400)
    page = Paginator(rows, DRILL_DOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    total = sales_totals(rows)["total"]  # of every row, not only this page's
    from core_crm.sales.currency import base_currency

    # Name the person or team only when they are in the viewer's scope: an id of another team
    # must read like one that does not exist (the rows are empty either way).
    who = ""
    if owner_id := _int(request.GET.get("owner")):
        people = User.objects.filter(pk=owner_id)
        if scope.key != "all":  # everyone's includes people who left since
            people = people.filter(pk__in=[u.pk for u in scope.users])
        who = str(people.first() or "")
    elif team_id := _int(request.GET.get("team")):
        who = next((str(t) for t in scope.teams if t.pk == team_id), "")
    back = "/forecast/?" + urlencode(
        {"period": period.key, "scope": request.GET.get("scope") or ""}
    )
    return render(
        request,
        "forecast/drill_down.html",
        {
            "page": page,
            "opportunities": page.object_list,
            "column_label": COLUMN_LABELS.get(column, column),
            "period": period,
            "who": who,
            "total": total,
            "count": page.paginator.count,
            "currency": base_currency(),
            "back": back,
            "errors": {},
        },
    )


# --- Quotas ------------------------------------------------------------------------------------


def _grid_periods(kind: str, year: int) -> list[Period]:
    if kind == PeriodKind.QUARTER:
        return [quarter(dt.date(year, m, 1)) for m in (1, 4, 7, 10)]
    return [month(dt.date(year, m, 1)) for m in range(1, 13)]


@login_required
@require_http_methods(["GET", "POST"])
def quotas_page(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    params = request.POST if request.method == "POST" else request.GET
    asked = params.get("kind")
    kind: str = asked if asked is not None and asked in PeriodKind.values else PeriodKind.QUARTER
    year = _int(params.get("year")) or timezone.localdate().year
    year = min(max(year, 2000), 2100)
    periods = _grid_periods(kind, year)
    editable = may_manage_quotas(viewer)
    users = list(settable_users(viewer)) if editable else []
    teams = list(settable_teams(viewer)) if editable else []
    if not users and not teams:
        # Nothing to set: one's own quotas (and one's teams'), read only.
        users, teams, editable = [viewer], list(Team.objects.filter(members=viewer)), False
    errors: dict[str, list[str]] = {}
    submitted: dict[str, str] = {}
    if request.method == "POST":
        if not editable:
            return _no_access(request)
        cells: dict[str, services.QuotaChange] = {}
        for who, prefix in [(u, "u") for u in users] + [(t, "t") for t in teams]:
            for period in periods:
                name = f"{prefix}{who.pk}-{period.start:%Y-%m-%d}"
                if name not in request.POST:
                    continue
                raw = request.POST[name]
                submitted[name] = raw
                try:
                    amount = services.clean_amount(raw, name)
                except ValidationError as exc:
                    errors.update(exc.message_dict)
                    continue
                cells[name] = services.QuotaChange(
                    kind,
                    period.start,
                    amount,
                    user=who if prefix == "u" else None,  # type: ignore[arg-type]
                    team=who if prefix == "t" else None,  # type: ignore[arg-type]
                )
        if not errors:
            try:
                changed = services.quotas_save(actor=viewer, cells=cells, channel="web")
            except ValidationError as exc:
                errors.update(exc.message_dict)
            else:
                messages.success(
                    request,
                    _("Quotas saved (%(n)d changed).") % {"n": changed}
                    if changed
                    else _("No quota changed."),
                )
                return redirect(f"/forecast/quotas/?{urlencode({'kind': kind, 'year': year})}")
    existing = {
        (q.user_id, q.team_id, q.period_start): q.amount
        for q in readable_quotas(viewer).filter(
            period_kind=kind, period_start__in=[p.start for p in periods]
        )
    }

    def line(who: Any, prefix: str) -> dict[str, Any]:
        cells = []
        for period in periods:
            name = f"{prefix}{who.pk}-{period.start:%Y-%m-%d}"
            key = (who.pk, None, period.start) if prefix == "u" else (None, who.pk, period.start)
            value = submitted.get(name, existing.get(key))
            cells.append({"name": name, "value": value, "errors": errors.get(name, [])})
        amounts = [existing.get(k) for k in existing if k[:2] == key[:2]]
        return {
            "name": str(who),
            "cells": cells,
            "year_total": sum((a for a in amounts if a is not None), Decimal(0)),
        }

    from core_crm.sales.currency import base_currency

    return render(
        request,
        "forecast/quotas.html",
        {
            "kind": kind,
            "year": year,
            "periods": periods,
            "people": [line(u, "u") for u in users],
            "teams": [line(t, "t") for t in teams],
            "editable": editable,
            "errors": errors,
            "currency": base_currency(),
            "kinds": PeriodKind.choices,
        },
        status=400 if errors else 200,
    )


# --- Reports -----------------------------------------------------------------------------------


def _report_filters(request: HttpRequest, viewer: User) -> dict[str, Any]:
    owners = selectors.resolve_scope(viewer, selectors.default_scope(viewer))
    return {
        "owners": sorted(owners.users, key=lambda u: (u.full_name or u.email).lower()),
        "teams": owners.teams,
        "owner": _int(request.GET.get("owner")),
        "team": _int(request.GET.get("team")),
    }


@login_required
def pipeline_report_page(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    if not may_read_opportunities(viewer):
        return _no_access(request)
    filters = _report_filters(request, viewer)
    errors: dict[str, list[str]] = {}
    period = None
    if request.GET.get("period"):
        try:
            period = parse_period(request.GET.get("period"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    blocks = selectors.pipeline_report(
        viewer, owner=filters["owner"], team=filters["team"], period=period
    )
    language = request.LANGUAGE_CODE
    chart = [
        {
            "name": b.name,
            "labels": [line.stage.display(language) for line in b.open_lines],
            "total": [float(line.total) for line in b.open_lines],
            "weighted": [float(line.weighted) for line in b.open_lines],
        }
        for b in blocks
    ]
    from core_crm.sales.currency import base_currency

    return render(
        request,
        "forecast/pipeline_report.html",
        {
            "blocks": blocks,
            "chart": {"pipelines": chart, "series": [_("Total"), _("Weighted")]},
            "period": period,
            "period_key": request.GET.get("period", ""),
            "periods": period_choices(),
            "currency": base_currency(),
            "errors": errors,
            **filters,
        },
        status=400 if errors else 200,
    )


@login_required
def win_loss_page(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    if not may_read_opportunities(viewer):
        return _no_access(request)
    filters = _report_filters(request, viewer)
    errors: dict[str, list[str]] = {}
    try:
        period = parse_period(request.GET.get("period"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        period = parse_period(None)
    result = selectors.win_loss(viewer, period, owner=filters["owner"], team=filters["team"])
    chart = {
        "labels": [r.name for r in result.lost_reasons],
        "counts": [r.count for r in result.lost_reasons],
        "amounts": [float(r.amount) for r in result.lost_reasons],
        "series": [_("Lost deals"), _("Lost amount")],
    }
    return render(
        request,
        "forecast/win_loss.html",
        {
            "result": result,
            "period": period,
            "periods": period_choices(),
            "chart": chart,
            "errors": errors,
            **filters,
        },
        status=400 if errors else 200,
    )
