"""Record security over HTTP: for every default role, object type and action, the REST API and
the pages answer as the role table says.

The expectation is computed from each role's permissions (the table in
core_crm/access/defaults.py, checked to be what the workspace holds), never written out by
hand. Each role's user owns two records of each type (one to delete through the API, one through
the list page's bulk delete), as do a teammate and someone in another team, so the own, team and
all scopes each show a different set. Actions: create, read (list, detail), edit (form and API),
export (the list's CSV) and delete (API and bulk delete). One test per role keeps the suite
parallel; within it the reads come first and the deletes last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.access.defaults import DEFAULT_ROLES
from core_crm.access.models import Role, Scope, Team
from core_crm.api.services import token_create
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User

HOST = "alpha.localhost"
ROLE_KEYS = [str(spec["key"]) for spec in DEFAULT_ROLES]


@dataclass(frozen=True)
class ObjectType:
    key: str
    model: Any  # Account, Contact or Lead
    slug: str  # page URL prefix
    api: str  # REST collection
    name_field: str
    form: dict[str, Any]  # the other fields a valid page form needs


OBJECTS = [
    ObjectType("account", Account, "customers", "accounts", "name", {"kind": "prospect"}),
    ObjectType("contact", Contact, "contacts", "contacts", "last_name", {}),
    ObjectType("lead", Lead, "leads", "leads", "last_name", {"status": "new", "score": 0}),
]


@dataclass
class World:
    role_users: dict[str, User]  # one per default role, all in team North
    teammate: User  # also in North
    outsider: User  # in team South
    north: set[int]
    everyone: set[int]
    records: dict[tuple[str, int], int]  # (object type, owner id) -> record id
    spares: dict[tuple[str, int], int]  # a second record each, deleted through the page


@pytest.fixture
def world(alpha) -> World:
    with tenant_context(alpha):
        roles = {role.key: role for role in Role.objects.all()}
        north = Team.objects.create(name="Matrix North")
        south = Team.objects.create(name="Matrix South")

        def person(label: str, role: Role, team: Team) -> User:
            # No password: nothing to hash; pages sign in with force_login, the API by token.
            user = User.objects.create_user(
                email=f"{label}@matrix.test", password=None, full_name=label, role=role
            )
            team.members.add(user)
            return user

        role_users = {key: person(key, roles[key], north) for key in ROLE_KEYS}
        teammate = person("teammate", roles["sales_rep"], north)
        outsider = person("outsider", roles["sales_rep"], south)
        owners = [*role_users.values(), teammate, outsider]
        records: dict[tuple[str, int], int] = {}
        spares: dict[tuple[str, int], int] = {}
        for obj in OBJECTS:
            for target, suffix in ((records, "x"), (spares, "spare")):
                made = obj.model.objects.bulk_create(
                    [
                        obj.model(owner=owner, **{obj.name_field: marker(obj, owner.pk, suffix)})
                        for owner in owners
                    ]
                )
                target.update({(obj.key, row.owner_id): row.pk for row in made})
        return World(
            role_users=role_users,
            teammate=teammate,
            outsider=outsider,
            north={u.pk for u in [*role_users.values(), teammate]},
            everyone={u.pk for u in owners},
            records=records,
            spares=spares,
        )


def marker(obj: ObjectType, owner_id: int, suffix: str = "x") -> str:
    # The suffix keeps owner 1's marker from being found inside owner 10's.
    return f"mx-{obj.key}-{owner_id}-{suffix}"


def reach(world: World, user: User, scope: str) -> set[int]:
    """Owners of the records a scope reaches for `user`."""
    return {
        Scope.ALL: world.everyone,
        Scope.TEAM: world.north,
        Scope.OWN: {user.pk},
        Scope.NONE: set(),
    }[Scope(scope)]


class Api:
    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def send(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        body = json.dumps(data or {})
        return getattr(self.client, method)(path, body, content_type="application/json")


def test_the_roles_in_the_workspace_are_the_role_table(alpha):
    with tenant_context(alpha):
        held = {role.key: role.permissions for role in Role.objects.all()}
    for spec in DEFAULT_ROLES:
        assert held[str(spec["key"])] == spec["permissions"]


@pytest.mark.parametrize("role_key", ROLE_KEYS)
def test_api_and_pages_follow_the_role_table(alpha, world, role_key):
    user = world.role_users[role_key]
    with tenant_context(alpha):
        role = Role.objects.get(key=role_key)
        _row, token = token_create(user=user, name="matrix")
        pages = Client(HTTP_HOST=HOST)
        pages.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    api = Api(token)
    subjects = {"own": user.pk, "teammate": world.teammate.pk, "outsider": world.outsider.pk}

    for obj in OBJECTS:
        readers = reach(world, user, role.scope(obj.key, "read"))
        editors = reach(world, user, role.scope(obj.key, "edit")) & readers
        deleters = reach(world, user, role.scope(obj.key, "delete")) & readers
        exporters = reach(world, user, role.scope(obj.key, "export")) & readers
        may_create = role.scope(obj.key, "create") == Scope.ALL
        where = f"{role_key} {obj.key}"

        # List: exactly the records the read scope reaches, in the API and on the page.
        listed = api.get(f"/api/v1/{obj.api}/?page_size=200")
        assert listed.status_code == 200, where
        expected_ids = {world.records[(obj.key, owner)] for owner in readers} | {
            world.spares[(obj.key, owner)] for owner in readers
        }
        assert {row["id"] for row in listed.json()["results"]} == expected_ids, where
        page = pages.get(f"/{obj.slug}/")
        assert page.status_code == 200, where
        html = page.content.decode()
        shown = {owner for owner in world.everyone if marker(obj, owner) in html}
        assert shown == readers, where
        assert (f'href="/{obj.slug}/new/"' in html) == may_create, where

        # Export: the list's CSV holds the records the export scope reaches; none = refused.
        exported = pages.get(f"/{obj.slug}/export.csv")
        if role.scope(obj.key, "export") == Scope.NONE:
            assert exported.status_code == 403, where
            assert "does not allow exporting" in exported.content.decode(), where
            assert 'data-testid="export-button"' not in html, where
        else:
            assert exported.status_code == 200, where
            csv_text = b"".join(exported.streaming_content).decode()
            in_csv = {owner for owner in world.everyone if marker(obj, owner) in csv_text}
            assert in_csv == exporters, where
            assert 'data-testid="export-button"' in html, where

        # One record each of the user's own, a teammate's and an outsider's.
        for whose, owner in subjects.items():
            pk = world.records[(obj.key, owner)]
            label = f"{where} {whose}'s"
            readable, editable = owner in readers, owner in editors

            detail = pages.get(f"/{obj.slug}/{pk}/")
            assert detail.status_code == (200 if readable else 404), label
            assert api.get(f"/api/v1/{obj.api}/{pk}/").status_code == (200 if readable else 404), (
                label
            )
            if readable:
                edit_link = f'href="/{obj.slug}/{pk}/edit/"'
                assert (edit_link in detail.content.decode()) == editable, label
            # The form is refused before anyone fills it in: 403 with the reason when the
            # record is readable, 404 (like a missing id) when it is not.
            form = pages.get(f"/{obj.slug}/{pk}/edit/")
            assert form.status_code == (200 if editable else 403 if readable else 404), label
            if readable and not editable:
                assert "does not allow editing" in form.content.decode(), label

            renamed = f"{marker(obj, owner)}-page"
            posted = pages.post(f"/{obj.slug}/{pk}/edit/", {obj.name_field: renamed, **obj.form})
            assert posted.status_code == (302 if editable else 403 if readable else 404), label
            patched = api.send(
                "patch", f"/api/v1/{obj.api}/{pk}/", {obj.name_field: f"{renamed}-api"}
            )
            assert patched.status_code == (200 if editable else 403 if readable else 404), label
            with tenant_context(alpha):
                now = getattr(obj.model.objects.get(pk=pk), obj.name_field)
            assert now == (f"{renamed}-api" if editable else marker(obj, owner)), label

        # Create, on the page and through the API.
        new_form = pages.get(f"/{obj.slug}/new/")
        assert new_form.status_code == (200 if may_create else 403), where
        created = pages.post(
            f"/{obj.slug}/new/", {obj.name_field: f"mx-new-page-{role_key}", **obj.form}
        )
        assert created.status_code == (302 if may_create else 403), where
        if not may_create:
            assert "does not allow creating" in created.content.decode(), where
        made = api.send("post", f"/api/v1/{obj.api}/", {obj.name_field: f"mx-new-api-{role_key}"})
        assert made.status_code == (201 if may_create else 403), where
        with tenant_context(alpha):
            new_rows = obj.model.objects.filter(
                **{f"{obj.name_field}__startswith": "mx-new-"}, owner=user
            ).count()
        assert new_rows == (2 if may_create else 0), where

        # Delete, last, as it removes the records: through the API one by one, and with the
        # list page's bulk delete (out-of-scope ids are skipped, never deleted).
        for whose, owner in subjects.items():
            pk = world.records[(obj.key, owner)]
            deleted = api.send("delete", f"/api/v1/{obj.api}/{pk}/")
            readable, deletable = owner in readers, owner in deleters
            expected = 204 if deletable else 403 if readable else 404
            assert deleted.status_code == expected, f"{where} {whose}'s delete"
            with tenant_context(alpha):
                assert obj.model.objects.filter(pk=pk).exists() != deletable
        spare_ids = [world.spares[(obj.key, owner)] for owner in subjects.values()]
        bulk = pages.post(
            f"/{obj.slug}/bulk/", {"action": "delete", "ids": spare_ids, "confirm": "1"}
        )
        may_delete_some = bool(set(subjects.values()) & deleters)
        # Nothing deletable among the chosen: the page stays, saying none can be deleted;
        # nothing even readable: the same 404 as for ids that do not exist.
        expected = 302 if may_delete_some else 400 if set(subjects.values()) & readers else 404
        assert bulk.status_code == expected, where
        with tenant_context(alpha):
            left = set(
                obj.model.objects.filter(pk__in=spare_ids).values_list("owner_id", flat=True)
            )
        assert left == set(subjects.values()) - deleters, f"{where} bulk delete"
