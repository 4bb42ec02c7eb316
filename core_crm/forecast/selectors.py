"""Reads of the forecast and the sales reports. Every figure is aggregated in SQL over the
opportunities the viewer may read (record security), so the number of queries does not grow
with opportunities or people.

Columns of the forecast, over opportunities whose expected close date falls in the period,
amounts in the workspace's base currency (`amount_base`):
  closed won  the stage's outcome is won (whatever the forecast category says)
  commit      open stage, forecast category commit
  best case   open stage, forecast category commit or best case (best case includes commit)
  pipeline    open stage, forecast category pipeline (not cumulative)
  attainment  closed won / quota
Lost opportunities and the omitted category count nowhere.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core_crm.access.models import Scope, Team
from core_crm.sales.models import ForecastCategory, Opportunity, Stage
from core_crm.sales.selectors import Filters, apply_filters, opportunity_list, stage_totals

from .models import PeriodKind, Quota
from .periods import Period
from .permissions import read_scope

if TYPE_CHECKING:
    from core_crm.users.models import User

ZERO = Decimal("0.00")
COLUMNS = ("won", "commit", "best_case", "pipeline")
OPEN = Q(stage__outcome=Stage.Outcome.OPEN)
COLUMN_FILTERS: dict[str, Q] = {
    "won": Q(stage__outcome=Stage.Outcome.WON),
    "commit": OPEN & Q(forecast_category=ForecastCategory.COMMIT),
    "best_case": OPEN
    & Q(forecast_category__in=[ForecastCategory.COMMIT, ForecastCategory.BEST_CASE]),
    "pipeline": OPEN & Q(forecast_category=ForecastCategory.PIPELINE),
}


def _money(expression: Any, **extra: Any) -> Any:
    return Coalesce(
        Sum(expression, **extra),
        Value(ZERO),
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )


# --- Scope: whose figures ------------------------------------------------------------------


@dataclass
class ScopeChoice:
    key: str
    label: str


@dataclass
class ResolvedScope:
    key: str
    users: list[User]
    teams: list[Team]
    members: dict[int, list[int]]  # team id -> member user ids (within `users`)


def scope_choices(viewer: User) -> list[ScopeChoice]:
    """The scopes the viewer may pick: always themself; their teams with a team or all read
    scope on opportunities; each team and everyone with an all scope."""
    scope = read_scope(viewer)
    choices = [ScopeChoice("me", _("Me"))]
    if scope in (Scope.TEAM, Scope.ALL):
        choices.append(ScopeChoice("team", _("My teams")))
        teams = Team.objects.all() if scope == Scope.ALL else Team.objects.filter(members=viewer)
        choices += [ScopeChoice(f"team:{t.pk}", str(t)) for t in teams]
    if scope == Scope.ALL:
        choices.append(ScopeChoice("all", _("Everyone")))
    return choices


def default_scope(viewer: User) -> str:
    scope = read_scope(viewer)
    keys: dict[str, str] = {Scope.ALL: "all", Scope.TEAM: "team"}
    return keys.get(scope, "me")


def resolve_scope(viewer: User, key: str | None) -> ResolvedScope:
    """The people and teams of a scope key; ValidationError naming `scope` when the viewer may
    not pick it (a team they are not in, everyone without an all scope)."""
    from core_crm.users.models import User

    key = (key or default_scope(viewer)).strip()
    allowed = {c.key for c in scope_choices(viewer)}
    if key not in allowed:
        raise ValidationError(
            {
                "scope": [
                    _("You cannot see the forecast of “%(scope)s”. Choose one of: %(choices)s.")
                    % {"scope": key, "choices": ", ".join(sorted(allowed))}
                ]
            }
        )
    if key == "me":
        return ResolvedScope(key, [viewer], [], {})
    if key == "all":
        teams = list(Team.objects.all())
    elif key == "team":
        teams = list(Team.objects.filter(members=viewer))
    else:
        teams = list(Team.objects.filter(pk=int(key.split(":", 1)[1])))
    links = list(
        Team.members.through.objects.filter(team_id__in=[t.pk for t in teams]).values_list(
            "team_id", "user_id"
        )
    )
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in links:
        members[team_id].append(user_id)
    if key == "all":
        users = list(User.objects.filter(is_active=True))
    else:
        ids = {user_id for _team, user_id in links}
        if key == "team":
            ids.add(viewer.pk)
        users = list(User.objects.filter(pk__in=ids, is_active=True))
    return ResolvedScope(key, users, teams, dict(members))


# --- The forecast ----------------------------------------------------------------------------


@dataclass
class Figures:
    quota: Decimal | None = None
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO

    @property
    def attainment(self) -> Decimal | None:
        """Closed won as a percentage of the quota, one decimal; None without a quota."""
        if not self.quota:
            return None
        return (self.won * 100 / self.quota).quantize(Decimal("0.1"))

    def add(self, other: Figures) -> None:
        for name in COLUMNS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.quota is not None:
            self.quota = (self.quota or ZERO) + other.quota

    def as_dict(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "won": self.won,
            "commit": self.commit,
            "best_case": self.best_case,
            "pipeline": self.pipeline,
            "attainment": self.attainment,
        }


@dataclass
class Row:
    kind: str  # "user" or "team"
    id: int
    name: str
    figures: Figures = field(default_factory=Figures)


@dataclass
class Forecast:
    period: Period
    scope: ResolvedScope
    people: list[Row]
    teams: list[Row]
    total: Figures
    currency: str


def period_opportunities(viewer: User, period: Period) -> QuerySet[Opportunity]:
    """Opportunities the viewer may read whose expected close date is in the period."""
    return opportunity_list(viewer).filter(close_date__gte=period.start, close_date__lt=period.end)


def _quotas(period: Period, user_ids: list[int], team_ids: list[int]) -> tuple[dict, dict]:
    """{user id: quota}, {team id: quota} for the period. A quarter without its own quota is
    the sum of its months' quotas (when any is set)."""
    whose = Q(user_id__in=user_ids) | Q(team_id__in=team_ids)
    when = Q(period_kind=period.kind, period_start=period.start)
    if period.kind == PeriodKind.QUARTER:
        when |= Q(period_kind=PeriodKind.MONTH, period_start__in=period.months())
    own: dict[tuple[str, int], Decimal] = {}
    months: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for q in Quota.objects.filter(whose & when).values(
        "user_id", "team_id", "period_kind", "amount"
    ):
        key = ("user", q["user_id"]) if q["user_id"] else ("team", q["team_id"])
        if q["period_kind"] == period.kind:
            own[key] = q["amount"]
        else:
            months[key] += q["amount"]
    merged = {**months, **own}
    users = {k[1]: v for k, v in merged.items() if k[0] == "user"}
    teams = {k[1]: v for k, v in merged.items() if k[0] == "team"}
    return users, teams


