"""Changing pipelines and stages (workspace admins): every change checked and audited.

Rules: each pipeline keeps at least one active open stage, one active won stage and one active
lost stage; won stages are 100 %, lost ones 0 %, open ones 0 to 100 %; stages are retired, not
deleted, so opportunities that went through them keep their history."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core_crm.access.policy import require_workspace_admin
from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit
from core_crm.users.models import User

from .models import Pipeline, Stage


def _require_admin(actor: User) -> None:
    require_workspace_admin(actor, _("Only a workspace admin can change pipelines."))


def _clean_stage(data: dict[str, Any], outcome: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = [_("Give the stage a name.")]
    elif len(name) > 100:
        errors["name"] = [_("A name has at most 100 characters.")]
    name_zh = " ".join(str(data.get("name_zh") or "").split())[:100]
    if outcome == Stage.Outcome.WON:
        probability = 100
    elif outcome == Stage.Outcome.LOST:
        probability = 0
    else:
        try:
            probability = int(data.get("probability", 0))
        except (TypeError, ValueError):
            probability = -1
        if not 0 <= probability <= 100:
            errors["probability"] = [_("Enter a whole number from 0 to 100.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "name_zh": name_zh, "probability": probability}


def _unique_key(name: str, taken: set[str], fallback: str) -> str:
    """A slug of `name` not in `taken` (suffixed -2, -3… when needed)."""
    base = slugify(name)[:50] or fallback
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    data: dict[str, Any],
    outcome: str = Stage.Outcome.OPEN,
    channel: str = Channel.WEB,
) -> Stage:
    """A new stage at the end of the pipeline's open stages (closed stages stay last)."""
    _require_admin(actor)
    if outcome not in Stage.Outcome.values:
        raise ValidationError({"outcome": [_("Choose open, won or lost.")]})
    values = _clean_stage(data, outcome)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        stages = list(pipeline.stages.order_by("position"))
        open_end = max((s.position for s in stages if s.outcome == Stage.Outcome.OPEN), default=-1)
        position = open_end + 1 if outcome == Stage.Outcome.OPEN else len(stages)
        for stage in stages:
            if stage.position >= position:
                stage.position += 1
        Stage.objects.bulk_update(stages, ["position"])
        stage = Stage.objects.create(
            pipeline=pipeline,
            key=_unique_key(
                values["name"], set(pipeline.stages.values_list("key", flat=True)), "stage"
            ),
            position=position,
            outcome=outcome,
            **values,
        )
        audit(
            obj=stage,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={k: [None, getattr(stage, k)] for k in ("name", "probability", "outcome")},
        )
    return stage


def stage_update(
    *, actor: User, stage: Stage, data: dict[str, Any], channel: str = Channel.WEB
) -> Stage:
    """Rename a stage or change its default probability (the outcome is fixed)."""
    _require_admin(actor)
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        merged = {
            "name": data.get("name", stage.name),
            "name_zh": data.get("name_zh", stage.name_zh),
            "probability": data.get("probability", stage.probability),
        }
        values = _clean_stage(merged, stage.outcome)
        changes = {k: [getattr(stage, k), v] for k, v in values.items() if getattr(stage, k) != v}
        if changes:
            for name, (_old, new) in changes.items():
                setattr(stage, name, new)
            stage.save(update_fields=list(changes))
            audit(
                obj=stage,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
    return stage


def stage_retire(*, actor: User, stage: Stage, channel: str = Channel.WEB) -> Stage:
    """Retire a stage: no longer offered, kept for the history of what went through it."""
    _require_admin(actor)
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stage = Stage.objects.get(pk=stage.pk)
        if not stage.is_active:
            return stage
        others = Stage.objects.filter(
            pipeline_id=stage.pipeline_id, outcome=stage.outcome, is_active=True
        ).exclude(pk=stage.pk)
        if not others.exists():
            raise ValidationError(
                {
                    "stage": [
                        _(
                            "A pipeline needs at least one active %(outcome)s stage; add another "
                            "before retiring this one."
                        )
                        % {"outcome": stage.get_outcome_display().lower()}
                    ]
                }
            )
        stage.is_active = False
        stage.save(update_fields=["is_active"])
        audit(
            obj=stage,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={"is_active": [True, False]},
        )
    return stage


def stage_reorder(
    *, actor: User, pipeline: Pipeline, order: list[int], channel: str = Channel.WEB
) -> list[Stage]:
    """Put the pipeline's stages in the order of `order` (every stage id, once)."""
    _require_admin(actor)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        stages = {s.pk: s for s in pipeline.stages.all()}
        if sorted(order) != sorted(stages):
            raise ValidationError({"order": [_("List every stage of this pipeline once.")]})
        before = [s.key for s in sorted(stages.values(), key=lambda s: s.position)]
        for position, pk in enumerate(order):
            stages[pk].position = position
        Stage.objects.bulk_update(stages.values(), ["position"])
        after = [stages[pk].key for pk in order]
        if before != after:
            audit(
                obj=pipeline,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes={"stages": [before, after]},
            )
        return [stages[pk] for pk in order]


def pipeline_create(
    *, actor: User, name: str, name_zh: str = "", channel: str = Channel.WEB
) -> Pipeline:
    """A new pipeline with the three stages every pipeline needs (one open, won, lost), named
    in both languages (stored names are data, not translated at display time)."""
    _require_admin(actor)
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError({"name": [_("Give the pipeline a name of at most 100 characters.")]})
    with transaction.atomic():
        key = _unique_key(name, set(Pipeline.objects.values_list("key", flat=True)), "pipeline")
        last = Pipeline.objects.aggregate(m=Max("position"))["m"]
        pipeline = Pipeline.objects.create(
            key=key, name=name, name_zh=name_zh[:100], position=(last or 0) + 1
        )
        Stage.objects.bulk_create(
            [
                Stage(
                    pipeline=pipeline,
                    key="open",
                    name="Open",
                    name_zh="进行中",
                    probability=10,
                    position=0,
                ),
                Stage(
                    pipeline=pipeline,
                    key="won",
                    name="Closed won",
                    name_zh="赢单",
                    probability=100,
                    outcome=Stage.Outcome.WON,
                    position=1,
                ),
                Stage(
                    pipeline=pipeline,
                    key="lost",
                    name="Closed lost",
                    name_zh="丢单",
                    probability=0,
                    outcome=Stage.Outcome.LOST,
                    position=2,
                ),
            ]
        )
        audit(
            obj=pipeline,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={"name": [None, name]},
        )
    return pipeline
