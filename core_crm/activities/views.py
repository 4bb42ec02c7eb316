"""Pages of activities: the list with filters and quick "done", detail, create/edit (also as
the calendar's small form), the calendar with its JSON feed and drag-to-reschedule, the
private ICS link, and the follow-up plan settings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.models import Action, Scope
from core_crm.access.policy import (
    PermissionDenied,
    assignable_owners,
    can,
    require_create,
    scope_for,
    visible,
)
from core_crm.customers.models import Account, Contact, Lead
from core_crm.sales.models import Opportunity
from core_crm.users.models import User
from guanxi.http import next_url

from . import feeds, services
from .models import REMINDER_KINDS, Activity, FollowUpPlan, Kind, Priority
from .selectors import (
    access_activity,
    activity_list,
    in_range,
    involving,
    team_user_ids,
    with_related,
)

PAGE_SIZE = 50
KIND_COLORS = {
    Kind.CALL: "#0ea5e9",
    Kind.MEETING: "#6366f1",
    Kind.VISIT: "#10b981",
    Kind.EMAIL: "#64748b",
    Kind.TASK: "#f59e0b",
    Kind.NOTE: "#a855f7",
}
REMINDER_CHOICES = [
    ("", gettext_lazy("No reminder")),
    ("0", gettext_lazy("At the time")),
    ("5", gettext_lazy("5 minutes before")),
    ("15", gettext_lazy("15 minutes before")),
    ("30", gettext_lazy("30 minutes before")),
    ("60", gettext_lazy("1 hour before")),
    ("1440", gettext_lazy("1 day before")),
]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- Form -------------------------------------------------------------------------------------


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.datetime):
            # The form field has already made an initial value naive in the current time zone.
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime("%Y-%m-%dT%H:%M")
        return super().format_value(value)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Kind.choices)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    start_at = forms.DateTimeField(
        label=gettext_lazy("Start"), required=False, widget=DateTimeInput()
    )
    end_at = forms.DateTimeField(label=gettext_lazy("End"), required=False, widget=DateTimeInput())
    due_at = forms.DateTimeField(label=gettext_lazy("Due"), required=False, widget=DateTimeInput())
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    location = forms.CharField(label=gettext_lazy("Location"), max_length=200, required=False)
    account = forms.IntegerField(required=False, widget=forms.HiddenInput())
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput())
    lead = forms.IntegerField(required=False, widget=forms.HiddenInput())
    opportunity = forms.IntegerField(required=False, widget=forms.HiddenInput())
    owner = forms.ModelChoiceField(
        label=gettext_lazy("Assigned to"), queryset=User.objects.none(), required=False
    )
    participants = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Colleagues taking part"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    remind_minutes_before = forms.TypedChoiceField(
        label=gettext_lazy("Reminder"),
        choices=REMINDER_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Type @ and a colleague's name to notify them."),
    )
    outcome = forms.CharField(
        label=gettext_lazy("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    done = forms.BooleanField(label=gettext_lazy("Already done"), required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        owner_field = cast(forms.ModelChoiceField, self.fields["owner"])
        owner_field.queryset = assignable_owners(actor, "activity")
        people = cast(forms.ModelMultipleChoiceField, self.fields["participants"])
        people.queryset = User.objects.filter(is_active=True)

    def related(self) -> dict[str, Any]:
        """The related records named by id, each one the actor may read (else a field error)."""
        out: dict[str, Any] = {}
        for name, model, object_type in (
            ("account", Account, "account"),
            ("contact", Contact, "contact"),
            ("lead", Lead, "lead"),
            ("opportunity", Opportunity, "opportunity"),
        ):
            pk = self.cleaned_data.get(name)
            if pk:
                obj = visible(self.actor, model.objects.filter(pk=pk), object_type).first()
                if obj is None:
                    self.add_error(name, _("Choose a record you can see."))
                out[name] = obj
            else:
                out[name] = None
        return out

    def data_for_service(self, *, creating: bool) -> dict[str, Any]:
        cleaned = dict(self.cleaned_data)
        data: dict[str, Any] = {
            key: cleaned.get(key)
            for key in (
                "kind",
                "subject",
                "start_at",
                "end_at",
                "due_at",
                "priority",
                "location",
                "description",
                "outcome",
                "remind_minutes_before",
            )
        }
        if cleaned.get("remind_minutes_before") is None and creating:
            data.pop("remind_minutes_before")  # the kind's default applies
        data.update(self.related())
        if cleaned.get("owner"):
            data["owner"] = cleaned["owner"]
        data["participants"] = list(cleaned.get("participants") or [])
        if creating:
            data["done"] = bool(cleaned.get("done"))
        return data


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        name = field if field in form.fields else None
        for message in errors:
            if name is None and field == "duration":
                form.add_error("end_at", message)
            else:
                form.add_error(name, message)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _related_label(form: ActivityForm, initial: dict[str, Any]) -> str:
    pk = form["account"].value() or initial.get("account")
    if pk:
        account = visible(form.actor, Account.objects.filter(pk=pk), "account").first()
        return str(account) if account else ""
    return ""


@login_required
def activity_create(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    try:
        require_create(actor, "activity")
    except PermissionDenied as exc:
        if _wants_json(request):
            return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=403)
        messages.error(request, str(exc))
        return redirect("activity_list")
    initial: dict[str, Any] = {"kind": request.GET.get("kind", Kind.MEETING)}
    for key in ("account", "contact", "lead", "opportunity"):
        if request.GET.get(key, "").isdigit():
            initial[key] = int(request.GET[key])
    for key in ("start_at", "end_at", "due_at"):
        if request.GET.get(key):
            parsed = parse_datetime(request.GET[key])
            if parsed is not None:
                initial[key] = parsed
    form = ActivityForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service(creating=True)
        if form.is_valid():  # related() may have added errors
            try:
                activity = services.activity_create(actor=actor, data=data, channel="web")
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                if _wants_json(request):
                    return JsonResponse(
                        {"id": activity.pk, "url": reverse("activity_detail", args=[activity.pk])},
                        status=201,
                    )
                messages.success(request, _("Activity saved."))
                return redirect(next_url(request, reverse("activity_detail", args=[activity.pk])))
    if request.method == "POST" and _wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "activity": None,
            "account_label": _related_label(form, initial),
            "reminder_kinds": sorted(REMINDER_KINDS),
        },
    )


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = _actor(request)
    activity = access_activity(actor, pk, Action.EDIT)
    initial = {
        "kind": activity.kind,
        "subject": activity.subject,
        "start_at": activity.start_at,
        "end_at": activity.end_at,
        "due_at": activity.due_at,
        "priority": activity.priority,
        "location": activity.location,
        "account": activity.account_id,
        "contact": activity.contact_id,
        "lead": activity.lead_id,
        "opportunity": activity.opportunity_id,
        "owner": activity.owner_id,
        "participants": list(activity.participants.values_list("pk", flat=True)),
        "remind_minutes_before": (
            "" if activity.remind_minutes_before is None else str(activity.remind_minutes_before)
        ),
        "description": activity.description,
        "outcome": activity.outcome,
    }
    form = ActivityForm(request.POST or None, actor=actor, initial=initial)
    form.fields.pop("done")
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service(creating=False)
        if form.is_valid():
            try:
                services.activity_update(activity, actor=actor, data=data, channel="web")
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Activity saved."))
                return redirect("activity_detail", activity.pk)
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "activity": activity,
            "account_label": _related_label(form, initial),
        },
    )


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    activity = access_activity(actor, pk)
    next_activity = None
    if activity.next_activity_id:
        next_activity = activity_list(actor).filter(pk=activity.next_activity_id).first()
    return render(
        request,
        "activities/detail.html",
        {
            "activity": activity,
            "can_edit": can(actor, Action.EDIT, activity, "activity"),
            "can_delete": can(actor, Action.DELETE, activity, "activity"),
            "participants": list(activity.participants.all()),
            "contact_participants": list(activity.contact_participants.all()),
            "next_activity": next_activity,
            "next_activity_hidden": activity.next_activity_id and next_activity is None,
        },
    )


@login_required
@require_POST
def activity_complete(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = _actor(request)
    activity = access_activity(actor, pk)
    try:
        activity = services.activity_complete(
            activity, actor=actor, outcome=request.POST.get("outcome", ""), channel="web"
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if request.htmx:  # type: ignore[attr-defined]
            return render(
                request,
                "activities/_row.html",
                {
                    "activity": with_related(Activity.objects.filter(pk=activity.pk)).get(),
                    "can_edit_ids": {activity.pk},
                    "now": timezone.now(),
                },
            )
        nxt = activity.next_activity
        if nxt is not None and nxt.when is not None:
            when = timezone.localtime(nxt.when).strftime("%Y-%m-%d %H:%M")
            messages.success(
                request, _("Done. The next follow-up is planned for %(when)s.") % {"when": when}
            )
        else:
            messages.success(request, _("Marked as done."))
    return redirect(next_url(request, reverse("activity_detail", args=[pk])))


@login_required
@require_POST
def activity_reopen(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = _actor(request)
    activity = access_activity(actor, pk)
    try:
        services.activity_reopen(activity, actor=actor, channel="web")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("activity_detail", pk)


@login_required
@require_POST
def activity_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = _actor(request)
    activity = access_activity(actor, pk)
    try:
        services.activity_delete(activity, actor=actor, channel="web")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("activity_detail", pk)
    messages.success(request, _("Activity deleted."))
    return redirect("activity_list")


@login_required
@require_POST
def activity_reschedule(request: HttpRequest, pk: int) -> JsonResponse:
    """The calendar's drag and drop: {start, end} as ISO times. 403 (and the calendar puts
    the event back) when the role does not allow changing it."""
    actor = _actor(request)
    activity = access_activity(actor, pk)
    try:
        body = (
            json.loads(request.body or b"{}")
            if request.content_type == "application/json"
            else request.POST
        )
        start = parse_datetime(str(body.get("start") or ""))
        end_raw = body.get("end")
        end = parse_datetime(str(end_raw)) if end_raw else None
    except (ValueError, json.JSONDecodeError):
        start = None
    if start is None:
        return JsonResponse({"errors": {"start": [_("Give the new start time.")]}}, status=400)
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if end is not None and timezone.is_naive(end):
        end = timezone.make_aware(end)
    try:
        activity = services.activity_reschedule(
            activity, actor=actor, start=start, end=end, channel="web"
        )
    except PermissionDenied as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=403)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    return JsonResponse(
        {"id": activity.pk, "start": _iso(activity.when), "end": _iso(activity.end_at)}
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@login_required
def account_search(request: HttpRequest) -> JsonResponse:
    """Accounts the person may read whose name contains `q` (the forms' account picker)."""
    term = request.GET.get("q", "").strip()
    accounts = visible(_actor(request), Account.objects.all(), "account")
    if term:
        accounts = accounts.filter(name__icontains=term)
    rows = accounts.order_by("name", "pk").values("pk", "name", "city")[:10]
    return JsonResponse(
        {"results": [{"id": r["pk"], "name": r["name"], "city": r["city"]} for r in rows]}
    )


# --- List -------------------------------------------------------------------------------------


def _filtered(request: HttpRequest, actor: User) -> tuple[QuerySet[Activity], dict[str, Any]]:
    params = request.GET
    state = {
        "show": params.get("show", "open"),
        "when": params.get("when", ""),
        "kind": params.get("kind", ""),
        "mine": params.get("mine", "1" if not params else ""),
        "q": params.get("q", "").strip(),
    }
    queryset = activity_list(actor)
    if state["mine"]:
        queryset = queryset.filter(involving(actor))
    if state["kind"] in Kind.values:
        queryset = queryset.filter(kind=state["kind"])
    if state["show"] == "open":
        queryset = queryset.filter(done=False).exclude(kind=Kind.NOTE)
    elif state["show"] == "done":
        queryset = queryset.filter(done=True)
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if state["when"] == "overdue":
        queryset = (
            queryset.filter(done=False)
            .exclude(kind__in=[Kind.NOTE, Kind.EMAIL])
            .filter(Q(due_at__lt=now) | Q(due_at__isnull=True, start_at__lt=now))
        )
    elif state["when"] == "today":
        queryset = in_range(queryset, today, today + dt.timedelta(days=1))
    elif state["when"] == "week":
        monday = today - dt.timedelta(days=today.weekday())
        queryset = in_range(queryset, monday, monday + dt.timedelta(days=7))
    if state["q"]:
        queryset = queryset.filter(
            Q(subject__icontains=state["q"]) | Q(account__name__icontains=state["q"])
        )
    return queryset, state


@login_required
def activity_list_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    queryset, state = _filtered(request, actor)
    from django.db.models.functions import Coalesce

    ordered = with_related(queryset).annotate(moment=Coalesce("start_at", "due_at", "created_at"))
    ordered = (
        ordered.order_by("moment", "pk")
        if state["show"] == "open"
        else ordered.order_by("-moment", "-pk")
    )
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    editable = set(
        activity_list(actor, Action.EDIT)
        .filter(pk__in=[a.pk for a in rows])
        .values_list("pk", flat=True)
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "activities/list.html",
        {
            "page": page,
            "activities": rows,
            "can_edit_ids": editable,
            "state": state,
            "kinds": Kind.choices,
            "query": query.urlencode(),
            "now": timezone.now(),
            "can_create": scope_for(actor, "activity", Action.CREATE) == Scope.ALL,
        },
    )


# --- Calendar ---------------------------------------------------------------------------------


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    return render(
        request,
        "activities/calendar.html",
        {
            "kinds": [(k, label) for k, label in Kind.choices if k != Kind.NOTE],
            "can_create": scope_for(actor, "activity", Action.CREATE) == Scope.ALL,
            "colors": {str(k): v for k, v in KIND_COLORS.items()},
            "scope": request.GET.get("scope", "mine"),
        },
    )


def _parse_range(request: HttpRequest) -> tuple[dt.datetime, dt.datetime]:
    start = parse_datetime(request.GET.get("start", "").replace(" ", "+"))
    end = parse_datetime(request.GET.get("end", "").replace(" ", "+"))
    if start is None or end is None or end <= start or end - start > dt.timedelta(days=62):
        raise ValidationError({"start": [_("Give a range of at most 62 days (start, end).")]})
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if timezone.is_naive(end):
        end = timezone.make_aware(end)
    return start, end


@login_required
def calendar_events(request: HttpRequest) -> JsonResponse:
    """Events of the visible range for FullCalendar: mine (assigned or taking part) or my
    team's, always within record security."""
    actor = _actor(request)
    try:
        start, end = _parse_range(request)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    queryset = in_range(activity_list(actor), start, end).exclude(kind=Kind.NOTE)
    if request.GET.get("scope") == "team":
        queryset = queryset.filter(Q(owner=actor) | Q(owner_id__in=team_user_ids(actor)))
    else:
        queryset = queryset.filter(involving(actor))
    rows = list(with_related(queryset).order_by("pk")[:1000])
    editable = set(
        activity_list(actor, Action.EDIT)
        .filter(pk__in=[a.pk for a in rows])
        .values_list("pk", flat=True)
    )
    events = []
    for a in rows:
        is_task = a.kind == Kind.TASK
        events.append(
            {
                "id": str(a.pk),
                "title": ("✓ " if a.done else "") + a.subject,
                "start": _iso(a.due_at if is_task else a.start_at),
                "end": _iso(a.end_at) if not is_task else None,
                "url": reverse("activity_detail", args=[a.pk]),
                "color": KIND_COLORS.get(Kind(a.kind)),
                "editable": a.pk in editable and not a.done,
                "classNames": ["gx-done"] if a.done else [],
                "extendedProps": {
                    "kind": a.kind,
                    "kindLabel": a.get_kind_display(),
                    "done": a.done,
                    "account": str(a.account) if a.account_id else "",
                    "owner": str(a.owner),
                },
            }
        )
    return JsonResponse(events, safe=False)


# --- ICS link ---------------------------------------------------------------------------------


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private ICS feed; the token is the only key (phone calendars send no cookies)."""
    user = feeds.feed_user(token)
    if user is None:
        raise Http404
    tenant = getattr(request, "tenant", None)
    body = feeds.feed_ics(
        user,
        base_url=f"{request.scheme}://{request.get_host()}",
        workspace_name=getattr(tenant, "name", "Guanxi"),
        host=request.get_host().split(":")[0],
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="guanxi.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
def calendar_subscribe(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    link = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feeds.feed_revoke(actor)
            messages.success(request, _("The calendar link no longer works."))
        else:
            token = feeds.feed_reset(actor)
            link = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
    feed = getattr(actor, "calendar_feed", None) if hasattr(actor, "calendar_feed") else None
    return render(
        request,
        "activities/subscribe.html",
        {
            "link": link,
            "feed": feed,
            "webcal": link.replace("https://", "webcal://").replace("http://", "webcal://")
            if link
            else None,
        },
    )


# --- Follow-up plan settings ------------------------------------------------------------------


class PlanForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[c for c in Kind.choices if c[0] != Kind.NOTE]
    )
    interval = forms.IntegerField(
        label=gettext_lazy("Every"), min_value=1, max_value=365, initial=1
    )
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), choices=FollowUpPlan.Unit.choices)
    value_class = forms.ChoiceField(
        label=gettext_lazy("Accounts of value class"),
        choices=[("", "—"), ("A", "A"), ("B", "B"), ("C", "C")],
        required=False,
    )
    account = forms.IntegerField(required=False, widget=forms.HiddenInput())
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        pk = data.pop("account", None)
        data["account"] = Account.objects.filter(pk=pk).first() if pk else None
        if pk and data["account"] is None:
            self.add_error("value_class", _("Choose an existing account."))
        return data


def _admin_only(request: HttpRequest) -> None:
    if not (request.user.is_authenticated and _actor(request).is_workspace_admin):
        raise Http404


@login_required
def plan_settings(request: HttpRequest) -> HttpResponseBase:
    _admin_only(request)
    actor = _actor(request)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service()
        if form.is_valid():
            try:
                plan = services.plan_create(actor=actor, data=data, channel="web")
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                count = services.plan_start(plan, actor=actor, channel="web")
                messages.success(
                    request,
                    _("Plan saved; %(count)s follow-ups planned.") % {"count": count},
                )
                return redirect("follow_up_plans")
    from django.db.models import Count

    plans = FollowUpPlan.objects.select_related("account").annotate(
        open_count=Count("activities", filter=Q(activities__done=False))
    )
    return render(
        request,
        "activities/plans.html",
        {"plans": plans, "form": form, "account_label": _plan_account_label(form)},
    )


def _plan_account_label(form: PlanForm, plan: FollowUpPlan | None = None) -> str:
    pk = form["account"].value() or (plan.account_id if plan else None)
    account = Account.objects.filter(pk=pk).first() if pk else None
    return str(account) if account else ""


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    _admin_only(request)
    actor = _actor(request)
    plan = FollowUpPlan.objects.filter(pk=pk).first()
    if plan is None:
        raise Http404
    if request.method == "POST" and request.POST.get("action") == "delete":
        services.plan_delete(plan, actor=actor, channel="web")
        messages.success(request, _("Plan deleted."))
        return redirect("follow_up_plans")
    if request.method == "POST" and request.POST.get("action") == "start":
        try:
            count = services.plan_start(plan, actor=actor, channel="web")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(count)s follow-ups planned.") % {"count": count})
        return redirect("follow_up_plan", plan.pk)
    initial = {
        "name": plan.name,
        "kind": plan.kind,
        "interval": plan.interval,
        "unit": plan.unit,
        "value_class": plan.value_class,
        "account": plan.account_id,
        "is_active": plan.is_active,
    }
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service()
        if form.is_valid():
            try:
                services.plan_update(plan, actor=actor, data=data, channel="web")
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Plan saved."))
                return redirect("follow_up_plans")
    return render(
        request,
        "activities/plan_edit.html",
        {"plan": plan, "form": form, "account_label": _plan_account_label(form, plan)},
    )
