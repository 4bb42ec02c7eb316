"""Record security: every role, object type, action and scope, through the selector layer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django_tenants.utils import tenant_context

from core_crm.access.defaults import DEFAULT_ROLES
from core_crm.access.models import Action, RecordShare, Role, Scope, Team
from core_crm.access.policy import (
    PermissionDenied,
    access_or_404,
    require_create,
    scope_for,
    visible,
)
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User

MODELS = {"account": Account, "contact": Contact, "lead": Lead}
ROLE_KEYS = [spec["key"] for spec in DEFAULT_ROLES]


def make_record(object_type: str, owner: User, label: str):
    model = MODELS[object_type]
    if object_type == "account":
        return model.objects.create(owner=owner, name=f"Account of {label}")
    return model.objects.create(owner=owner, last_name=f"Person of {label}")


@dataclass
class World:
    users: dict[str, User]  # one per role, all in team North
    outsider: User  # a sales rep in team South
    records: dict[str, dict[int, object]]  # object type -> owner pk -> record
    north: Team


@pytest.fixture
def world(alpha):
    with tenant_context(alpha):
        roles = {role.key: role for role in Role.objects.all()}
        north = Team.objects.create(name="North")
        south = Team.objects.create(name="South")
        users = {}
        for key in ROLE_KEYS:
            users[key] = User.objects.create_user(
                email=f"{key}@matrix.test", password="x" * 12, full_name=key, role=roles[key]
            )
            north.members.add(users[key])
        outsider = User.objects.create_user(
            email="south@matrix.test",
            password="x" * 12,
            full_name="South rep",
            role=roles["sales_rep"],
        )
        south.members.add(outsider)
        owners = [*users.values(), outsider]
        records = {
            object_type: {
                owner.pk: make_record(object_type, owner, owner.email) for owner in owners
            }
            for object_type in MODELS
        }
        yield World(users=users, outsider=outsider, records=records, north=north)


def expected_owner_ids(world: World, user: User, scope: str) -> set[int]:
    everyone = {*(u.pk for u in world.users.values()), world.outsider.pk}
    north = {u.pk for u in world.users.values()}
    return {
        Scope.ALL: everyone,
        Scope.TEAM: north if user.pk in north else {user.pk},
        Scope.OWN: {user.pk},
        Scope.NONE: set(),
    }[scope]


@pytest.mark.parametrize("role_key", ROLE_KEYS)
@pytest.mark.parametrize("object_type", list(MODELS))
@pytest.mark.parametrize("action", [Action.READ, Action.EDIT, Action.DELETE, Action.EXPORT])
def test_visible_records_follow_the_role_scope(alpha, world, role_key, object_type, action):
    spec = next(s for s in DEFAULT_ROLES if s["key"] == role_key)
    scope = spec["permissions"][object_type][action]  # type: ignore[index]
    user = world.users[role_key]
    with tenant_context(alpha):
        assert scope_for(user, object_type, action) == scope
        seen = visible(user, MODELS[object_type].objects.all(), object_type, action)
        owner_ids = {record.owner_id for record in seen}
    assert owner_ids == expected_owner_ids(world, user, scope)


@pytest.mark.parametrize("role_key", ROLE_KEYS)
@pytest.mark.parametrize("object_type", list(MODELS))
def test_create_follows_the_role(alpha, world, role_key, object_type):
    spec = next(s for s in DEFAULT_ROLES if s["key"] == role_key)
    allowed = spec["permissions"][object_type]["create"] == Scope.ALL  # type: ignore[index]
    with tenant_context(alpha):
        if allowed:
            require_create(world.users[role_key], object_type)
        else:
            with pytest.raises(PermissionDenied, match="Ask a workspace admin"):
                require_create(world.users[role_key], object_type)


def test_team_scope_covers_teammates_but_not_other_teams(alpha, world):
    manager = world.users["sales_manager"]
    with tenant_context(alpha):
        teammate_record = world.records["account"][world.users["sales_rep"].pk]
        outsider_record = world.records["account"][world.outsider.pk]
        assert access_or_404(manager, Account.objects.all(), teammate_record.pk, "account")
        with pytest.raises(Http404):
            access_or_404(manager, Account.objects.all(), outsider_record.pk, "account")


def test_out_of_scope_and_missing_records_fail_the_same_way(alpha, world):
    rep = world.users["sales_rep"]
    with tenant_context(alpha):
        someone_elses = world.records["contact"][world.outsider.pk]
        for pk in (someone_elses.pk, 10**9, "not-a-number"):
            with pytest.raises(Http404):
                access_or_404(rep, Contact.objects.all(), pk, "contact")


def test_sharing_a_record_grants_read_and_optionally_edit(alpha, world):
    rep = world.users["sales_rep"]
    with tenant_context(alpha):
        record = world.records["lead"][world.outsider.pk]
        ctype = ContentType.objects.get_for_model(Lead)
        assert not visible(rep, Lead.objects.filter(pk=record.pk), "lead").exists()

        RecordShare.objects.create(content_type=ctype, object_id=record.pk, team=world.north)
        assert visible(rep, Lead.objects.filter(pk=record.pk), "lead").exists()
        assert not visible(rep, Lead.objects.filter(pk=record.pk), "lead", Action.EDIT).exists()

        RecordShare.objects.create(content_type=ctype, object_id=record.pk, user=rep, can_edit=True)
        assert visible(rep, Lead.objects.filter(pk=record.pk), "lead", Action.EDIT).exists()
        # Sharing never grants delete or export.
        assert not visible(rep, Lead.objects.filter(pk=record.pk), "lead", Action.DELETE).exists()


def test_workspace_admins_see_everything_and_deactivated_users_nothing(alpha, world):
    with tenant_context(alpha):
        admin = User.objects.get(pk=1)
        assert admin.is_workspace_admin and admin.role is None
        assert visible(admin, Account.objects.all(), "account").count() == Account.objects.count()

        manager = world.users["sales_manager"]
        manager.is_active = False
        assert not visible(manager, Account.objects.all(), "account").exists()


def test_user_without_a_role_sees_nothing(alpha, world):
    with tenant_context(alpha):
        nobody = User.objects.create_user(
            email="norole@matrix.test", password="x" * 12, full_name="No role"
        )
        for object_type, model in MODELS.items():
            assert not visible(nobody, model.objects.all(), object_type).exists()
