"""The plugin layer: every hook documented, hooks called only for modules a tenant enabled."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pluggy

from plugins import hookspecs
from plugins.manager import _TenantHooks, get_plugin_manager, hookimpl


def test_every_hookspec_is_prefixed_and_documented():
    specs = [
        f
        for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(f, "guanxi_spec")
    ]
    assert specs
    for spec in specs:
        assert spec.__name__.startswith("crm_"), spec.__name__
        assert (spec.__doc__ or "").strip(), f"{spec.__name__} has no docstring"
        doc = spec.__doc__ or ""
        assert "Called" in doc and "Return" in doc


def test_plugin_manager_loads_and_validates_hooks():
    pm = get_plugin_manager()
    assert hasattr(pm.hook, "crm_navigation_items")


def test_hooks_for_leaves_out_modules_the_tenant_did_not_enable():
    pm = pluggy.PluginManager("guanxi")
    pm.add_hookspecs(hookspecs)

    class Retail:
        @hookimpl
        def crm_navigation_items(self, tenant):
            return [{"label": "Store audits", "url": "/retail/audits/"}]

    class Projects:
        @hookimpl
        def crm_navigation_items(self, tenant):
            return [{"label": "Projects", "url": "/projects/"}]

    pm.register(Retail(), name="consumer_goods")
    pm.register(Projects(), name="project_sales")
    tenant = SimpleNamespace(enabled_modules=["project_sales"])

    hooks = _TenantHooks(pm, {"project_sales"})
    assert hooks.crm_navigation_items(tenant=tenant) == [
        [{"label": "Projects", "url": "/projects/"}]
    ]
    assert _TenantHooks(pm, set()).crm_navigation_items(tenant=tenant) == []
