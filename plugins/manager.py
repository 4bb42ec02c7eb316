"""The plugin manager and `hooks_for(tenant)`, which calls only the modules a tenant enabled."""

from __future__ import annotations

from functools import cache
from typing import Any

import pluggy

from . import hookspecs

hookimpl = pluggy.HookimplMarker("guanxi")
ENTRY_POINT_GROUP = "guanxi.modules"


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("guanxi")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()  # a misspelt hook fails at start-up, not at first call
    return pm


def enabled_module_names(tenant: Any) -> set[str]:
    """Names of the modules the tenant switched on (none until module switches exist)."""
    return set(getattr(tenant, "enabled_modules", ()) or ())


class _TenantHooks:
    def __init__(self, pm: pluggy.PluginManager, enabled: set[str]) -> None:
        self._pm = pm
        self._disabled = [plugin for name, plugin in pm.list_name_plugin() if name not in enabled]

    def __getattr__(self, name: str) -> Any:
        return self._pm.subset_hook_caller(name, remove_plugins=self._disabled)


def hooks_for(tenant: Any) -> Any:
    """A hook caller that leaves out every module `tenant` has not enabled."""
    pm = get_plugin_manager()
    return _TenantHooks(pm, enabled_module_names(tenant))
