"""The administration API: picklists, roles, people and teams; admins only."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from core_crm.access.models import Invitation, Role, Team
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, PicklistValue
from core_crm.users.models import User

from ..conftest import ALPHA

ADMIN_ONLY = "Only a workspace admin can manage the workspace's settings."


def industry(tenant, label: str) -> PicklistValue:
    with tenant_context(tenant):
        last = PicklistValue.objects.filter(picklist="industry").order_by("-position").first()
        return PicklistValue.objects.create(
            picklist="industry",
            code=label.lower().replace(" ", "-"),
            label=label,
            label_zh=label + " 中",
            position=(last.position + 1) if last else 0,
        )


def values_of(body: dict, key: str) -> list[dict]:
    return next(p for p in body if p["key"] == key)["values"]


# --- Picklists --------------------------------------------------------------------------------


def test_picklists_list_every_value_with_usage_retired_ones_included(
    alpha, admin_api, django_assert_max_num_queries
):
    user, api = admin_api
    used = industry(alpha, "Shipbuilding")
    retired = industry(alpha, "Whaling")
    with tenant_context(alpha):
        for n in range(3):
            Account.objects.create(owner=user, name=f"Yard {n}", industry=used)
        retired.is_active = False
        retired.save()
    with django_assert_max_num_queries(10):
        response = api.get("/api/v1/picklists/")
    assert response.status_code == 200
    body = response.json()
    assert {p["key"] for p in body} >= {"industry", "source", "contact_role"}
    rows = {v["code"]: v for v in values_of(body, "industry")}
    assert rows["shipbuilding"]["used"] == 3
    assert rows["whaling"] == {
        "id": retired.pk,
        "picklist": "industry",
        "code": "whaling",
        "label": "Whaling",
        "label_zh": "Whaling 中",
        "position": retired.position,
        "is_active": False,
        "used": 0,
    }
    positions = [v["position"] for v in values_of(body, "industry")]
    assert positions == sorted(positions)

    # More values and records: the same number of queries.
    for n in range(5):
        industry(alpha, f"Extra {n}")
    with django_assert_max_num_queries(10):
        assert api.get("/api/v1/picklists/").status_code == 200
    one = api.get("/api/v1/picklists/industry/").json()
    assert one["key"] == "industry" and len(one["values"]) == len(values_of(body, "industry")) + 5
    assert api.get("/api/v1/picklists/no-such-list/").status_code == 404


def test_value_create_update_retire_reactivate_and_move(alpha, admin_api):
    _user, api = admin_api
    created = api.post(
        "/api/v1/picklists/industry/values/", {"label": "Tea trade", "label_zh": "茶叶贸易"}
    )
    assert created.status_code == 201, created.json()
    value = created.json()
    assert value["code"] == "tea-trade" and value["is_active"] and value["used"] == 0
    path = f"/api/v1/picklists/industry/values/{value['id']}/"

    changed = api.patch(path, {"label_zh": "茶业"})
    assert changed.status_code == 200
    assert (changed.json()["label"], changed.json()["label_zh"]) == ("Tea trade", "茶业")
    assert changed.json()["code"] == "tea-trade"

    assert api.post(path + "retire/", {}).json()["is_active"] is False
    assert api.post(path + "reactivate/", {}).json()["is_active"] is True

    moved = api.post(path + "move/", {"offset": -1})
    assert moved.status_code == 200
    ids = [v["id"] for v in moved.json()["values"]]
    assert ids[-2] == value["id"]  # it was last, now one up

    with tenant_context(alpha):
        entries = AuditEntry.objects.filter(
            object_id=value["id"], content_type__model="picklistvalue"
        )
        assert entries.count() >= 4
        assert set(entries.values_list("channel", flat=True)) == {"api"}


def test_reorder_takes_every_value_once(alpha, admin_api):
    _user, api = admin_api
    listed = api.get("/api/v1/picklists/intention/").json()["values"]
    ids = [v["id"] for v in listed]
    response = api.post("/api/v1/picklists/intention/reorder/", {"order": ids[::-1]})
    assert response.status_code == 200
    assert [v["id"] for v in response.json()["values"]] == ids[::-1]

    bad = api.post("/api/v1/picklists/intention/reorder/", {"order": ids[1:]})
    assert bad.status_code == 400
    assert "order" in bad.json()
    with tenant_context(alpha):
        now = list(
            PicklistValue.objects.filter(picklist="intention")
            .order_by("position")
            .values_list("pk", flat=True)
        )
    assert now == ids[::-1]


def test_bad_labels_are_named_and_nothing_is_saved(alpha, admin_api):
    _user, api = admin_api
    existing = api.get("/api/v1/picklists/source/").json()["values"][0]
    with tenant_context(alpha):
        before = PicklistValue.objects.count()
    missing = api.post("/api/v1/picklists/source/values/", {"label": "Referral 2"})
    assert missing.status_code == 400
    assert missing.json() == {"label_zh": ["Enter the Chinese label."]}
    twin = api.post(
        "/api/v1/picklists/source/values/", {"label": existing["label"].upper(), "label_zh": "新"}
    )
    assert twin.status_code == 400
    assert list(twin.json()) == ["label"]
    assert existing["label"].upper() in twin.json()["label"][0]
    with tenant_context(alpha):
        assert PicklistValue.objects.count() == before


def test_value_in_use_cannot_be_deleted_but_can_be_retired(alpha, admin_api):
    user, api = admin_api
    used = industry(alpha, "Porcelain")
    unused = industry(alpha, "Jade")
    with tenant_context(alpha):
        Account.objects.create(owner=user, name="Jingdezhen Kilns", industry=used)
    path = f"/api/v1/picklists/industry/values/{used.pk}/"

    refused = api.delete(path)
    assert refused.status_code == 409
    assert "Porcelain" in refused.json()["detail"]
    assert "Retire it instead" in refused.json()["detail"]
    retired = api.post(path + "retire/", {})
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    with tenant_context(alpha):
        assert Account.objects.get(name="Jingdezhen Kilns").industry_id == used.pk

    assert api.delete(f"/api/v1/picklists/industry/values/{unused.pk}/").status_code == 204
    with tenant_context(alpha):
        assert not PicklistValue.objects.filter(pk=unused.pk).exists()
        assert PicklistValue.objects.filter(pk=used.pk).exists()


def test_values_of_another_list_or_workspace_are_not_found(alpha, beta, admin_api, beta_api):
    _user, api = admin_api
    beta_value = industry(beta, "Beta only industry")
    missing = api.get("/api/v1/picklists/industry/values/987654321/")
    assert missing.status_code == 404
    for response in (
        api.get(f"/api/v1/picklists/industry/values/{beta_value.pk}/"),
        api.patch(f"/api/v1/picklists/industry/values/{beta_value.pk}/", {"label": "x"}),
        api.delete(f"/api/v1/picklists/industry/values/{beta_value.pk}/"),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    with tenant_context(alpha):
        source = PicklistValue.objects.filter(picklist="source").first()
    assert api.get(f"/api/v1/picklists/industry/values/{source.pk}/").status_code == 404
    with tenant_context(beta):
        assert PicklistValue.objects.get(pk=beta_value.pk).label == "Beta only industry"


def test_non_admins_get_403_with_a_message_and_nothing_changes(alpha, rep_api):
    _user, api = rep_api
    with tenant_context(alpha):
        value = PicklistValue.objects.filter(picklist="industry").order_by("pk").first()
        role = Role.objects.get(key="sales_rep")
    vpath = f"/api/v1/picklists/industry/values/{value.pk}/"
    for response in (
        api.get("/api/v1/picklists/"),
        api.get("/api/v1/picklists/industry/"),
        api.post("/api/v1/picklists/industry/values/", {"label": "A", "label_zh": "甲"}),
        api.patch(vpath, {"label": "Hacked"}),
        api.delete(vpath),
        api.post(vpath + "retire/", {}),
        api.post(vpath + "move/", {"offset": 1}),
        api.post("/api/v1/picklists/industry/reorder/", {"order": []}),
        api.get("/api/v1/roles/"),
        api.get(f"/api/v1/roles/{role.pk}/"),
        api.post("/api/v1/roles/", {"name": "Mine", "copy_from": role.pk}),
        api.patch(f"/api/v1/roles/{role.pk}/", {"permissions": {"account": {"read": "all"}}}),
        api.delete(f"/api/v1/roles/{role.pk}/"),
        api.get("/api/v1/users/"),
        api.get("/api/v1/teams/"),
    ):
        assert response.status_code == 403, response.request
        assert response.json() == {"detail": ADMIN_ONLY}
    with tenant_context(alpha):
        assert PicklistValue.objects.get(pk=value.pk).label == value.label
        assert PicklistValue.objects.get(pk=value.pk).is_active
        assert Role.objects.get(pk=role.pk).permissions == role.permissions
        assert not Role.objects.filter(name="Mine").exists()


# --- Roles ------------------------------------------------------------------------------------


def test_roles_list_and_retrieve_with_grid_and_holders(alpha, admin_api, rep_api):
    _user, api = admin_api
    listed = api.get("/api/v1/roles/")
    assert listed.status_code == 200
    by_key = {r["key"]: r for r in listed.json()}
    assert {"admin", "sales_rep", "sales_manager"} <= set(by_key)
    rep_role = by_key["sales_rep"]
    assert rep_role["holders"] >= 1
    assert rep_role["permissions"]["account"]["read"] == "own"
    one = api.get(f"/api/v1/roles/{rep_role['id']}/")
    assert one.json() == rep_role
    assert api.get("/api/v1/roles/987654321/").status_code == 404


def test_create_a_role_copying_another_and_setting_cells(alpha, admin_api):
    _user, api = admin_api
    with tenant_context(alpha):
        manager = Role.objects.get(key="sales_manager")
    response = api.post(
        "/api/v1/roles/",
        {
            "name": "Key account manager",
            "copy_from": manager.pk,
            "permissions": {"account": {"read": "all", "edit": "all"}},
        },
    )
    assert response.status_code == 201, response.json()
    role = response.json()
    assert role["key"] == "key_account_manager" and role["holders"] == 0
    assert role["permissions"]["account"] == {
        **manager.permissions["account"],
        "read": "all",
        "edit": "all",
    }
    assert role["permissions"]["lead"] == manager.permissions["lead"]

    blank = api.post("/api/v1/roles/", {"name": "Trainee"})
    assert blank.status_code == 201
    assert {s for cells in blank.json()["permissions"].values() for s in cells.values()} == {"none"}
    with tenant_context(alpha):
        created = AuditEntry.objects.filter(kind="create", content_type__model="role")
        entry = created.latest("pk")
        assert entry.changes["name"] == [None, "Trainee"]
        assert entry.changes["copied_from"] == [None, None] and entry.channel == "api"
        # One entry per created role, even when cells were set on top of the copy.
        first = created.get(object_repr__contains="Key account")
        assert first.changes["copied_from"] == [None, "sales_manager"]
        assert first.changes["permissions"][1]["account"]["read"] == "all"
        assert not AuditEntry.objects.filter(kind="update", content_type__model="role").exists()


def test_bad_grid_cells_are_named_and_nothing_is_saved(alpha, admin_api):
    _user, api = admin_api
    with tenant_context(alpha):
        rep_role = Role.objects.get(key="sales_rep")
        roles_before = Role.objects.count()
    path = f"/api/v1/roles/{rep_role.pk}/"

    wider = api.patch(path, {"permissions": {"account": {"edit": "all"}}})
    assert wider.status_code == 400
    assert list(wider.json()) == ["account.edit"]
    assert "further than read" in wider.json()["account.edit"][0]

    shapes = api.patch(
        path,
        {"permissions": {"contact": {"create": "team", "fly": "all"}, "lead": {"read": "most"}}},
    )
    assert shapes.status_code == 400
    assert set(shapes.json()) == {"contact.fly", "lead.read"}
    create_scope = api.patch(path, {"permissions": {"contact": {"create": "team"}}})
    assert list(create_scope.json()) == ["contact.create"]

    created = api.post(
        "/api/v1/roles/",
        {"name": "Half made", "copy_from": rep_role.pk, "permissions": {"lead": {"delete": "all"}}},
    )
    assert created.status_code == 400
    assert list(created.json()) == ["lead.delete"]
    unknown_source = api.post("/api/v1/roles/", {"name": "Orphan", "copy_from": 987654})
    assert unknown_source.json() == {"copy_from": ["There is no role with this id."]}
    with tenant_context(alpha):
        assert Role.objects.get(pk=rep_role.pk).permissions == rep_role.permissions
        assert Role.objects.count() == roles_before


def test_rename_and_change_cells_and_the_administrator_keeps_full_rights(alpha, admin_api):
    _user, api = admin_api
    with tenant_context(alpha):
        rep_role = Role.objects.get(key="sales_rep")
        admin_role = Role.objects.get(key="admin")
    response = api.patch(
        f"/api/v1/roles/{rep_role.pk}/",
        {"name": "Field sales", "permissions": {"lead": {"delete": "own"}}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Field sales"
    assert response.json()["permissions"]["lead"]["delete"] == "own"
    assert response.json()["permissions"]["account"] == rep_role.permissions["account"]

    locked = api.patch(
        f"/api/v1/roles/{admin_role.pk}/", {"permissions": {"account": {"read": "own"}}}
    )
    assert locked.status_code == 400
    assert "permissions" in locked.json()
    taken = api.patch(f"/api/v1/roles/{admin_role.pk}/", {"name": "field SALES"})
    assert taken.status_code == 400 and list(taken.json()) == ["name"]
    with tenant_context(alpha):
        assert Role.objects.get(pk=admin_role.pk).permissions == admin_role.permissions
        assert AuditEntry.objects.filter(
            object_id=rep_role.pk, content_type__model="role", kind="update"
        ).exists()


def test_a_role_in_use_cannot_be_deleted_an_unused_one_can(alpha, admin_api, rep_api):
    admin, api = admin_api
    with tenant_context(alpha):
        rep_role = Role.objects.get(key="sales_rep")
        spare = Role.objects.create(key="spare", name="Spare", permissions={})
        offered = Role.objects.create(key="offered", name="Offered", permissions={})
        from datetime import timedelta

        from django.utils import timezone

        Invitation.objects.create(
            email="new@alpha.test",
            role=offered,
            invited_by=admin,
            token_hash="x" * 64,
            expires_at=timezone.now() + timedelta(days=1),
        )
    refused = api.delete(f"/api/v1/roles/{rep_role.pk}/")
    assert refused.status_code == 409
    assert (
        "hold this role" in refused.json()["detail"]
        or "holds this role" in refused.json()["detail"]
    )
    pending = api.delete(f"/api/v1/roles/{offered.pk}/")
    assert pending.status_code == 409 and "invitation" in pending.json()["detail"]
    assert api.delete(f"/api/v1/roles/{spare.pk}/").status_code == 204
    with tenant_context(alpha):
        assert Role.objects.filter(pk=rep_role.pk).exists()
        assert Role.objects.filter(pk=offered.pk).exists()
        assert not Role.objects.filter(pk=spare.pk).exists()


def test_roles_of_another_workspace_are_not_reachable(alpha, beta, admin_api, beta_api):
    _user, api = admin_api
    with tenant_context(beta):
        beta_role = Role.objects.create(key="beta_only", name="Beta only", permissions={})
    missing = api.get("/api/v1/roles/987654321/")
    for response in (
        api.get(f"/api/v1/roles/{beta_role.pk}/"),
        api.patch(f"/api/v1/roles/{beta_role.pk}/", {"name": "Taken over"}),
        api.delete(f"/api/v1/roles/{beta_role.pk}/"),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    with tenant_context(beta):
        assert Role.objects.get(pk=beta_role.pk).name == "Beta only"


# --- People -----------------------------------------------------------------------------------


def test_people_and_teams_are_listed_for_admins(
    alpha, admin_api, rep_api, django_assert_max_num_queries
):
    _user, api = admin_api
    rep = rep_api[0]
    with tenant_context(alpha):
        team = Team.objects.create(name="North")
        team.members.add(rep)
        for n in range(3):
            User.objects.create_user(email=f"extra{n}@alpha.test", password="x" * 12, full_name="E")
    with django_assert_max_num_queries(10):
        people = api.get("/api/v1/users/")
    assert people.status_code == 200
    row = next(p for p in people.json() if p["email"] == ALPHA.rep_email)
    assert row["teams"] == [{"id": team.pk, "name": "North"}]
    assert "password" not in row
    with django_assert_max_num_queries(10):
        teams = api.get("/api/v1/teams/")
    assert {"id": team.pk, "name": "North", "members": [rep.pk]} in teams.json()


# --- Schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_new_endpoints(alpha, admin_api):
    _user, api = admin_api
    response = api.get("/api/schema/", format="json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/picklists/",
        "/api/v1/picklists/{key}/values/",
        "/api/v1/picklists/{key}/values/{value_id}/retire/",
        "/api/v1/picklists/{key}/reorder/",
        "/api/v1/roles/",
        "/api/v1/roles/{id}/",
        "/api/v1/users/",
        "/api/v1/accounts/{id}/merge/",
        "/api/v1/contacts/{id}/merge/",
        "/api/v1/leads/{id}/merge/",
        "/api/v1/merges/{entry_id}/undo/",
    ):
        assert f"{path}:" in text or f'"{path}"' in text, path
    assert "MergeRequest" in text and "RoleCreate" in text


def test_the_refusal_is_translated_for_chinese_callers(alpha, rep_api):
    _user, api = rep_api
    response = api.client.get("/api/v1/roles/", HTTP_ACCEPT_LANGUAGE="zh-hans", **api.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "只有工作区管理员可以管理工作区设置。"}
