"""Shaping pipelines from Settings → Pipelines and the API (workspace admins): rename and
switch pipelines on and off, bring retired stages back, move stages up and down, and retire a
stage that still holds open opportunities by moving them to another stage first.

Same rules as `core_crm.sales.services` (one active open, won and lost stage per pipeline; at
least one active pipeline); each function is one transaction with an audit entry, so nothing
is half-saved: a retirement whose moves fail leaves every opportunity where it was.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit
from core_crm.users.models import User

from . import services
from .models import Opportunity, Pipeline, Stage

ORDERED = ("position", "pk")


def _require_admin(actor: User) -> None:
    services._require_admin(actor)


def _clean_names(data: dict[str, Any], *, what: str) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    name = " ".join(str(data.get("name") or "").split())
    name_zh = " ".join(str(data.get("name_zh") or "").split())
    if not name:
        errors["name"] = [
            _("Give the pipeline a name.") if what == "pipeline" else _("Give the stage a name.")
        ]
    elif len(name) > 100:
        errors["name"] = [_("A name has at most 100 characters.")]
    if len(name_zh) > 100:
        errors["name_zh"] = [_("A name has at most 100 characters.")]
    if errors:
        raise ValidationError(errors)
    return name, name_zh


# --- Reads ------------------------------------------------------------------------------------


def open_counts(stage_ids: list[int] | None = None) -> dict[int, int]:
    """{stage id: open opportunities in it}, in one query."""
    rows = Opportunity.objects.filter(stage__outcome=Stage.Outcome.OPEN)
    if stage_ids is not None:
        rows = rows.filter(stage_id__in=stage_ids)
    return {
        row["stage_id"]: row["n"]
        for row in rows.values("stage_id").annotate(n=Count("pk")).order_by()
    }


def stage_counts() -> dict[int, int]:
    """{stage id: opportunities in it, open or closed}, in one query."""
    return {
        row["stage_id"]: row["n"]
        for row in Opportunity.objects.values("stage_id").annotate(n=Count("pk")).order_by()
    }


def retire_targets(stage: Stage) -> list[Stage]:
    """Where the open opportunities of `stage` can go when it retires: the other active open
    stages of its pipeline, in order."""
    return list(
        Stage.objects.filter(
            pipeline_id=stage.pipeline_id, outcome=Stage.Outcome.OPEN, is_active=True
        )
        .exclude(pk=stage.pk)
        .order_by(*ORDERED)
    )


# --- Pipelines --------------------------------------------------------------------------------


def pipeline_add(
    *,
    actor: User,
    data: dict[str, Any],
    channel: str = Channel.WEB,
) -> Pipeline:
    """A new pipeline with its first open stage, a won and a lost stage. `data`: name, name_zh
    and optionally first_stage, first_stage_zh, first_stage_probability (the first open stage;
    "Open", 10 % when left out)."""
    _require_admin(actor)
    name, name_zh = _clean_names(data, what="pipeline")
    first = {
        "name": " ".join(str(data.get("first_stage") or "").split()),
        "name_zh": data.get("first_stage_zh") or "",
        "probability": data.get("first_stage_probability"),
    }
    first = {k: v for k, v in first.items() if v not in (None, "")}
    with transaction.atomic():
        pipeline = services.pipeline_create(
            actor=actor, name=name, name_zh=name_zh, channel=channel
        )
        if first:
            opening = pipeline.stages.get(outcome=Stage.Outcome.OPEN)
            try:
                services.stage_update(actor=actor, stage=opening, data=first, channel=channel)
            except ValidationError as exc:
                # Named after the form's fields (first_stage, first_stage_probability).
                raise ValidationError(
                    {
                        "first_stage" if k == "name" else f"first_stage_{k}": v
                        for k, v in exc.message_dict.items()
                    }
                ) from exc
    return pipeline


def pipeline_rename(
    *, actor: User, pipeline: Pipeline, data: dict[str, Any], channel: str = Channel.WEB
) -> Pipeline:
    """Change a pipeline's English and Chinese names (its key, used by the API, stays)."""
    _require_admin(actor)
    name, name_zh = _clean_names(
        {"name": data.get("name", pipeline.name), "name_zh": data.get("name_zh", pipeline.name_zh)},
        what="pipeline",
    )
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        changes = {
            k: [getattr(pipeline, k), v]
            for k, v in (("name", name), ("name_zh", name_zh))
            if getattr(pipeline, k) != v
        }
        if changes:
            for k, (_old, new) in changes.items():
                setattr(pipeline, k, new)
            pipeline.save(update_fields=list(changes))
            audit(
                obj=pipeline,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
    return pipeline


def pipeline_set_active(
    *, actor: User, pipeline: Pipeline, active: bool, channel: str = Channel.WEB
) -> Pipeline:
    """Offer a pipeline for new opportunities again, or stop offering it. Its opportunities
    stay where they are; the last active pipeline cannot be switched off."""
    _require_admin(actor)
    with transaction.atomic():
        # Lock every pipeline: two admins switching off the last two must take turns.
        pipelines = {p.pk: p for p in Pipeline.objects.select_for_update().order_by("pk")}
        pipeline = pipelines[pipeline.pk]
        if pipeline.is_active == active:
            return pipeline
        if not active and not any(p.is_active for pk, p in pipelines.items() if pk != pipeline.pk):
            raise ValidationError(
                {
                    "pipeline": [
                        _(
                            "“%(name)s” is the only active pipeline; new opportunities need one. "
                            "Add or reactivate another pipeline first."
                        )
                        % {"name": pipeline.name}
                    ]
                }
            )
        pipeline.is_active = active
        pipeline.save(update_fields=["is_active"])
        audit(
            obj=pipeline,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={"is_active": [not active, active]},
        )
    return pipeline


# --- Stages -----------------------------------------------------------------------------------


def stage_reactivate(*, actor: User, stage: Stage, channel: str = Channel.WEB) -> Stage:
    """Offer a retired stage again, where it was in the pipeline's order."""
    _require_admin(actor)
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        if not stage.is_active:
            stage.is_active = True
            stage.save(update_fields=["is_active"])
            audit(
                obj=stage,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes={"is_active": [False, True]},
            )
    return stage


def stage_move(*, actor: User, stage: Stage, offset: int, channel: str = Channel.WEB) -> None:
    """Move a stage `offset` places up (negative) or down its pipeline; the ends stay put."""
    _require_admin(actor)
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        ids = list(
            Stage.objects.filter(pipeline_id=stage.pipeline_id)
            .order_by(*ORDERED)
            .values_list("pk", flat=True)
        )
        index = ids.index(stage.pk)
        target = max(0, min(len(ids) - 1, index + offset))
        if target != index:
            ids.insert(target, ids.pop(index))
            services.stage_reorder(actor=actor, pipeline=stage.pipeline, order=ids, channel=channel)


def stage_retire_moving(
    *,
    actor: User,
    stage: Stage,
    move_to: Stage | None = None,
    channel: str = Channel.WEB,
) -> int:
    """Retire `stage`; its open opportunities first go to `move_to` (an active open stage of
    the same pipeline), each move recorded in the opportunity's stage history. Returns how many
    were moved. Without a target, a stage holding open opportunities is not retired."""
    from .opportunities import opportunity_move  # written alongside; imported when used

    _require_admin(actor)
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stage = Stage.objects.get(pk=stage.pk)
        waiting = list(
            Opportunity.objects.select_for_update()
            .filter(stage=stage, stage__outcome=Stage.Outcome.OPEN)
            .order_by("pk")
        )
        if waiting:
            if move_to is None:
                raise ValidationError(
                    {
                        "move_to": [
                            _(
                                "%(n)d open opportunities are in “%(stage)s”. Choose the stage "
                                "they move to."
                            )
                            % {"n": len(waiting), "stage": stage.name}
                        ]
                    }
                )
            if move_to.pk not in {s.pk for s in retire_targets(stage)}:
                raise ValidationError(
                    {
                        "move_to": [
                            _("Choose another active open stage of the pipeline “%(pipeline)s”.")
                            % {"pipeline": stage.pipeline.name}
                        ]
                    }
                )
        for opportunity in waiting:
            assert move_to is not None  # checked above
            opportunity_move(opportunity, actor=actor, stage=move_to, channel=channel)
        services.stage_retire(actor=actor, stage=stage, channel=channel)
    return len(waiting)
