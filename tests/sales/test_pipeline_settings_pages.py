"""Settings → Pipelines: admins see every pipeline with its stages and counts, and add,
rename, reorder, retire (moving open deals with history) and reactivate; nobody else may."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.sales.models import Pipeline, Stage, StageChange

from ..conftest import BETA, host_client, sign_in
from .factories import make_opportunity, stage


def _stage_keys(pipeline_key: str) -> list[str]:
    return list(
        Stage.objects.filter(pipeline__key=pipeline_key)
        .order_by("position")
        .values_list("key", flat=True)
    )


def test_admin_sees_pipelines_with_stages_in_order_and_counts(alpha, admin, admin_client):
    with tenant_context(alpha):
        make_opportunity(admin, stage_key="proposal")
        make_opportunity(admin, stage_key="proposal")
        make_opportunity(admin, stage_key="won")
    page = admin_client.get("/settings/pipelines/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "New business" in html and "新业务" in html and "Renewals" in html
    # Stages in pipeline order, with probability and count.
    rows = re.findall(r'data-stage="([\w-]+)"', html)
    assert rows[:6] == ["qualification", "needs-analysis", "proposal", "negotiation", "won", "lost"]
    proposal = html.split('data-stage="proposal"')[1].split("</tr>")[0]
    assert "50 %" in proposal and ">2<" in proposal.replace(" ", "")
    assert "Pipelines" in html and "Sales settings" in html  # in the settings menu


def test_pipeline_page_query_count_does_not_grow_with_rows(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    admin_client.get("/settings/pipelines/")
    with django_assert_max_num_queries(16) as few:  # 2 are the header's bell
        admin_client.get("/settings/pipelines/")
    baseline = len(few)
    with tenant_context(alpha):
        for n in range(6):
            make_opportunity(admin, name=f"Deal {n}", stage_key="negotiation")
        admin_client.get("/settings/pipelines/")
    with django_assert_max_num_queries(baseline):
        assert admin_client.get("/settings/pipelines/").status_code == 200


def test_non_admin_is_refused_every_page_and_action(alpha, rep_client):
    with tenant_context(alpha):
        st = stage("proposal")
        pipeline = st.pipeline
    for url in (
        "/settings/pipelines/",
        f"/settings/pipelines/{pipeline.pk}/edit/",
        f"/settings/pipelines/{pipeline.pk}/stages/add/",
        f"/settings/stages/{st.pk}/edit/",
        f"/settings/stages/{st.pk}/retire/",
        "/settings/sales/",
    ):
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.post("/settings/pipelines/", {"name": "Mine"}).status_code == 403
    assert rep_client.post(f"/settings/stages/{st.pk}/retire/").status_code == 403
    assert rep_client.post(f"/settings/stages/{st.pk}/move/up/").status_code == 403
    with tenant_context(alpha):
        assert not Pipeline.objects.filter(name="Mine").exists()
        assert Stage.objects.get(pk=st.pk).is_active


def test_admin_adds_a_pipeline_with_named_first_stage(alpha, admin_client):
    response = admin_client.post(
        "/settings/pipelines/",
        {
            "name": "Distributors",
            "name_zh": "经销商",
            "first_stage": "Onboarding",
            "first_stage_zh": "入驻",
            "first_stage_probability": "30",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(name="Distributors")
        stages = list(pipeline.stages.order_by("position"))
        assert [(s.name, s.name_zh, s.probability, s.outcome) for s in stages] == [
            ("Onboarding", "入驻", 30, "open"),
            ("Closed won", "赢单", 100, "won"),
            ("Closed lost", "丢单", 0, "lost"),
        ]
    page = admin_client.get(response["Location"])
    assert "Distributors" in page.content.decode()


def test_bad_pipeline_form_names_fields_and_saves_nothing(alpha, admin_client):
    response = admin_client.post(
        "/settings/pipelines/", {"name": " ", "first_stage": "X", "first_stage_probability": "140"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-name"' in html
    with tenant_context(alpha):
        assert Pipeline.objects.count() == 2
    response = admin_client.post(
        "/settings/pipelines/", {"name": "Tenders", "first_stage_probability": "140"}
    )
    assert response.status_code == 400
    assert 'data-testid="error-first_stage_probability"' in response.content.decode()
    with tenant_context(alpha):
        assert not Pipeline.objects.filter(name="Tenders").exists()  # nothing half-saved


def test_admin_renames_pipeline_and_deactivates_all_but_the_last(alpha, admin_client):
    with tenant_context(alpha):
        renewals = Pipeline.objects.get(key="renewals")
        new_business = Pipeline.objects.get(key="new-business")
    response = admin_client.post(
        f"/settings/pipelines/{renewals.pk}/edit/", {"name": "Renewals 2027", "name_zh": "续约"}
    )
    assert response.status_code == 302
    admin_client.post(f"/settings/pipelines/{renewals.pk}/deactivate/")
    page = admin_client.post(f"/settings/pipelines/{new_business.pk}/deactivate/", follow=True)
    assert "the only active pipeline" in page.content.decode()
    with tenant_context(alpha):
        renewals.refresh_from_db()
        new_business.refresh_from_db()
        assert renewals.name == "Renewals 2027" and not renewals.is_active
        assert new_business.is_active
        assert AuditEntry.objects.filter(object_id=renewals.pk, kind="update").count() == 2
    admin_client.post(f"/settings/pipelines/{renewals.pk}/activate/")
    with tenant_context(alpha):
        assert Pipeline.objects.get(pk=renewals.pk).is_active


def test_admin_adds_edits_and_reorders_stages(alpha, admin_client):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="new-business")
        proposal = stage("proposal")
    response = admin_client.post(
        f"/settings/pipelines/{pipeline.pk}/stages/add/",
        {"name": "Pilot", "name_zh": "试点", "probability": "60", "outcome": "open"},
    )
    assert response.status_code == 302
    bad = admin_client.post(
        f"/settings/pipelines/{pipeline.pk}/stages/add/",
        {"name": "", "probability": "abc", "outcome": "open"},
    )
    assert bad.status_code == 400
    assert "Give the stage a name." in bad.content.decode()
    assert (
        admin_client.post(
            f"/settings/stages/{proposal.pk}/edit/",
            {"name": "Proposal", "name_zh": "方案", "probability": "55"},
        ).status_code
        == 302
    )
    admin_client.post(f"/settings/stages/{proposal.pk}/move/up/")
    with tenant_context(alpha):
        assert _stage_keys("new-business") == [
            "qualification",
            "proposal",
            "needs-analysis",
            "negotiation",
            "pilot",
            "won",
            "lost",
        ]
        proposal.refresh_from_db()
        assert (proposal.name, proposal.probability) == ("Proposal", 55)
        ids = list(
            Stage.objects.filter(pipeline=pipeline)
            .order_by("-position")
            .values_list("pk", flat=True)
        )
    # The order after a drag.
    admin_client.post(
        f"/settings/pipelines/{pipeline.pk}/stages/order/", {"order": ",".join(map(str, ids))}
    )
    with tenant_context(alpha):
        assert _stage_keys("new-business")[0] == "lost"


def test_retiring_a_stage_with_open_deals_moves_them_with_history(alpha, admin, admin_client):
    with tenant_context(alpha):
        deals = [
            make_opportunity(admin, name=f"D{n}", stage_key="needs-analysis") for n in range(2)
        ]
        won = make_opportunity(admin, name="Won", stage_key="won")
        source, target = stage("needs-analysis"), stage("proposal")
    page = admin_client.get(f"/settings/stages/{source.pk}/retire/")
    assert 'data-testid="waiting"' in page.content.decode()
    refused = admin_client.post(f"/settings/stages/{source.pk}/retire/")
    assert refused.status_code == 400
    assert "Choose the stage they move to" in refused.content.decode()
    response = admin_client.post(
        f"/settings/stages/{source.pk}/retire/", {"move_to": str(target.pk)}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        assert not Stage.objects.get(pk=source.pk).is_active
        for deal in deals:
            deal.refresh_from_db()
            assert deal.stage_id == target.pk
            change = StageChange.objects.filter(opportunity=deal).order_by("-pk").first()
            assert change is not None
            assert (change.from_stage_id, change.to_stage_id) == (source.pk, target.pk)
        won.refresh_from_db()
        assert won.stage.key == "won"
    page = admin_client.get("/settings/pipelines/").content.decode()
    assert 'data-testid="retired"' in page
    admin_client.post(f"/settings/stages/{source.pk}/reactivate/")
    with tenant_context(alpha):
        assert Stage.objects.get(pk=source.pk).is_active


def test_last_won_stage_cannot_retire_and_says_why(alpha, admin_client):
    with tenant_context(alpha):
        won = stage("won")
    page = admin_client.post(f"/settings/stages/{won.pk}/retire/", follow=True)
    assert "at least one active won stage" in page.content.decode()
    with tenant_context(alpha):
        assert Stage.objects.get(pk=won.pk).is_active


def test_other_workspace_stage_and_pipeline_ids_are_not_found(alpha, beta, admin_client):
    beta_client = host_client("beta.localhost")
    sign_in(beta_client, beta, BETA.admin_email)
    with tenant_context(alpha):
        pipeline = Pipeline.objects.create(key="alpha-only", name="Alpha only", position=9)
        st = Stage.objects.create(pipeline=pipeline, key="x", name="Alpha stage", position=0)
    assert beta_client.get(f"/settings/stages/{st.pk}/edit/").status_code == 404
    assert beta_client.post(f"/settings/stages/{st.pk}/retire/").status_code == 404
    assert beta_client.get(f"/settings/pipelines/{pipeline.pk}/edit/").status_code == 404
    with tenant_context(alpha):
        assert Stage.objects.get(pk=st.pk).is_active


@pytest.mark.parametrize("path", ["/settings/pipelines/", "/settings/sales/"])
def test_pages_speak_chinese(alpha, admin_client, path):
    admin_client.cookies["django_language"] = "zh-hans"
    html = admin_client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    translation.activate("en")
    if path == "/settings/pipelines/":
        assert "销售流程" in html and "添加阶段" in html and "赢单" in html
    else:
        assert "销售设置" in html and "币种" in html
