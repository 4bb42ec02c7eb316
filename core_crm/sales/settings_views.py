"""Settings → Pipelines and Settings → Sales: the pages where workspace admins shape the sales
process (pipelines, stages) and money (base currency, currencies and rates, quote defaults).

The pages call the services and nothing else; anyone but a workspace admin gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core_crm.access.policy import PermissionDenied
from core_crm.users.models import User
from core_crm.workspace.models import workspace_settings
from guanxi.http import posted, show_errors

from . import currency_services, pipeline_services, services
from .models import Currency, Pipeline, Stage


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not (user.is_active and user.is_workspace_admin):
        raise Forbidden(_("Only a workspace admin can change the sales settings."))
    return user


def _pipeline(pk: int) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=pk).first()
    if pipeline is None:
        raise Http404
    return pipeline


def _stage(pk: int) -> Stage:
    stage = Stage.objects.select_related("pipeline").filter(pk=pk).first()
    if stage is None:
        raise Http404
    return stage


def _currency(pk: int) -> Currency:
    currency = Currency.objects.filter(pk=pk).first()
    if currency is None:
        raise Http404
    return currency


def _error_text(exc: ValidationError) -> str:
    return " ".join(m for messages_ in exc.message_dict.values() for m in messages_)


def _back(pipeline_id: int) -> HttpResponse:
    return redirect(reverse("settings_pipelines") + f"#pipeline-{pipeline_id}")


# --- Forms (not required: the services name what is missing, in the same words everywhere) -----


class PipelineForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name (English)"), max_length=100, required=False)
    name_zh = forms.CharField(label=gettext_lazy("Name (Chinese)"), max_length=100, required=False)


class NewPipelineForm(PipelineForm):
    first_stage = forms.CharField(
        label=gettext_lazy("First stage (English)"), max_length=100, required=False
    )
    first_stage_zh = forms.CharField(
        label=gettext_lazy("First stage (Chinese)"), max_length=100, required=False
    )
    first_stage_probability = forms.CharField(
        label=gettext_lazy("First stage probability (%)"), max_length=3, required=False
    )


class StageForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name (English)"), max_length=100, required=False)
    name_zh = forms.CharField(label=gettext_lazy("Name (Chinese)"), max_length=100, required=False)
    probability = forms.CharField(
        label=gettext_lazy("Default probability (%)"), max_length=3, required=False
    )


class NewStageForm(StageForm):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=Stage.Outcome.choices, initial=Stage.Outcome.OPEN
    )


class SalesSettingsForm(forms.Form):
    base_currency = forms.CharField(label=gettext_lazy("Base currency"), max_length=3)
    quote_discount_limit = forms.CharField(
        label=gettext_lazy("Largest quote discount without approval (%)"), max_length=6
    )
    default_tax_rate = forms.CharField(
        label=gettext_lazy("Default tax rate on quotes (%)"), max_length=6
    )
    quote_validity_days = forms.CharField(
        label=gettext_lazy("Quotes valid for (days)"), max_length=3
    )


class CurrencyForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=3, required=False)
    rate_to_base = forms.CharField(
        label=gettext_lazy("Value of one unit in the base currency"),
        max_length=24,
        required=False,
    )


# --- Pipelines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    name: str
    opportunities: int
    open: int


@login_required
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    """Every pipeline with its stages in order and how many opportunities each holds; the form
    to add a pipeline (POST)."""
    actor = _admin(request)
    form = NewPipelineForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = pipeline_services.pipeline_add(actor=actor, data=form.cleaned_data)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(
                request,
                _("Pipeline “%(name)s” added with an open, a won and a lost stage.")
                % {"name": pipeline.name},
            )
            return _back(pipeline.pk)
    language = get_language() or "en"
    counts = pipeline_services.stage_counts()
    open_counts = pipeline_services.open_counts()
    pipelines = list(Pipeline.objects.prefetch_related("stages").order_by("position", "pk"))
    blocks = []
    for pipeline in pipelines:
        stages = sorted(pipeline.stages.all(), key=lambda s: (s.position, s.pk))
        blocks.append(
            {
                "pipeline": pipeline,
                "name": pipeline.display(language),
                "rows": [
                    StageRow(
                        stage=s,
                        name=s.display(language),
                        opportunities=counts.get(s.pk, 0),
                        open=open_counts.get(s.pk, 0),
                    )
                    for s in stages
                ],
                "total": sum(counts.get(s.pk, 0) for s in stages),
            }
        )
    return render(
        request,
        "sales/settings/pipelines.html",
        {
            "blocks": blocks,
            "form": form,
            "active_pipelines": sum(1 for p in pipelines if p.is_active),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    pipeline = _pipeline(pk)
    form = PipelineForm(
        posted(request), initial={"name": pipeline.name, "name_zh": pipeline.name_zh}
    )
    if request.method == "POST" and form.is_valid():
        try:
            pipeline_services.pipeline_rename(
                actor=actor, pipeline=pipeline, data=form.cleaned_data
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _back(pipeline.pk)
    return render(
        request,
        "sales/settings/pipeline_edit.html",
        {"pipeline": pipeline, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def pipeline_active(request: HttpRequest, pk: int, state: str) -> HttpResponse:
    actor = _admin(request)
    pipeline = _pipeline(pk)
    if state not in ("activate", "deactivate"):
        raise Http404
    active = state == "activate"
    try:
        pipeline_services.pipeline_set_active(actor=actor, pipeline=pipeline, active=active)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            (
                _("“%(name)s” is offered for new opportunities again.")
                if active
                else _(
                    "“%(name)s” is no longer offered for new opportunities; the ones in it stay."
                )
            )
            % {"name": pipeline.name},
        )
    return _back(pipeline.pk)


@login_required
@require_POST
def pipeline_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """The order after a drag on the page: `order` is every stage id, comma-separated."""
    actor = _admin(request)
    pipeline = _pipeline(pk)
    try:
        order = [int(x) for x in request.POST.get("order", "").split(",") if x.strip()]
        services.stage_reorder(actor=actor, pipeline=pipeline, order=order)
    except (ValueError, ValidationError):
        messages.error(request, _("The page was out of date; here is the current order."))
    else:
        messages.success(request, _("Stage order saved."))
    return _back(pipeline.pk)


@login_required
def stage_add(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    pipeline = _pipeline(pk)
    form = NewStageForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            stage = services.stage_create(
                actor=actor,
                pipeline=pipeline,
                data=form.cleaned_data,
                outcome=form.cleaned_data["outcome"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Stage “%(name)s” added.") % {"name": stage.name})
            return _back(pipeline.pk)
    return render(
        request,
        "sales/settings/stage_form.html",
        {"pipeline": pipeline, "form": form, "stage": None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    stage = _stage(pk)
    form = StageForm(
        posted(request),
        initial={"name": stage.name, "name_zh": stage.name_zh, "probability": stage.probability},
    )
    if stage.is_closed:
        form.fields["probability"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_update(actor=actor, stage=stage, data=form.cleaned_data)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _back(stage.pipeline_id)
    return render(
        request,
        "sales/settings/stage_form.html",
        {"pipeline": stage.pipeline, "form": form, "stage": stage},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def stage_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    actor = _admin(request)
    stage = _stage(pk)
    if direction not in ("up", "down"):
        raise Http404
    pipeline_services.stage_move(actor=actor, stage=stage, offset=-1 if direction == "up" else 1)
    return _back(stage.pipeline_id)


@login_required
def stage_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire a stage. One holding open opportunities asks first where they go."""
    actor = _admin(request)
    stage = _stage(pk)
    waiting = pipeline_services.open_counts([stage.pk]).get(stage.pk, 0)
    targets = pipeline_services.retire_targets(stage)
    error = ""
    if request.method == "POST":
        move_to = None
        if request.POST.get("move_to"):
            move_to = next((t for t in targets if str(t.pk) == request.POST["move_to"]), None)
            if move_to is None:
                error = _("Choose another active open stage of the pipeline “%(pipeline)s”.") % {
                    "pipeline": stage.pipeline.name
                }
        if not error:
            try:
                moved = pipeline_services.stage_retire_moving(
                    actor=actor, stage=stage, move_to=move_to
                )
            except ValidationError as exc:
                error = _error_text(exc)
            else:
                if moved:
                    assert move_to is not None
                    messages.success(
                        request,
                        _(
                            "“%(name)s” retired; %(n)d open opportunities moved to “%(to)s”, "
                            "each with the move in its stage history."
                        )
                        % {"name": stage.name, "n": moved, "to": move_to.name},
                    )
                else:
                    messages.success(
                        request,
                        _("“%(name)s” retired: no longer offered, kept in the history.")
                        % {"name": stage.name},
                    )
                return _back(stage.pipeline_id)
        if not waiting and error:
            # Nothing to ask (e.g. the last active won stage): say why on the settings page.
            messages.error(request, error)
            return _back(stage.pipeline_id)
    elif not waiting and not stage.is_active:
        return _back(stage.pipeline_id)
    language = get_language() or "en"
    return render(
        request,
        "sales/settings/stage_retire.html",
        {
            "stage": stage,
            "name": stage.display(language),
            "waiting": waiting,
            "targets": [(t, t.display(language)) for t in targets],
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def stage_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    stage = _stage(pk)
    pipeline_services.stage_reactivate(actor=actor, stage=stage)
    messages.success(request, _("“%(name)s” is offered again.") % {"name": stage.name})
    return _back(stage.pipeline_id)


# --- Sales settings and currencies -----------------------------------------------------------


def _sales_page(
    request: HttpRequest,
    *,
    form: SalesSettingsForm | None = None,
    currency_form: CurrencyForm | None = None,
    rate_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    settings = workspace_settings()
    if form is None:
        form = SalesSettingsForm(
            initial={name: getattr(settings, name) for name in currency_services.SETTING_FIELDS}
        )
    return render(
        request,
        "sales/settings/sales.html",
        {
            "form": form,
            "currency_form": currency_form or CurrencyForm(),
            "currencies": list(Currency.objects.order_by("-is_active", "code")),
            "base": settings.base_currency,
            "locked": currency_services.base_currency_locked(),
            "rate_errors": rate_errors or {},
        },
        status=status,
    )


@login_required
def sales_settings(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    if request.method != "POST":
        return _sales_page(request)
    form = SalesSettingsForm(request.POST)
    if form.is_valid():
        try:
            currency_services.sales_settings_update(actor=actor, data=form.cleaned_data)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Sales settings saved."))
            return redirect("settings_sales")
    return _sales_page(request, form=form, status=400)


@login_required
@require_POST
def currency_add(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = CurrencyForm(request.POST)
    if form.is_valid():
        try:
            currency = currency_services.currency_create(
                actor=actor,
                code=form.cleaned_data["code"],
                rate_to_base=form.cleaned_data["rate_to_base"],
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("%(code)s added.") % {"code": currency.code})
            return redirect(reverse("settings_sales") + "#currencies")
    return _sales_page(request, currency_form=form, status=400)


@login_required
@require_POST
def currency_rate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    currency = _currency(pk)
    try:
        recomputed = currency_services.currency_set_rate(
            actor=actor, currency=currency, rate_to_base=request.POST.get("rate_to_base", "")
        )
    except ValidationError as exc:
        return _sales_page(request, rate_errors={currency.pk: _error_text(exc)}, status=400)
    messages.success(
        request,
        _(
            "Rate of %(code)s saved; %(n)d open opportunities recomputed in %(base)s. Won and "
            "lost ones keep the amounts they closed at."
        )
        % {"code": currency.code, "n": recomputed, "base": workspace_settings().base_currency},
    )
    return redirect(reverse("settings_sales") + f"#currency-{currency.pk}")


@login_required
@require_POST
def currency_active(request: HttpRequest, pk: int, state: str) -> HttpResponse:
    actor = _admin(request)
    currency = _currency(pk)
    if state not in ("activate", "deactivate"):
        raise Http404
    try:
        currency_services.currency_set_active(
            actor=actor, currency=currency, active=state == "activate"
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    except PermissionDenied as exc:  # pragma: no cover - _admin has checked
        raise Forbidden(str(exc)) from exc
    else:
        messages.success(
            request,
            (
                _("%(code)s is offered again.")
                if state == "activate"
                else _("%(code)s is no longer offered for new amounts.")
            )
            % {"code": currency.code},
        )
    return redirect(reverse("settings_sales") + f"#currency-{currency.pk}")