def forecast(viewer: User, period: Period, scope_key: str | None) -> Forecast:
    from core_crm.sales.currency import base_currency

    scope = resolve_scope(viewer, scope_key)
    user_ids = [u.pk for u in scope.users]
    opportunities = period_opportunities(viewer, period)
    if scope.key != "all":  # everyone's includes people who left since
        opportunities = opportunities.filter(owner_id__in=user_ids)
    # The column names are not literals, so the row type says Mapping rather than which keys.
    sums: dict[int, Mapping[str, Any]] = {
        row["owner_id"]: row
        for row in opportunities.values("owner_id").annotate(
            **{name: _money("amount_base", filter=cond) for name, cond in COLUMN_FILTERS.items()}
        )
    }
    user_quotas, team_quotas = _quotas(period, user_ids, [t.pk for t in scope.teams])
    people: list[Row] = []
    by_id: dict[int, Figures] = {}
    known = set(user_ids)
    if set(sums) - known:
        from core_crm.users.models import User

        scope.users = scope.users + list(User.objects.filter(pk__in=set(sums) - known))
    for user in scope.users:
        got = sums.get(user.pk, {})
        figures = Figures(
            quota=user_quotas.get(user.pk),
            **{name: got.get(name, ZERO) for name in COLUMNS},
        )
        by_id[user.pk] = figures
        name = user.full_name or user.email
        if not user.is_active:
            name = _("%(name)s (inactive)") % {"name": name}
        people.append(Row("user", user.pk, name, figures))
    teams: list[Row] = []
    for team in scope.teams:
        figures = Figures()
        for member in scope.members.get(team.pk, []):
            if member in by_id:
                figures.add(by_id[member])
        if team.pk in team_quotas:
            figures.quota = team_quotas[team.pk]
        teams.append(Row("team", team.pk, str(team), figures))
    total = Figures()
    for row in people:
        total.add(row.figures)
    people.sort(key=lambda r: r.name.lower())
    return Forecast(period, scope, people, teams, total, base_currency())


