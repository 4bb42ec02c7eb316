"""Every hook an industry module may implement. Each has the `crm_` prefix and a docstring
saying when it is called and what it returns."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("guanxi")


@hookspec
def crm_navigation_items(tenant: Any) -> list[dict[str, str]]:
    """Called when a workspace page draws its navigation. Return a list of
    ``{"label": ..., "url": ...}`` entries to add to the main menu (may be empty)."""
    raise NotImplementedError


@hookspec
def crm_account_tabs(tenant: Any, account: Any, request: Any) -> list[dict[str, str]]:
    """Called when the account 360° page is drawn. Return extra tabs as
    ``{"key": ..., "label": ..., "html": ...}`` (html already escaped; may be empty)."""
    raise NotImplementedError


@hookspec
def crm_account_timeline(tenant: Any, account: Any, user: Any) -> list[Any]:
    """Called when the account timeline is built. Return
    ``core_crm.workspace.extensions.TimelineItem`` objects the user may see (may be empty)."""
    raise NotImplementedError
