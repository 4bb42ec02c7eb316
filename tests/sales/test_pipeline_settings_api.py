"""/api/v1/pipelines/ and /api/v1/stages/: everyone reads pipelines with their stages; only
admins change them (403 with a message otherwise); another workspace's ids are 404."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.sales.models import Pipeline, Stage, StageChange
from core_crm.sales.pipeline_services import pipeline_add

from ..api.test_api import Api, make_user
from ..conftest import ALPHA, BETA
from .factories import make_opportunity, stage


def _token_client(tenant, email: str, role: str | None, admin: bool = False):  # type: ignore[no-untyped-def]
    user, token = make_user(tenant, email, role, admin=admin)
    return user, Api(f"{tenant.schema_name}.localhost", token)


@pytest.fixture
def admin_api(alpha):  # type: ignore[no-untyped-def]
    return _token_client(alpha, ALPHA.admin_email, None, admin=True)


@pytest.fixture
def rep_api(alpha):  # type: ignore[no-untyped-def]
    return _token_client(alpha, ALPHA.rep_email, "sales_rep")


@pytest.fixture
def beta_api(beta):  # type: ignore[no-untyped-def]
    return _token_client(beta, BETA.admin_email, None, admin=True)


def test_everyone_lists_pipelines_with_stages_in_order(
    alpha, admin, rep_api, django_assert_max_num_queries
):
    _user, api = rep_api
    api.get("/api/v1/pipelines/")
    with django_assert_max_num_queries(20) as few:
        api.get("/api/v1/pipelines/")
    baseline = len(few)
    with tenant_context(alpha):
        for n in range(3):
            pipeline_add(actor=admin, data={"name": f"Extra {n}"})
    with django_assert_max_num_queries(baseline):
        api.get("/api/v1/pipelines/")
    with tenant_context(alpha):
        Pipeline.objects.filter(name__startswith="Extra").update(is_active=False)
        Stage.objects.filter(pipeline__name__startswith="Extra").delete()
        Pipeline.objects.filter(name__startswith="Extra").delete()
    response = api.get("/api/v1/pipelines/")
    assert response.status_code == 200
    body = {p["key"]: p for p in response.json()}
    assert body["new-business"]["name_zh"] == "新业务"
    assert [s["key"] for s in body["new-business"]["stages"]] == [
        "qualification",
        "needs-analysis",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert body["renewals"]["stages"][-2]["outcome"] == "won"
    stages = api.get("/api/v1/stages/").json()
    assert len(stages) == 10


def test_non_admin_writes_are_refused_with_a_message(alpha, rep_api):
    _user, api = rep_api
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="new-business")
        st = stage("proposal")
    for response in (
        api.post("/api/v1/pipelines/", {"name": "Mine"}),
        api.patch(f"/api/v1/pipelines/{pipeline.pk}/", {"name": "Mine"}),
        api.post(f"/api/v1/pipelines/{pipeline.pk}/reorder/", {"order": []}),
        api.post("/api/v1/stages/", {"pipeline": pipeline.pk, "name": "Mine"}),
        api.patch(f"/api/v1/stages/{st.pk}/", {"probability": 5}),
        api.post(f"/api/v1/stages/{st.pk}/retire/", {}),
        api.post(f"/api/v1/stages/{st.pk}/reactivate/", {}),
    ):
        assert response.status_code == 403
        assert "workspace admin" in response.json()["detail"]
    with tenant_context(alpha):
        assert Stage.objects.get(pk=st.pk).probability == 50


def test_admin_creates_renames_and_switches_pipelines(alpha, admin_api):
    _user, api = admin_api
    response = api.post(
        "/api/v1/pipelines/",
        {
            "name": "Projects",
            "name_zh": "项目",
            "first_stage": "Tender",
            "first_stage_probability": 20,
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert [(s["name"], s["probability"]) for s in created["stages"]] == [
        ("Tender", 20),
        ("Closed won", 100),
        ("Closed lost", 0),
    ]
    bad = api.post("/api/v1/pipelines/", {"name": ""})
    assert bad.status_code == 400 and "name" in bad.json()
    renamed = api.patch(f"/api/v1/pipelines/{created['id']}/", {"name": "Projects 2027"})
    assert renamed.json()["name"] == "Projects 2027" and renamed.json()["key"] == "projects"
    off = api.patch(f"/api/v1/pipelines/{created['id']}/", {"is_active": False})
    assert off.json()["is_active"] is False
    with tenant_context(alpha):
        Pipeline.objects.exclude(pk=created["id"]).exclude(key="new-business").update(
            is_active=False
        )
        last = Pipeline.objects.get(key="new-business")
        assert AuditEntry.objects.filter(object_id=created["id"], channel="api").count() >= 3
    refused = api.patch(f"/api/v1/pipelines/{last.pk}/", {"is_active": False})
    assert refused.status_code == 400
    assert "only active pipeline" in refused.json()["pipeline"][0]


def test_admin_adds_updates_reorders_retires_and_reactivates_stages(alpha, admin, admin_api):
    _user, api = admin_api
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="renewals")
    created = api.post(
        "/api/v1/stages/",
        {"pipeline": pipeline.pk, "name": "Price review", "name_zh": "价格审核", "probability": 55},
    )
    assert created.status_code == 201
    stage_id = created.json()["id"]
    assert api.post(
        "/api/v1/stages/", {"pipeline": pipeline.pk, "probability": 400}
    ).json().keys() >= {
        "name",
        "probability",
    }
    updated = api.patch(f"/api/v1/stages/{stage_id}/", {"probability": 65})
    assert updated.json()["probability"] == 65
    ids = [s["id"] for s in api.get(f"/api/v1/pipelines/{pipeline.pk}/").json()["stages"]]
    reordered = api.post(f"/api/v1/pipelines/{pipeline.pk}/reorder/", {"order": ids[::-1]})
    assert [s["id"] for s in reordered.json()["stages"]] == ids[::-1]
    assert (
        api.post(f"/api/v1/pipelines/{pipeline.pk}/reorder/", {"order": ids[:2]}).status_code == 400
    )

    with tenant_context(alpha):
        deal = make_opportunity(admin, stage_key="upcoming", pipeline_key="renewals")
        upcoming = stage("upcoming", "renewals")
    missing_target = api.post(f"/api/v1/stages/{upcoming.pk}/retire/", {})
    assert missing_target.status_code == 400 and "move_to" in missing_target.json()
    retired = api.post(f"/api/v1/stages/{upcoming.pk}/retire/", {"move_to": stage_id})
    assert retired.status_code == 200
    assert retired.json()["moved"] == 1 and retired.json()["stage"]["is_active"] is False
    with tenant_context(alpha):
        deal.refresh_from_db()
        assert deal.stage_id == stage_id
        last = StageChange.objects.filter(opportunity=deal).order_by("-pk")[0]
        assert (last.from_stage_id, last.to_stage_id, last.channel) == (
            upcoming.pk,
            stage_id,
            "api",
        )
    back = api.post(f"/api/v1/stages/{upcoming.pk}/reactivate/", {})
    assert back.json()["is_active"] is True


def test_other_workspace_ids_are_not_found(alpha, beta_api):
    _user, api = beta_api
    with tenant_context(alpha):
        pipeline = Pipeline.objects.create(key="alpha-only", name="Alpha only", position=9)
        st = Stage.objects.create(pipeline=pipeline, key="x", name="Alpha stage", position=0)
    assert api.get(f"/api/v1/pipelines/{pipeline.pk}/").status_code == 404
    assert api.patch(f"/api/v1/pipelines/{pipeline.pk}/", {"name": "Taken"}).status_code == 404
    assert api.patch(f"/api/v1/stages/{st.pk}/", {"name": "Taken"}).status_code == 404
    assert api.post(f"/api/v1/stages/{st.pk}/retire/", {}).status_code == 404
    created = api.post("/api/v1/stages/", {"pipeline": pipeline.pk, "name": "Sneaky"})
    assert created.status_code == 400 and "pipeline" in created.json()
    with tenant_context(alpha):
        st.refresh_from_db()
        assert st.name == "Alpha stage" and st.is_active
