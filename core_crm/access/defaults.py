"""The roles every workspace starts with; the workspace admin can edit them."""

from __future__ import annotations

ALL, TEAM, OWN, NONE = "all", "team", "own", "none"
CUSTOMER_OBJECTS = ("account", "contact", "lead")
SALES_OBJECTS = ("opportunity", "quote", "activity")
ALL_OBJECTS = CUSTOMER_OBJECTS + SALES_OBJECTS


def _grant(
    create: str,
    read: str,
    edit: str,
    delete: str,
    export: str,
    objects: tuple[str, ...] = ALL_OBJECTS,
) -> dict[str, dict[str, str]]:
    return {
        obj: {"create": create, "read": read, "edit": edit, "delete": delete, "export": export}
        for obj in objects
    }


DEFAULT_ROLES: list[dict[str, object]] = [
    {"key": "admin", "name": "Administrator", "permissions": _grant(ALL, ALL, ALL, ALL, ALL)},
    {
        "key": "sales_manager",
        "name": "Sales manager",
        "permissions": _grant(ALL, TEAM, TEAM, TEAM, TEAM),
    },
    {"key": "sales_rep", "name": "Sales rep", "permissions": _grant(ALL, OWN, OWN, NONE, NONE)},
    {
        "key": "marketing",
        "name": "Marketing",
        "permissions": {
            **_grant(NONE, ALL, OWN, NONE, ALL, ("account", "contact")),
            **_grant(ALL, ALL, ALL, OWN, ALL, ("lead",)),
            **_grant(NONE, ALL, NONE, NONE, ALL, ("opportunity", "quote")),
            **_grant(ALL, OWN, OWN, OWN, NONE, ("activity",)),
        },
    },
    {
        "key": "service_agent",
        "name": "Service agent",
        "permissions": {
            **_grant(ALL, ALL, OWN, NONE, NONE, ("account", "contact")),
            **_grant(NONE, NONE, NONE, NONE, NONE, ("lead",)),
            **_grant(NONE, ALL, NONE, NONE, NONE, ("opportunity", "quote")),
            **_grant(ALL, ALL, OWN, OWN, NONE, ("activity",)),
        },
    },
    {"key": "read_only", "name": "Read-only", "permissions": _grant(NONE, ALL, NONE, NONE, NONE)},
]