def drill_down(
    viewer: User,
    period: Period,
    scope: ResolvedScope | str | None,
    column: str,
    *,
    owner: int | None = None,
    team: int | None = None,
) -> QuerySet[Opportunity]:
    """The opportunities behind one figure of the forecast. `scope` is a scope key, or one the
    caller has resolved already (and uses too) so that it is resolved once a request."""
    if column not in COLUMN_FILTERS:
        raise ValidationError(
            {"column": [_("Choose one of: %(c)s.") % {"c": ", ".join(COLUMN_FILTERS)}]}
        )
    if not isinstance(scope, ResolvedScope):
        scope = resolve_scope(viewer, scope)
    opportunities = period_opportunities(viewer, period).filter(COLUMN_FILTERS[column])
    if scope.key != "all":
        opportunities = opportunities.filter(owner_id__in=[u.pk for u in scope.users])
    if owner is not None:
        opportunities = opportunities.filter(owner_id=owner)
    if team is not None:
        opportunities = opportunities.filter(owner_id__in=scope.members.get(team, []))
    return opportunities.select_related("owner", "account", "stage", "pipeline").order_by(
        "close_date", "pk"
    )


# --- Pipeline report -------------------------------------------------------------------------


@dataclass
class StageLine:
    stage: Stage
    count: int = 0
    total: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass
class PipelineBlock:
    pipeline_id: int
    name: str
    stages: list[StageLine]

    @property
    def open_lines(self) -> list[StageLine]:
        return [s for s in self.stages if s.stage.outcome == Stage.Outcome.OPEN]

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self.open_lines)

    @property
    def open_total(self) -> Decimal:
        return sum((s.total for s in self.open_lines), ZERO)

    @property
    def open_weighted(self) -> Decimal:
        return sum((s.weighted for s in self.open_lines), ZERO)


def filtered_opportunities(
    viewer: User,
    *,
    owner: int | None = None,
    team: int | None = None,
    period: Period | None = None,
    date_field: str = "close_date",
) -> QuerySet[Opportunity]:
    qs = opportunity_list(viewer)
    if (owner is not None and owner < 0) or (team is not None and team < 0):
        return qs.none()  # no such person or team (apply_filters would ignore the filter)
    qs = apply_filters(
        qs,
        viewer,
        Filters(owner="" if owner is None else str(owner), team="" if team is None else str(team)),
    )
    if period is not None:
        if date_field == "close_date":
            qs = qs.filter(close_date__gte=period.start, close_date__lt=period.end)
        else:
            tz = timezone.get_current_timezone()
            start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
            end = dt.datetime.combine(period.end, dt.time.min, tzinfo=tz)
            qs = qs.filter(**{f"{date_field}__gte": start, f"{date_field}__lt": end})
    return qs


