"""REST API of quotas, the forecast and the sales reports, under /api/v1/.

The same selectors and services as the forecast, quotas and report pages, so the figures and
the rules are the same:

* Quotas are read by the people they concern and those above them (their own, their teams',
  those they may set, all of them with an all-records scope on opportunities); they are set by
  workspace admins and by managers for the members of their teams (403 for anyone else).
* The forecast and the reports are read-only, aggregated over the opportunities the caller
  may read, amounts in the workspace's base currency; a role that reads no opportunities gets
  403. A period is a month (2030-05), a quarter (2030-Q2) or this-month, next-month,
  this-quarter, next-quarter; a bad one answers 400 naming `period`.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.access.models import Team
from core_crm.access.policy import PermissionDenied
from core_crm.api.params import int_param
from core_crm.api.views import Pagination
from core_crm.audit.models import Channel
from core_crm.sales.api import OpportunitySerializer
from core_crm.sales.currency import base_currency
from core_crm.sales.models import Stage
from core_crm.users.models import User

from . import selectors, services
from .models import PeriodKind, Quota
from .periods import Period, month, parse_period, quarter
from .permissions import (
    may_manage_quotas,
    may_read_opportunities,
    readable_quotas,
    settable_teams,
    settable_users,
)

API = Channel.API
ERROR = OpenApiResponse(description='Bad input: `{"<field>": ["..."]}` naming each field.')
FORBIDDEN = OpenApiResponse(description='The caller\'s role does not allow it: `{"detail": ...}`.')
NOT_FOUND = OpenApiResponse(description="No such id, or not one the caller may read.")
PERIOD_HELP = (
    "A month (2030-05), a quarter (2030-Q2), or this-month, next-month, this-quarter, next-quarter."
)


def _actor(request: Request) -> User:
    return cast(User, request.user)  # IsAuthenticated has let only users through


def require_opportunity_reader(user: User) -> None:
    """The forecast and the reports add up opportunities; a role reading none has none."""
    if not may_read_opportunities(user):
        raise PermissionDenied(
            _(
                "Your role does not allow reading opportunities, so there is no forecast or "
                "report to show. Ask a workspace admin for read access to opportunities."
            )
        )


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def _rate(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=7, decimal_places=1, **kwargs)


# --- Serializers ---------------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer[Period]):
    key = serializers.CharField(help_text="2030-Q1 or 2030-05: what `period` takes.")
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label, popped by DRF
    kind = serializers.ChoiceField(choices=PeriodKind.choices)
    start = serializers.DateField(help_text="First day.")
    last_day = serializers.DateField()


def _period_of(quota: Quota) -> Period:
    return (
        quarter(quota.period_start)
        if quota.period_kind == PeriodKind.QUARTER
        else month(quota.period_start)
    )


class QuotaSerializer(serializers.ModelSerializer[Quota]):
    user_name = serializers.SerializerMethodField()
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    period = serializers.SerializerMethodField(help_text="2030-Q1 or 2030-05.")

    class Meta:
        model = Quota
        fields = (
            "id",
            "user",
            "user_name",
            "team",
            "team_name",
            "period",
            "period_kind",
            "period_start",
            "amount",
            "updated_at",
            "updated_by",
        )
        read_only_fields = fields

    def get_user_name(self, obj: Quota) -> str:
        return (obj.user.full_name or obj.user.email) if obj.user else ""

    def get_period(self, obj: Quota) -> str:
        return _period_of(obj).key


class QuotaInputSerializer(serializers.Serializer[dict[str, Any]]):
    user = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of a person (or give `team`)."
    )
    team = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of a team (or give `user`)."
    )
    period = serializers.CharField(help_text=PERIOD_HELP)
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        allow_null=True,
        help_text="In the base currency, zero or more; null removes the quota.",
    )


class QuotaBulkErrorSerializer(serializers.Serializer[dict[str, Any]]):
    rows = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        help_text="By the index of the row in the list: the errors of that row.",
    )


class QuotaBulkResultSerializer(serializers.Serializer[dict[str, Any]]):
    changed = serializers.IntegerField(help_text="How many quotas were set, changed or removed.")


class FiguresSerializer(serializers.Serializer[selectors.Figures]):
    quota = _money(allow_null=True, help_text="null: no quota for the period.")
    won = _money(help_text="Closed won.")
    commit = _money(help_text="Open, forecast category commit.")
    best_case = _money(help_text="Open, commit or best case.")
    pipeline = _money(help_text="Open, forecast category pipeline.")
    attainment = _rate(allow_null=True, help_text="Closed won as % of the quota.")


class ForecastRowSerializer(serializers.Serializer[selectors.Row]):
    kind = serializers.CharField(help_text="user or team.")
    id = serializers.IntegerField()
    name = serializers.CharField()
    quota = _money(source="figures.quota", allow_null=True)
    won = _money(source="figures.won")
    commit = _money(source="figures.commit")
    best_case = _money(source="figures.best_case")
    pipeline = _money(source="figures.pipeline")
    attainment = _rate(source="figures.attainment", allow_null=True)


class ScopeChoiceSerializer(serializers.Serializer[selectors.ScopeChoice]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label, popped by DRF


class ForecastSerializer(serializers.Serializer[dict[str, Any]]):
    period = PeriodSerializer()
    scope = serializers.CharField(help_text="The scope shown.")
    scopes = ScopeChoiceSerializer(many=True, help_text="The scopes the caller may pick.")
    currency = serializers.CharField(help_text="The workspace's base currency.")
    people = ForecastRowSerializer(many=True)
    teams = ForecastRowSerializer(many=True, help_text="Team totals (their members' figures).")
    total = FiguresSerializer(help_text="Everyone shown, added up.")


class StageLineSerializer(serializers.Serializer[selectors.StageLine]):
    stage = serializers.IntegerField(source="stage.pk")
    key = serializers.CharField(source="stage.key")
    name = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(source="stage.outcome", choices=Stage.Outcome.choices)
    is_active = serializers.BooleanField(source="stage.is_active")
    count = serializers.IntegerField()
    total = _money()
    weighted = _money(help_text="Sum of amount times the opportunity's probability.")

    def get_name(self, obj: selectors.StageLine) -> str:
        return obj.stage.display(get_language() or "en")


class PipelineBlockSerializer(serializers.Serializer[selectors.PipelineBlock]):
    pipeline = serializers.IntegerField(source="pipeline_id")
    name = serializers.CharField()
    open_count = serializers.IntegerField()
    open_total = _money()
    open_weighted = _money()
    stages = StageLineSerializer(many=True)


class PipelineReportSerializer(serializers.Serializer[dict[str, Any]]):
    period = PeriodSerializer(allow_null=True, help_text="null: every close date.")
    currency = serializers.CharField()
    pipelines = PipelineBlockSerializer(many=True)


class WinLossLineSerializer(serializers.Serializer[selectors.WinLossLine]):
    owner = serializers.IntegerField(source="key", allow_null=True)
    name = serializers.CharField()
    won_count = serializers.IntegerField()
    won_amount = _money()
    lost_count = serializers.IntegerField()
    lost_amount = _money()
    win_rate = _rate(allow_null=True, help_text="Won deals as % of closed deals, by count.")


class ReasonLineSerializer(serializers.Serializer[selectors.ReasonLine]):
    id = serializers.IntegerField(allow_null=True, help_text="Lost-reason picklist value.")
    name = serializers.CharField()
    count = serializers.IntegerField()
    amount = _money()


class WinLossSerializer(serializers.Serializer[selectors.WinLoss]):
    period = PeriodSerializer()
    currency = serializers.CharField()
    total = WinLossLineSerializer()
    by_owner = WinLossLineSerializer(many=True)
    lost_reasons = ReasonLineSerializer(many=True)


# --- Quotas ----------------------------------------------------------------------------------


def _whose(data: dict[str, Any], actor: User) -> dict[str, Any]:
    """{"user": User} or {"team": Team} from ids; a 400 naming the field when there is none.
    A manager is answered the same for people and teams outside their own teams, so an id
    tells them nothing; others are refused for their role by the service (403)."""
    out: dict[str, Any] = {"user": None, "team": None}
    manager = may_manage_quotas(actor) and not actor.is_workspace_admin
    if data.get("user") is not None:
        people = settable_users(actor) if manager else User.objects.all()
        out["user"] = people.filter(pk=data["user"]).first()
        if out["user"] is None:
            raise ValidationError({"user": [_("There is no such person in this workspace.")]})
    if data.get("team") is not None:
        teams = settable_teams(actor) if manager else Team.objects.all()
        out["team"] = teams.filter(pk=data["team"]).first()
        if out["team"] is None:
            raise ValidationError({"team": [_("There is no such team in this workspace.")]})
    return out


QUOTA_FILTERS = [
    OpenApiParameter("user", int, description="Quotas of this person."),
    OpenApiParameter("team", int, description="Quotas of this team."),
    OpenApiParameter("period", str, description="Quotas of exactly this period: " + PERIOD_HELP),
    OpenApiParameter("period_kind", str, enum=PeriodKind.values),
    OpenApiParameter("year", int, description="Quotas of periods starting in this year."),
]


@extend_schema_view(
    list=extend_schema(
        summary="Quotas the caller may read, newest first",
        parameters=QUOTA_FILTERS,
        tags=["quotas"],
    ),
    retrieve=extend_schema(
        summary="One quota", responses={200: QuotaSerializer, 404: NOT_FOUND}, tags=["quotas"]
    ),
)
class QuotaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = QuotaSerializer
    pagination_class = Pagination

    @property
    def actor(self) -> User:
        return _actor(self.request)

    def get_queryset(self) -> QuerySet[Quota]:
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation has no caller
            return Quota.objects.none()
        return readable_quotas(self.actor).select_related("user", "team")

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        params = self.request.query_params
        for name in ("user", "team"):
            if (value := int_param(params, name)) is not None:
                queryset = queryset.filter(**{f"{name}_id": value})
        if params.get("period"):
            period = parse_period(params["period"])
            queryset = queryset.filter(period_kind=period.kind, period_start=period.start)
        if kind := params.get("period_kind"):
            if kind not in PeriodKind.values:
                raise ValidationError({"period_kind": [_("Choose month or quarter.")]})
            queryset = queryset.filter(period_kind=kind)
        if params.get("year"):
            year = int_param(params, "year")
            queryset = queryset.filter(period_start__year=year)
        return queryset

    @extend_schema(
        summary="Set a person's or a team's quota for a period (managers)",
        description="Workspace admins set anyone's; managers (a team or all edit scope on "
        "opportunities) set their teams' and their team-mates' (403 for anyone else). Answers "
        "201 with a new quota, 200 with a changed one, 204 when `amount: null` removed it.",
        request=QuotaInputSerializer,
        responses={
            200: QuotaSerializer,
            201: QuotaSerializer,
            204: None,
            400: ERROR,
            403: FORBIDDEN,
        },
        tags=["quotas"],
    )
    def create(self, request: Request) -> Response:
        body = QuotaInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        period = parse_period(body.validated_data["period"])
        whose = _whose(body.validated_data, self.actor)
        existed = False
        if (whose["user"] is None) != (whose["team"] is None):  # else the service says so
            key = "user" if whose["user"] is not None else "team"
            existed = Quota.objects.filter(
                **{key: whose[key]}, period_kind=period.kind, period_start=period.start
            ).exists()
        quota = services.quota_set(
            actor=self.actor,
            period_kind=period.kind,
            period_start=period.start,
            amount=body.validated_data["amount"],
            channel=API,
            **whose,
        )
        if quota is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        quota = Quota.objects.select_related("user", "team").get(pk=quota.pk)
        return Response(
            QuotaSerializer(quota).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Remove a quota (managers)",
        request=None,
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
        tags=["quotas"],
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.quota_delete(self.get_object(), actor=self.actor, channel=API)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Set many quotas at once, all or nothing (managers)",
        description="A list of the bodies `POST /api/v1/quotas/` takes, like the quota grid: "
        "either every row is saved or none, and 400 answers `rows`: the errors of each bad row "
        "by its index (a row the caller may not set among them). Rows that change nothing are "
        "not checked.",
        request=QuotaInputSerializer(many=True),
        responses={200: QuotaBulkResultSerializer, 400: QuotaBulkErrorSerializer},
        tags=["quotas"],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        if not isinstance(request.data, list) or not request.data:
            raise ValidationError({"detail": [_("Send a JSON array of quotas.")]})
        body = QuotaInputSerializer(data=request.data, many=True)
        if not body.is_valid():
            errors = body.errors
            pairs = errors.items() if isinstance(errors, dict) else enumerate(errors)
            return Response(
                {"rows": {str(i): e for i, e in pairs if e}}, status=status.HTTP_400_BAD_REQUEST
            )
        cells: dict[str, services.QuotaChange] = {}
        row_errors: dict[str, Any] = {}
        for i, row in enumerate(cast(list[dict[str, Any]], body.validated_data)):
            try:
                period = parse_period(row["period"])
                whose = _whose(row, self.actor)
                if (whose["user"] is None) == (whose["team"] is None):
                    raise ValidationError({"user": [_("Give either a person or a team.")]})
                amount = services.clean_amount(row["amount"])
            except ValidationError as exc:
                row_errors[str(i)] = exc.detail
                continue
            except DjangoValidationError as exc:
                row_errors[str(i)] = (
                    exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
                )
                continue
            cells[str(i)] = services.QuotaChange(period.kind, period.start, amount, **whose)
        if row_errors:
            return Response({"rows": row_errors}, status=status.HTTP_400_BAD_REQUEST)
        try:
            changed = services.quotas_save(actor=self.actor, cells=cells, channel=API)
        except DjangoValidationError as exc:
            return Response(
                {"rows": {name: {"detail": msgs} for name, msgs in exc.message_dict.items()}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"changed": changed})


# --- The forecast ------------------------------------------------------------------------------


SCOPE = OpenApiParameter(
    "scope",
    str,
    description="me, team (the caller's teams), team:<id>, or all. Default: the widest the "
    "caller's role reads. One the caller may not pick answers 400 naming `scope`.",
)
PERIOD = OpenApiParameter("period", str, description=PERIOD_HELP + " Default: this-quarter.")


class ForecastView(APIView):
    @extend_schema(
        summary="The forecast: quota, closed won, commit, best case, pipeline, attainment",
        description="Per person and team of the scope, and in total, for the opportunities "
        "the caller may read whose close date falls in the period. Best case includes "
        "commit; a quarter without its own quota adds up its months' quotas.",
        parameters=[PERIOD, SCOPE],
        responses={200: ForecastSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["forecast"],
    )
    def get(self, request: Request) -> Response:
        viewer = _actor(request)
        require_opportunity_reader(viewer)
        period = parse_period(request.query_params.get("period"))
        result = selectors.forecast(viewer, period, request.query_params.get("scope"))
        return Response(
            ForecastSerializer(
                {
                    "period": result.period,
                    "scope": result.scope.key,
                    "scopes": selectors.scope_choices(viewer),
                    "currency": result.currency,
                    "people": result.people,
                    "teams": result.teams,
                    "total": result.total,
                }
            ).data
        )


class DrillDownPagination(Pagination):
    ordering = ("close_date", "id")  # type: ignore[assignment]


class ForecastOpportunitiesView(generics.GenericAPIView):
    """The opportunities behind one figure of the forecast."""

    serializer_class = OpportunitySerializer
    pagination_class = DrillDownPagination

    @extend_schema(
        summary="The opportunities behind a forecast figure, by close date",
        parameters=[
            PERIOD,
            SCOPE,
            OpenApiParameter(
                "column", str, enum=list(selectors.COLUMNS), description="Default: commit."
            ),
            OpenApiParameter("owner", int, description="Only this person's."),
            OpenApiParameter("team", int, description="Only the members of this team."),
        ],
        responses={200: OpportunitySerializer(many=True), 400: ERROR, 403: FORBIDDEN},
        tags=["forecast"],
    )
    def get(self, request: Request) -> Response:
        viewer = _actor(request)
        require_opportunity_reader(viewer)
        params = request.query_params
        opportunities = selectors.drill_down(
            viewer,
            parse_period(params.get("period")),
            params.get("scope"),
            params.get("column") or "commit",
            owner=int_param(params, "owner"),
            team=int_param(params, "team"),
        ).prefetch_related(
            "contact_roles__contact", "contact_roles__role", "team__user", "competitors"
        )
        page = self.paginate_queryset(opportunities)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- Reports -----------------------------------------------------------------------------------


OWNER = OpenApiParameter("owner", int, description="Only this person's opportunities.")
TEAM = OpenApiParameter("team", int, description="Only the opportunities of this team's members.")


class PipelineReportView(APIView):
    @extend_schema(
        summary="Pipeline by stage: count, total and weighted total per pipeline and stage",
        description="Over the opportunities the caller may read (all close dates unless "
        "`period` is given), in the base currency. Active pipelines show all their active "
        "stages; a retired stage shows while opportunities sit in it.",
        parameters=[
            OpenApiParameter("period", str, description="Close dates in: " + PERIOD_HELP),
            OWNER,
            TEAM,
        ],
        responses={200: PipelineReportSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        viewer = _actor(request)
        require_opportunity_reader(viewer)
        params = request.query_params
        period = parse_period(params["period"]) if params.get("period") else None
        blocks = selectors.pipeline_report(
            viewer,
            owner=int_param(params, "owner"),
            team=int_param(params, "team"),
            period=period,
        )
        return Response(
            PipelineReportSerializer(
                {"period": period, "currency": base_currency(), "pipelines": blocks}
            ).data
        )


class WinLossReportView(APIView):
    @extend_schema(
        summary="Win/loss: deals closed in the period, by owner and by lost reason",
        description="Opportunities the caller may read that were won or lost in the period "
        "(by the time they were closed), in the base currency.",
        parameters=[PERIOD, OWNER, TEAM],
        responses={200: WinLossSerializer, 400: ERROR, 403: FORBIDDEN},
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        viewer = _actor(request)
        require_opportunity_reader(viewer)
        params = request.query_params
        result = selectors.win_loss(
            viewer,
            parse_period(params.get("period")),
            owner=int_param(params, "owner"),
            team=int_param(params, "team"),
        )
        return Response(WinLossSerializer(result).data)
