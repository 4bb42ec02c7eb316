"""The account 360° page: key facts, tabs from every app (and enabled industry modules) and one
timeline merging what every department did with the account.

The page asks each registered tab and timeline source (core_crm/workspace/extensions.py) for its
part; only the open tab is drawn, so the page costs the same queries whatever the account holds.
This app contributes the Contacts tab and the record-history ("Changes") timeline source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.access.policy import scope_for
from core_crm.audit.models import AuditEntry
from core_crm.workspace.extensions import (
    TIMELINE_LIMIT,
    AccountTab,
    TimelineItem,
    account_tabs,
    register_account_tab,
    register_timeline_source,
    timeline_sources,
)
from plugins.manager import hooks_for

from . import selectors
from .models import Account, Contact

TIMELINE_TAB = "timeline"


def contacts_tab(request: Any, account: Account) -> str:
    contacts = list(selectors.contact_list(request.user).filter(account=account)[:200])
    return render_to_string(
        "customers/_account_contacts.html",
        {"contacts": contacts, "account": account},
        request=request,
    )


# Parts of a deal whose changes are audited under a name of their own (not a model field).
PART_LABELS = {
    "contact_roles": gettext_lazy("contact roles"),
    "team": gettext_lazy("deal team"),
    "competitors": gettext_lazy("competitors"),
}


def _field_label(model: Any, name: str) -> str:
    """A changed field as people read it ("next step"), or its key when it is no model field
    (custom values, merge marks)."""
    if name in PART_LABELS:
        return str(PART_LABELS[name])
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    # Reverse relations have no verbose name of their own.
    return str(getattr(field, "verbose_name", None) or name)


# Opportunity fields that a stage move changes: those moves are on the timeline already, as
# stage changes, so an audit entry that changed nothing else is left out.
STAGE_FIELDS = {
    "stage",
    "probability",
    "forecast_category",
    "closed_at",
    "close_date",
    "lost_reason",
    "lost_note",
    "stage_changed_at",
    "amount_base",
}


def audit_timeline(account: Any, user: Any, since: dt.datetime | None) -> Iterable[TimelineItem]:
    """Changes recorded on the account and, among what the viewer may read, on its contacts
    (all changes), opportunities (changes other than stage moves, reassignments, deletions
    stay on the history of the deleted record), quotes and activities (reassignments), newest
    first, in one query."""
    from core_crm.activities.models import Activity
    from core_crm.activities.selectors import activity_list
    from core_crm.quotes.models import Quote
    from core_crm.quotes.selectors import quote_list
    from core_crm.sales.models import Opportunity
    from core_crm.sales.selectors import opportunity_list

    types = ContentType.objects.get_for_models(Account, Contact, Opportunity, Quote, Activity)
    kind = AuditEntry.Kind
    condition = Q(content_type=types[Account], object_id=account.pk) | Q(
        content_type=types[Contact],
        object_id__in=selectors.contact_list(user).filter(account=account).values("pk"),
    )
    condition |= Q(
        content_type=types[Opportunity],
        kind__in=[kind.UPDATE, kind.REASSIGN],
        object_id__in=opportunity_list(user).filter(account=account).values("pk"),
    )
    condition |= Q(
        content_type=types[Quote],
        kind=kind.REASSIGN,
        object_id__in=quote_list(user).filter(account=account).values("pk"),
    )
    condition |= Q(
        content_type=types[Activity],
        kind=kind.REASSIGN,
        object_id__in=activity_list(user).filter(account=account).values("pk"),
    )
    entries = AuditEntry.objects.filter(condition).select_related("actor")
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    links = {
        types[Contact].pk: "contacts_detail",
        types[Opportunity].pk: "opportunity_detail",
        types[Quote].pk: "quote_detail",
        types[Activity].pk: "activity_detail",
    }
    labels = {
        types[Contact].pk: _("Contact"),
        types[Opportunity].pk: _("Opportunity"),
        types[Quote].pk: _("Quote"),
        types[Activity].pk: _("Activity"),
    }
    models = {types[model].pk: model for model in types}
    items = []
    for entry in entries.order_by("-created_at", "-pk")[:TIMELINE_LIMIT]:
        names = list((entry.changes or {}).keys())
        if entry.content_type_id == types[Opportunity].pk and set(names) <= STAGE_FIELDS:
            continue
        detail = ""
        if entry.kind in (kind.UPDATE, kind.REASSIGN):
            detail = ", ".join(_field_label(models[entry.content_type_id], n) for n in names[:6])
        label = labels.get(entry.content_type_id)
        title = f"{entry.get_kind_display()}: " + (
            f"{label} {entry.object_repr}" if label else entry.object_repr
        )
        view = links.get(entry.content_type_id)
        url = reverse(view, args=[entry.object_id]) if view and entry.kind != kind.DELETE else ""
        items.append(
            TimelineItem(
                when=entry.created_at,
                source="changes",
                title=title,
                detail=detail,
                url=url,
                actor=str(entry.actor) if entry.actor else "",
                icon="✎",
            )
        )
    return items


@dataclass(frozen=True)
class Link:
    """A tab or a timeline filter: its key, label, address and whether it is the one shown."""

    key: str
    label: str
    url: str
    active: bool


def key_facts(account: Account, user: Any) -> dict[str, Any]:
    """Open pipeline, won this year, open quotes and the next and last activity, each within
    what the viewer may read; a fixed number of queries."""
    from core_crm.activities.selectors import WHEN, activity_list
    from core_crm.quotes.models import OPEN_STATUSES
    from core_crm.quotes.selectors import quote_list
    from core_crm.sales.currency import base_currency
    from core_crm.sales.models import Stage
    from core_crm.sales.selectors import opportunity_list

    facts: dict[str, Any] = {"base_currency": base_currency()}
    year_start = timezone.localdate().replace(month=1, day=1)
    if scope_for(user, "opportunity", "read") != "none":
        facts["opportunities"] = (
            opportunity_list(user)
            .filter(account=account)
            .aggregate(
                open_count=Count("pk", filter=Q(stage__outcome=Stage.Outcome.OPEN)),
                open_total=Sum("amount_base", filter=Q(stage__outcome=Stage.Outcome.OPEN)),
                won_total=Sum(
                    "amount_base",
                    filter=Q(stage__outcome=Stage.Outcome.WON, close_date__gte=year_start),
                ),
            )
        )
    if scope_for(user, "quote", "read") != "none":
        facts["open_quotes"] = (
            quote_list(user).filter(account=account, status__in=OPEN_STATUSES).count()
        )
    now = timezone.now()
    activities = activity_list(user).filter(account=account)
    facts["activities"] = activities.annotate(moment=WHEN).aggregate(
        last=Max("done_at", filter=Q(done=True)),
        upcoming=Min("moment", filter=Q(done=False, moment__gte=now)),
    )
    return facts


def _extension_tabs(request: Any, account: Account) -> list[dict[str, Any]]:
    """Tabs that enabled industry modules add through the `crm_account_tabs` hook."""
    tenant = getattr(connection, "tenant", None)
    results = hooks_for(tenant).crm_account_tabs(tenant=tenant, account=account, request=request)
    return [tab for group in results for tab in (group or [])]


def _extension_timeline(account: Account, user: Any) -> list[TimelineItem]:
    tenant = getattr(connection, "tenant", None)
    results = hooks_for(tenant).crm_account_timeline(tenant=tenant, account=account, user=user)
    return [item for group in results for item in (group or []) if isinstance(item, TimelineItem)]


def merged_timeline(
    account: Account, user: Any, source: str = ""
) -> tuple[list[TimelineItem], list[tuple[str, str]], str]:
    """Every source's items about the account, newest first, or one source's when `source`
    names one there is; with the (key, label) of every source and the source applied."""
    sources = timeline_sources()
    extension_items = _extension_timeline(account, user)
    labels = [(key, str(label)) for key, (label, _fn) in sources.items()]
    labels += [(key, key) for key in dict.fromkeys(i.source for i in extension_items)]
    if source not in {key for key, _label in labels}:
        source = ""
    items: list[TimelineItem] = []
    for key, (_label, fn) in sources.items():
        if not source or key == source:
            items.extend(fn(account, user, None))
    items.extend(item for item in extension_items if not source or item.source == source)
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:TIMELINE_LIMIT], labels, source


def page_context(request: Any, account: Account) -> dict[str, Any]:
    """What the account page adds for accounts: key facts, tab links, the open tab's HTML."""
    user = request.user
    base_url = reverse("customers_detail", args=[account.pk])
    tabs = [tab for tab in account_tabs() if tab.visible(user)]
    extension_tabs = _extension_tabs(request, account)
    keys = [TIMELINE_TAB, *(tab.key for tab in tabs), *(str(t["key"]) for t in extension_tabs)]
    active = request.GET.get("tab", TIMELINE_TAB)
    if active not in keys:
        active = TIMELINE_TAB
    links = [Link(TIMELINE_TAB, _("Timeline"), base_url, active == TIMELINE_TAB)]
    links += [
        Link(tab.key, str(tab.label), f"{base_url}?tab={tab.key}", active == tab.key)
        for tab in tabs
    ]
    links += [
        Link(str(t["key"]), str(t["label"]), f"{base_url}?tab={t['key']}", active == t["key"])
        for t in extension_tabs
    ]
    context: dict[str, Any] = {"tab_links": links, "active_tab": active}
    context["facts"] = key_facts(account, user)
    if active == TIMELINE_TAB:
        items, labels, source = merged_timeline(account, user, request.GET.get("source", ""))
        context["timeline_source"] = source
        context["timeline"] = items
        context["timeline_sources"] = [
            Link("", _("Everything"), base_url, source == ""),
            *(Link(key, label, f"{base_url}?source={key}", source == key) for key, label in labels),
        ]
        context["tab_html"] = ""
    else:
        tab = next((t for t in tabs if t.key == active), None)
        if tab is not None:
            html = tab.render(request, account)
        else:
            extension = next(t for t in extension_tabs if str(t["key"]) == active)
            html = str(extension.get("html", ""))
        # Tabs return rendered templates (escaped by the template engine), as the extension
        # point's contract says.
        context["tab_html"] = html if isinstance(html, SafeString) else mark_safe(html)  # noqa: S308
    return context


register_account_tab(
    AccountTab(
        key="contacts",
        label=gettext_lazy("Contacts"),
        render=contacts_tab,
        order=10,
        visible=lambda user: scope_for(user, "contact", "read") != "none",
    )
)
register_timeline_source("changes", gettext_lazy("Changes"), audit_timeline)