def pipeline_report(
    viewer: User,
    *,
    owner: int | None = None,
    team: int | None = None,
    period: Period | None = None,
) -> list[PipelineBlock]:
    """Per pipeline and stage: count, total and weighted total (amount × the opportunity's
    probability) in the base currency. Active pipelines show all their active stages; a
    retired stage shows while opportunities sit in it."""
    sums = stage_totals(filtered_opportunities(viewer, owner=owner, team=team, period=period))
    stages = Stage.objects.select_related("pipeline").filter(
        Q(pipeline__is_active=True, is_active=True) | Q(pk__in=list(sums))
    )
    blocks: dict[int, PipelineBlock] = {}
    for stage in stages.order_by("pipeline__position", "pipeline__name", "position"):
        block = blocks.setdefault(
            stage.pipeline_id,
            PipelineBlock(stage.pipeline_id, stage.pipeline.display(_lang()), []),
        )
        got = sums.get(stage.pk, {})
        block.stages.append(
            StageLine(
                stage,
                got.get("count", 0),
                got.get("total", ZERO),
                got.get("weighted", ZERO),
            )
        )
    return list(blocks.values())


def _lang() -> str:
    from django.utils.translation import get_language

    return get_language() or "en"


# --- Win/loss report -------------------------------------------------------------------------


@dataclass
class WinLossLine:
    key: Any
    name: str
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    lost_amount: Decimal = ZERO

    @property
    def win_rate(self) -> Decimal | None:
        """Won deals as a percentage of closed deals (by count), one decimal."""
        closed = self.won_count + self.lost_count
        if not closed:
            return None
        return (Decimal(self.won_count) * 100 / closed).quantize(Decimal("0.1"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "won_count": self.won_count,
            "won_amount": self.won_amount,
            "lost_count": self.lost_count,
            "lost_amount": self.lost_amount,
            "win_rate": self.win_rate,
        }


@dataclass
class ReasonLine:
    id: int | None
    name: str
    count: int
    amount: Decimal


@dataclass
class WinLoss:
    period: Period
    total: WinLossLine
    by_owner: list[WinLossLine]
    lost_reasons: list[ReasonLine]
    currency: str


def win_loss(
    viewer: User, period: Period, *, owner: int | None = None, team: int | None = None
) -> WinLoss:
    """Opportunities closed (won or lost) in the period, by the time they were closed."""
    from core_crm.customers.models import PicklistValue
    from core_crm.sales.currency import base_currency
    from core_crm.users.models import User

    closed = filtered_opportunities(
        viewer, owner=owner, team=team, period=period, date_field="closed_at"
    ).filter(stage__outcome__in=[Stage.Outcome.WON, Stage.Outcome.LOST])
    won, lost = Q(stage__outcome=Stage.Outcome.WON), Q(stage__outcome=Stage.Outcome.LOST)
    figures = {
        "won_count": Count("id", filter=won),
        "won_amount": _money("amount_base", filter=won),
        "lost_count": Count("id", filter=lost),
        "lost_amount": _money("amount_base", filter=lost),
    }
    total = WinLossLine(None, _("Total"), **closed.aggregate(**figures))
    rows: list[Mapping[str, Any]] = list(closed.values("owner_id").annotate(**figures))
    names = {
        u.pk: u.full_name or u.email
        for u in User.objects.filter(pk__in=[r["owner_id"] for r in rows])
    }
    by_owner = sorted(
        (
            WinLossLine(r["owner_id"], names.get(r["owner_id"], "?"), **{k: r[k] for k in figures})
            for r in rows
        ),
        key=lambda line: (-line.won_amount, line.name.lower()),
    )
    reasons = list(
        closed.filter(lost)
        .values("lost_reason_id")
        .annotate(count=Count("id"), amount=_money("amount_base"))
    )
    labels = {
        v.pk: v.display(_lang())
        for v in PicklistValue.objects.filter(pk__in=[r["lost_reason_id"] for r in reasons])
    }
    lost_reasons = sorted(
        (
            ReasonLine(
                r["lost_reason_id"],
                labels.get(r["lost_reason_id"], _("No reason given")),
                r["count"],
                r["amount"],
            )
            for r in reasons
        ),
        key=lambda line: (-line.count, -line.amount, line.name),
    )
    return WinLoss(period, total, by_owner, lost_reasons, base_currency())
