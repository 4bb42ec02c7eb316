"""Extension points of the account 360° page, for the CRM's own apps and industry modules.

Two registries, filled in each app's `AppConfig.ready()`:

* **Timeline sources** — `register_timeline_source(key, label, source)`: `source(account, user,
  since)` returns `TimelineItem`s about the account that `user` may see, newest first, at most
  `TIMELINE_LIMIT`, in a fixed number of queries whatever the account holds. The 360° page merges
  every source into one timeline and lets people filter by source key.
* **Tabs** — `register_account_tab(AccountTab(...))`: a section of the 360° page. `render(request,
  account)` returns the tab's HTML (already escaped, e.g. from `render_to_string`); `visible(user)`
  says whether the person sees the tab at all.

Industry modules (plugins) add tabs and timeline items through the pluggy hooks
`crm_account_tabs` and `crm_account_timeline` (see plugins/hookspecs.py), called only for the
workspaces that switched the module on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineItem:
    when: dt.datetime
    source: str  # key of the source that made it (filter value)
    title: str
    detail: str = ""
    url: str = ""
    actor: str = ""
    icon: str = "•"


TimelineSource = Callable[[Any, Any, "dt.datetime | None"], Iterable[TimelineItem]]


@dataclass(frozen=True)
class AccountTab:
    key: str
    label: str | Promise
    render: Callable[[Any, Any], str]
    order: int = 100
    visible: Callable[[Any], bool] = field(default=lambda user: True)


_sources: dict[str, tuple[str | Promise, TimelineSource]] = {}
_tabs: dict[str, AccountTab] = {}


def register_timeline_source(key: str, label: str | Promise, source: TimelineSource) -> None:
    _sources[key] = (label, source)


def timeline_sources() -> dict[str, tuple[str | Promise, TimelineSource]]:
    return dict(_sources)


def register_account_tab(tab: AccountTab) -> None:
    _tabs[tab.key] = tab


def account_tabs() -> list[AccountTab]:
    return sorted(_tabs.values(), key=lambda tab: (tab.order, tab.key))
