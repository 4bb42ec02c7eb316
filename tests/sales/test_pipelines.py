"""Pipelines and stages: seeded in every workspace, changed only by admins under the rules
(one active open, won and lost stage each; won 100 %, lost 0 %), audited, per workspace."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.sales import services
from core_crm.sales.defaults import PIPELINE_DEFAULTS
from core_crm.sales.models import Pipeline, Stage


def test_every_workspace_starts_with_the_default_pipelines(alpha):
    with tenant_context(alpha):
        held = {
            p.key: [(s.key, s.probability, s.outcome) for s in p.stages.order_by("position")]
            for p in Pipeline.objects.all()
        }
        new_business = Pipeline.objects.get(key="new-business")
        assert new_business.display("zh-hans") == "新业务"
    expected = {
        key: [(s[0], s[3], s[4]) for s in stages] for key, _n, _z, stages in PIPELINE_DEFAULTS
    }
    assert held == expected


def test_admin_adds_an_open_stage_before_the_closed_ones(alpha, admin):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="new-business")
        stage = services.stage_create(
            actor=admin, pipeline=pipeline, data={"name": "Technical review", "probability": 60}
        )
        keys = list(pipeline.stages.order_by("position").values_list("key", flat=True))
        assert keys[-3:] == ["technical-review", "won", "lost"]
        assert stage.probability == 60 and stage.outcome == "open"
        entry = AuditEntry.objects.get(kind="create", object_id=stage.pk)
        assert entry.changes["name"] == [None, "Technical review"]


def test_stage_values_are_checked_and_named(alpha, admin):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="renewals")
        before = pipeline.stages.count()
        with pytest.raises(ValidationError) as exc:
            services.stage_create(
                actor=admin, pipeline=pipeline, data={"name": " ", "probability": 130}
            )
        assert set(exc.value.message_dict) == {"name", "probability"}
        won = pipeline.stages.get(key="won")
        updated = services.stage_update(actor=admin, stage=won, data={"probability": 40})
        assert updated.probability == 100  # a won stage is always 100 %
        assert pipeline.stages.count() == before
        # The database holds the rule too.
        with pytest.raises(IntegrityError), transaction.atomic():
            Stage.objects.filter(pk=won.pk).update(probability=50)


def test_the_last_won_or_lost_stage_cannot_be_retired(alpha, admin):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="renewals")
        lost = pipeline.stages.get(key="lost")
        with pytest.raises(ValidationError, match="at least one active lost stage"):
            services.stage_retire(actor=admin, stage=lost)
        extra = services.stage_create(
            actor=admin, pipeline=pipeline, data={"name": "Lost to churn"}, outcome="lost"
        )
        assert extra.probability == 0
        services.stage_retire(actor=admin, stage=lost)
        assert not Stage.objects.get(pk=lost.pk).is_active
        assert Stage.objects.filter(pk=lost.pk).exists()  # retired, never deleted


def test_reorder_needs_every_stage_once(alpha, admin):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="renewals")
        ids = list(pipeline.stages.order_by("position").values_list("pk", flat=True))
        with pytest.raises(ValidationError) as exc:
            services.stage_reorder(actor=admin, pipeline=pipeline, order=ids[:-1])
        assert list(exc.value.message_dict) == ["order"]
        reordered = services.stage_reorder(
            actor=admin, pipeline=pipeline, order=[ids[1], ids[0], *ids[2:]]
        )
        assert [s.key for s in reordered][:2] == ["renewal-quote", "upcoming"]


def test_only_admins_change_pipelines(alpha, rep):
    with tenant_context(alpha):
        pipeline = Pipeline.objects.get(key="renewals")
        with pytest.raises(PermissionDenied):
            services.stage_create(actor=rep, pipeline=pipeline, data={"name": "Sneaky"})
        with pytest.raises(PermissionDenied):
            services.pipeline_create(actor=rep, name="Mine")
        assert not pipeline.stages.filter(name="Sneaky").exists()


def test_new_pipeline_has_open_won_and_lost_and_stays_in_its_workspace(alpha, beta, admin):
    with tenant_context(alpha):
        pipeline = services.pipeline_create(actor=admin, name="Projects", name_zh="项目")
        assert [s.outcome for s in pipeline.stages.order_by("position")] == [
            "open",
            "won",
            "lost",
        ]
        alpha_keys = set(Pipeline.objects.values_list("key", flat=True))
    with tenant_context(beta):
        assert not Pipeline.objects.filter(key="projects").exists()
        assert set(Pipeline.objects.values_list("key", flat=True)) == alpha_keys - {"projects"}
