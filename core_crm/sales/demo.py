"""Sales demo data for the demo workspace: currencies, a product catalogue with two price books,
opportunities in every stage of every pipeline with their history, quotes in every status, a
week of activities around today and quotas, so the board, the calendar, the account 360° page
and the forecast look alive at first sign-in. Deterministic (seeded) and idempotent.

The rules hold as they do for people. Currencies, the catalogue, quotes, activities and quotas
go through their services (audit entries, totals, approvals, frozen versions, reminders).
Opportunities are many and each has months of moves, which through the services would take
minutes: each deal's story is replayed in memory through the opportunity service's own stage
rules (probability and forecast category from the stage, won is 100 % and closed, lost has a
reason, base amount at the current rate, a stage change and an audit entry for every move),
then written with bulk inserts, dated as the story goes.

The services stamp rows with the real time; the story spans days and months. Each service call
that belongs to the past runs inside `_Story.at(moment)`, and at the end the timestamps written
during a call are moved to its moment. Quotes stay in the present: they are dated today and
valid from today, as the services require to send them."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max, Model, Q, QuerySet, Sum
from django.utils import timezone

from core_crm.access.models import RecordShare, Team
from core_crm.activities.models import Activity
from core_crm.activities.services import activity_complete, activity_create
from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit_entry
from core_crm.customers.models import Account, Contact, PicklistValue
from core_crm.customers.services import _changes, _state, creation_changes
from core_crm.forecast.models import PeriodKind, Quota
from core_crm.forecast.services import QuotaChange, quotas_save
from core_crm.notifications.models import Notification
from core_crm.quotes.models import OpportunityLineItem, PriceBook, Product
from core_crm.quotes.services import (
    approvers,
    category_save,
    discount_limit,
    needs_approval,
    price_book_save,
    price_set,
    product_save,
    quote_accept,
    quote_approve,
    quote_create,
    quote_line_save,
    quote_reject,
    quote_send,
    quote_submit,
)
from core_crm.quotes.totals import line_amounts
from core_crm.users.middleware import zone_of
from core_crm.users.models import User

from .currency import base_currency, rates, to_base
from .currency_services import DEMO_RATES, currency_create, seed_demo
from .models import (
    Competitor,
    Currency,
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityTeamMember,
    Pipeline,
    Stage,
    StageChange,
)
from .opportunities import _check_rules, _settle_stage

CHANNEL = Channel.SYSTEM
DEFAULT_OPPORTUNITIES = 150
DEFAULT_QUOTES = 20
THOUSAND = Decimal(1000)

# (English, Chinese): the Chinese one goes with Chinese account names.
DEAL_THEMES = [
    ("Valve retrofit, line 2", "二号线阀门改造"),
    ("Control system upgrade", "控制系统升级"),
    ("Annual spare parts agreement", "年度备件框架协议"),
    ("Packaging line automation", "包装线自动化"),
    ("Pump station expansion", "泵站扩容"),
    ("Boiler room valve replacement", "锅炉房阀门更换"),
    ("Warehouse automation pilot", "仓储自动化试点"),
    ("Water treatment dosing system", "水处理加药系统"),
    ("New plant, phase 1 equipment", "新厂一期设备"),
    ("SCADA rollout", "SCADA 系统上线"),
    ("Cooling water loop", "冷却水循环改造"),
    ("Energy-saving pump retrofit", "节能泵改造"),
]
RENEWAL_THEMES = [
    ("Maintenance contract renewal {year}", "{year}年度维保合同续约"),
    ("SCADA support renewal {year}", "{year}年 SCADA 技术支持续约"),
    ("Spare parts framework {year}", "{year}年备件框架续签"),
]
NEXT_STEPS = [
    ("Send revised quote", "发送修改后的报价"),
    ("Technical clarification with engineering", "与技术部澄清参数"),
    ("Site survey", "现场勘测"),
    ("Meet the purchasing manager", "拜访采购经理"),
    ("Prepare the contract draft", "准备合同草稿"),
    ("Demo at the customer's plant", "到客户工厂演示"),
]
COMPETITORS = [
    ("Huaxin Controls 华信控制", "Low price, local service team", "Long delivery times"),
    ("Everbright Valves", "Well-known brand", "Little flexibility on terms"),
    ("中联机电", "与客户关系好", "技术支持弱"),
    ("Pacific Automation", "Complete system offer", "Expensive spare parts"),
    ("Nordic Flow AB", "Premium quality", "No local stock"),
]
LOST_NOTES = {
    "price": "Competitor was about 12% cheaper. 对手报价低约12%。",
    "competitor": "Customer chose the incumbent supplier. 客户选择了原有供应商。",
    "no-budget": "Budget moved to next year. 预算推迟到明年。",
    "no-decision": "Project on hold, no decision this year. 项目搁置。",
    "timing": "Plant shutdown postponed. 停产检修延期。",
    "product-fit": "Needed a stainless version we do not make. 需要不锈钢型号。",
    "relationship": "New purchasing manager prefers another supplier. 新采购经理偏好其他供应商。",
}
CATEGORIES = [
    # name, parent name
    ("Industrial equipment 工业设备", None),
    ("Valves 阀门", "Industrial equipment 工业设备"),
    ("Pumps 泵", "Industrial equipment 工业设备"),
    ("Control systems 控制系统", "Industrial equipment 工业设备"),
    ("Services 服务", None),
    ("Spare parts 备件", None),
]
PRODUCTS = [
    # code, name, category, unit, price in CNY, for renewals
    ("VLV-BF-100", "Butterfly valve DN100 蝶阀", "Valves 阀门", "pcs", 1850, False),
    ("VLV-GT-200", "Gate valve DN200 闸阀", "Valves 阀门", "pcs", 4600, False),
    ("VLV-CT-050", "Control valve DN50 with positioner 调节阀", "Valves 阀门", "pcs", 12800, False),
    ("PMP-CF-15", "Centrifugal pump 15 kW 离心泵", "Pumps 泵", "pcs", 28500, False),
    ("PMP-DS-03", "Dosing pump 计量泵", "Pumps 泵", "pcs", 9800, False),
    ("CTL-PLC-S", "PLC control cabinet 控制柜", "Control systems 控制系统", "set", 86000, False),
    ("CTL-SCADA", "SCADA licence, 500 tags", "Control systems 控制系统", "licence", 120000, False),
    ("SRV-INST", "Installation and commissioning 安装调试", "Services 服务", "day", 3500, False),
    ("SRV-TRAIN", "Operator training 操作培训", "Services 服务", "day", 4200, True),
    ("SRV-MAINT", "Annual maintenance contract 年度维保", "Services 服务", "year", 48000, True),
    ("SPR-SEAL", "Seal kit 密封件套装", "Spare parts 备件", "set", 680, True),
    ("SPR-ACT", "Electric actuator 电动执行器", "Spare parts 备件", "pcs", 6900, True),
]
QUOTE_TERMS = (
    "Payment: 30% advance, 70% before shipment. 付款方式: 预付30%, 发货前付清余款。\n"
    "Delivery: 4-6 weeks after the advance payment. 交货期: 收到预付款后4-6周。"
)
# Quote statuses in a demo of 20 quotes (scaled with the number of opportunities).
QUOTE_MIX = [
    ("draft", 4),
    ("in_review", 3),
    ("approved", 3),
    ("sent", 5),
    ("accepted", 3),
    ("rejected", 2),
]
ACTIVITY_TEXT: dict[str, list[tuple[str, str]]] = {
    "call": [
        ("Follow-up call on the quote", "报价跟进电话"),
        ("Call about the delivery schedule", "电话沟通交货期"),
        ("Payment terms call", "电话沟通付款条款"),
        ("Check-in call with purchasing", "与采购部电话沟通"),
    ],
    "meeting": [
        ("Technical review with engineering", "技术交流会"),
        ("Contract negotiation", "合同谈判"),
        ("Quarterly business review", "季度业务回顾"),
        ("Kick-off meeting", "项目启动会"),
    ],
    "visit": [
        ("Site visit at the plant", "工厂现场拜访"),
        ("Visit the purchasing department", "拜访客户采购部"),
        ("Product demo on site", "现场产品演示"),
    ],
    "task": [
        ("Send the revised quote", "发送修改后的报价"),
        ("Prepare samples", "准备样品"),
        ("Ask finance for the credit check", "申请客户信用审核"),
        ("Send the technical datasheets", "发送技术参数表"),
    ],
    "note": [
        ("Customer feedback on the offer", "客户对方案的反馈"),
        ("Budget confirmed for next quarter", "下季度预算已确认"),
        ("New decision maker at the customer", "客户决策人变更"),
    ],
    "email": [
        ("Sent the product catalogue", "已发送产品目录"),
        ("Sent the meeting minutes", "已发送会议纪要"),
    ],
}
OUTCOMES: dict[str, list[tuple[str, str]]] = {
    "call": [
        ("Interested; wants a revised price by Friday.", "有兴趣, 周五前要新报价。"),
        ("Reached voicemail, will call again.", "未接通, 稍后再打。"),
        ("Delivery date agreed.", "交货期已确认。"),
    ],
    "meeting": [
        ("Specs agreed; next step is the commercial offer.", "技术参数已确认, 下一步商务报价。"),
        ("They asked for a 10% discount.", "客户要求九折。"),
    ],
    "visit": [
        ("Met the plant manager; two more lines planned next year.", "见到厂长, 明年还有两条线。"),
        ("Samples handed over.", "样品已交付。"),
    ],
    "task": [("Done.", "已完成。"), ("Sent by email.", "已邮件发送。")],
    "email": [("", "")],
}


def sales_demo_seeded() -> bool:
    """Whether the sales side of this workspace has data already (then the demo leaves it)."""
    return Opportunity.objects.exists() or Product.objects.exists() or Quota.objects.exists()


class _Story:
    """Moves what the services write to the moments of the story. `at(moment)` notes the real
    interval a call took; `retell` moves timestamps written in an interval to its moment."""

    def __init__(self) -> None:
        self._starts: list[dt.datetime] = []
        self._ends: list[dt.datetime] = []
        self._moments: list[dt.datetime] = []

    @contextmanager
    def at(self, moment: dt.datetime) -> Iterator[None]:
        start = timezone.now()
        yield
        self._starts.append(start)
        self._ends.append(timezone.now())
        self._moments.append(moment)

    def moment(self, real: dt.datetime) -> dt.datetime | None:
        i = bisect.bisect_right(self._starts, real) - 1
        if i >= 0 and real <= self._ends[i]:
            return self._moments[i]
        return None

    def retell(self, queryset: QuerySet[Any], *fields: str) -> None:
        changed: list[Model] = []
        for row in queryset.only("pk", *fields):
            dirty = False
            for name in fields:
                value = getattr(row, name)
                moment = self.moment(value) if value is not None else None
                if moment is not None:
                    setattr(row, name, moment)
                    dirty = True
            if dirty:
                changed.append(row)
        queryset.model._default_manager.bulk_update(changed, list(fields), batch_size=500)


@dataclass
class _Deal:
    """One opportunity's story, planned before anything is written."""

    owner: User
    account: Account
    contacts: list[Contact]
    pipeline: Pipeline
    path: list[Stage]  # the stage it is created in, then every move
    moments: list[dt.datetime]  # one per entry of `path`
    close_date: dt.date
    currency: str
    amount: Decimal
    name: str
    next_step: str
    category: str | None = None
    source: PicklistValue | None = None
    lost_reason: PicklistValue | None = None
    items_at: int | None = None  # before which move products are added (0: at creation)
    high_discount: bool = False
    quote: str | None = None  # the status its quote ends in
    opportunity: Opportunity | None = None

    @property
    def final(self) -> Stage:
        return self.path[-1]


def _text(pair: tuple[str, str], chinese: bool) -> str:
    return pair[1] if chinese and pair[1] else pair[0]


def _is_chinese(name: str) -> bool:
    return any(ord(ch) > 0x2E80 for ch in name)


def _round_to(value: Decimal, step: Decimal) -> Decimal:
    return max(step, (value / step).quantize(Decimal(1), rounding=ROUND_CEILING) * step)


def _at(day: dt.date, hour: int, minute: int, user: User) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone_of(user.time_zone))


def _quarter_start(day: dt.date, shift: int = 0) -> dt.date:
    index = day.year * 12 + (day.month - 1) // 3 * 3 + shift * 3
    return dt.date(index // 12, index % 12 + 1, 1)


class _Seeder:
    """Plans the demo from the workspace's pipelines, people and accounts, then writes it."""

    def __init__(self, *, seed: int, today: dt.date, opportunities: int) -> None:
        self.rng = random.Random(seed)
        self.today = today
        real_now = timezone.now()
        self.now = (
            real_now
            if today == timezone.localdate()
            else dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
        )
        self.count = opportunities
        self.story = _Story()
        self.base = base_currency()
        self.rates: dict[str, Decimal] = {}
        self.books: dict[str, PriceBook] = {}
        self.products: list[tuple[Product, bool]] = []  # (product, sold on renewals)
        self.prices: dict[tuple[int, str], Decimal] = {}
        self.to_complete: list[tuple[Activity, dt.datetime, str]] = []
        self.kind_decks: dict[bool, list[str]] = {True: [], False: []}
        self.first_pipeline: int | None = None
        self.contact_roles = {
            v.code: v for v in PicklistValue.objects.filter(picklist="contact_role", is_active=True)
        }
        admin = User.objects.filter(is_active=True, is_workspace_admin=True).order_by("pk").first()
        if admin is None:
            raise RuntimeError("The sales demo needs an active workspace admin.")
        self.admin: User = admin
        sales = list(
            User.objects.filter(is_active=True, role__key__in=["sales_rep", "sales_manager"])
            .select_related("role")
            .order_by("pk")
        )
        self.sales: list[User] = sales or [admin]
        self.managers = {u.pk for u in self.sales if u.role and u.role.key == "sales_manager"}
        self.teams = list(Team.objects.prefetch_related("members").order_by("name"))
        self.team_of: dict[int, Team] = {}
        for team in self.teams:
            for member in team.members.all():
                self.team_of.setdefault(member.pk, team)

    # --- helpers ------------------------------------------------------------------------

    def manager_of(self, user: User) -> User | None:
        team = self.team_of.get(user.pk)
        if team is None:
            return None
        for member in team.members.all():
            if member.pk in self.managers and member.pk != user.pk and member.is_active:
                return member
        return None

    def colleague_of(self, user: User) -> User | None:
        team = self.team_of.get(user.pk)
        others = [m for m in (team.members.all() if team else []) if m.pk != user.pk]
        return self.rng.choice(others) if others else None

    def before_now(self, moment: dt.datetime) -> dt.datetime:
        return min(moment, self.now - dt.timedelta(minutes=self.rng.randint(5, 90)))

    def work_moment(self, day: dt.date, user: User) -> dt.datetime:
        return _at(day, self.rng.choice([9, 10, 11, 14, 15, 16]), self.rng.choice([0, 30]), user)

    def draw_kind(self, past: bool) -> str:
        """Kinds of activity dealt from a shuffled deck, so the week has the whole mix (notes
        and logged emails only in the past)."""
        deck = self.kind_decks[past]
        if not deck:
            deck += ["call", "call", "meeting", "visit", "task", "task"]
            deck += ["note", "email"] if past else []
            self.rng.shuffle(deck)
        return deck.pop()

    # --- currencies and catalogue -------------------------------------------------------

    def currencies(self) -> None:
        """USD and EUR (and the others of the demo list) with rates, in whatever the base is."""
        if self.base == "CNY":
            seed_demo(actor=self.admin)
            return
        if self.base not in DEMO_RATES:
            return  # no sensible rates to this base currency: the demo sells in it only
        per_base = Decimal(DEMO_RATES[self.base])  # CNY per unit of the base currency
        table = {"CNY": Decimal(1), **{k: Decimal(v) for k, v in DEMO_RATES.items()}}
        for code, cny in table.items():
            if code == self.base or Currency.objects.filter(code=code).exists():
                continue
            rate = (cny / per_base).quantize(Decimal("0.00000001"))
            currency_create(actor=self.admin, code=code, rate_to_base=rate, channel=CHANNEL)

    def catalogue(self) -> None:
        self.rates = rates()
        categories: dict[str, Any] = {"": None}
        for name, parent in CATEGORIES:
            categories[name] = category_save(
                actor=self.admin,
                data={"name": name, "parent": categories.get(parent or "")},
                channel=CHANNEL,
            )
        books = {
            self.base: price_book_save(
                actor=self.admin,
                data={
                    "name": f"Standard price list 标准价目表 ({self.base})",
                    "currency": self.base,
                    "is_standard": True,
                    "description": "List prices for the domestic market.",
                },
                channel=CHANNEL,
            )
        }
        export = next((c for c in ("USD", "EUR") if c != self.base and c in self.rates), None)
        if export is not None:
            books[export] = price_book_save(
                actor=self.admin,
                data={
                    "name": f"Export price list 出口价目表 ({export})",
                    "currency": export,
                    "description": "Export prices, FOB Shanghai.",
                },
                channel=CHANNEL,
            )
        self.books = books
        cny_rate = self.rates.get("CNY")  # value of one yuan in the base currency
        for code, name, category, unit, price_cny, renewal in PRODUCTS:
            product = product_save(
                actor=self.admin,
                data={"code": code, "name": name, "category": categories[category], "unit": unit},
                channel=CHANNEL,
            )
            self.products.append((product, renewal))
            base_price = Decimal(price_cny) * (cny_rate or Decimal(1))
            for currency, book in books.items():
                # Export prices carry about 8 % for freight and paperwork.
                factor = Decimal(1) if currency == self.base else Decimal("1.08")
                price = (base_price * factor / self.rates[currency]).quantize(Decimal(1))
                price_set(
                    actor=self.admin, book=book, product=product, unit_price=price, channel=CHANNEL
                )
                self.prices[(product.pk, currency)] = price

    # --- planning -----------------------------------------------------------------------

    def plan_deals(self) -> list[_Deal]:
        rng = self.rng
        pipelines = list(Pipeline.objects.filter(is_active=True).order_by("position", "pk"))
        stages: dict[int, list[Stage]] = defaultdict(list)
        for stage in Stage.objects.filter(is_active=True, pipeline__in=pipelines).order_by(
            "position"
        ):
            stages[stage.pipeline_id].append(stage)
        pipelines = [
            p
            for p in pipelines
            if any(s.outcome == Stage.Outcome.OPEN for s in stages[p.pk])
            and any(s.outcome == Stage.Outcome.WON for s in stages[p.pk])
            and any(s.outcome == Stage.Outcome.LOST for s in stages[p.pk])
        ]
        if not pipelines:
            return []
        # The first pipeline (new business) gets most deals; every stage gets some.
        self.first_pipeline = pipelines[0].pk
        others = len(pipelines) - 1
        shares = [1.0] if not others else [0.7] + [0.3 / others] * others
        sales_ids = {u.pk for u in self.sales}
        accounts = list(
            Account.objects.filter(owner_id__in=sales_ids).select_related("owner").order_by("pk")
        ) or list(Account.objects.select_related("owner").order_by("pk"))
        if not accounts:
            return []
        contacts: dict[int, list[Contact]] = defaultdict(list)
        for contact in Contact.objects.filter(account__in=accounts).order_by("pk"):
            contacts[contact.account_id].append(contact)  # type: ignore[index]
        # The accounts at the top of the (alphabetical) account list get two deals each, so
        # the first account a person opens has a full 360° page.
        first = sorted(accounts, key=lambda a: (a.name, a.pk))[: max(1, self.count // 12)]
        first_ids = {a.pk for a in first}
        picked = [a for a in first for _ in range(2)][: self.count]
        rest = [a for a in accounts if a.pk not in first_ids]
        picked += rng.sample(rest, min(len(rest), self.count - len(picked)))
        while len(picked) < self.count:
            picked.append(rng.choice(accounts))
        lost_reasons = list(PicklistValue.objects.filter(picklist="lost_reason", is_active=True))
        sources = list(PicklistValue.objects.filter(picklist="source", is_active=True))
        currencies = [c for c in ("USD", "EUR") if c in self.rates and c != self.base]

        targets: list[tuple[Pipeline, Stage]] = []
        for pipeline, share in zip(pipelines, shares, strict=True):
            all_stages = stages[pipeline.pk]
            n = max(len(all_stages), round(self.count * share))
            chosen = list(all_stages)  # each stage once, then by weight
            weights = [{"open": 3.0, "won": 3.0, "lost": 2.0}[s.outcome] for s in all_stages]
            chosen += rng.choices(all_stages, weights=weights, k=max(0, n - len(all_stages)))
            targets += [(pipeline, s) for s in chosen]
        rng.shuffle(targets)

        deals = []
        for i, (pipeline, final) in enumerate(targets):
            account = picked[i % len(picked)]
            deal = self._plan_deal(
                account=account,
                contacts=contacts.get(account.pk, []),
                pipeline=pipeline,
                open_stages=[s for s in stages[pipeline.pk] if s.outcome == Stage.Outcome.OPEN],
                final=final,
                currencies=currencies,
            )
            if final.outcome == Stage.Outcome.LOST and lost_reasons:
                deal.lost_reason = rng.choice(lost_reasons)
            if sources:
                deal.source = rng.choice(sources)
            deals.append(deal)
        self._plan_items_and_quotes(deals, stages)
        return deals

    def _plan_deal(
        self,
        *,
        account: Account,
        contacts: list[Contact],
        pipeline: Pipeline,
        open_stages: list[Stage],
        final: Stage,
        currencies: Sequence[str],
    ) -> _Deal:
        rng = self.rng
        owner = account.owner
        renewal = pipeline.pk != self.first_pipeline
        # Path: from the first open stage onwards, sometimes skipping one or stepping back.
        if final.outcome == Stage.Outcome.OPEN:
            reach = open_stages.index(final)
        elif final.outcome == Stage.Outcome.WON:
            reach = len(open_stages) - 1
        else:
            reach = rng.randint(0, len(open_stages) - 1)
        path = [open_stages[0]]
        for stage in open_stages[1 : reach + 1]:
            if stage is not open_stages[reach] and rng.random() < 0.15:
                continue  # skipped
            if len(path) > 1 and rng.random() < 0.08:
                path += [stage, path[-1]]  # went ahead too early, came back
            path.append(stage)
        if final.outcome != Stage.Outcome.OPEN:
            path.append(final)

        this_quarter = _quarter_start(self.today)
        window_start = _quarter_start(self.today, -2)
        window_end = _quarter_start(self.today, 3) - dt.timedelta(days=1)
        if final.is_closed:
            low = this_quarter if rng.random() < 0.45 else window_start
            high = self.today if low == this_quarter else this_quarter - dt.timedelta(days=1)
            close = low + dt.timedelta(days=rng.randint(0, max(0, (high - low).days)))
            last = self.before_now(self.work_moment(close, owner))
            first = last - dt.timedelta(days=rng.randint(15, 60 if renewal else 150))
        else:
            horizon = (window_end - self.today).days
            k = open_stages.index(final)
            span = int(horizon * (1 - 0.6 * k / max(1, len(open_stages) - 1)))
            close = self.today + dt.timedelta(days=rng.randint(-5, max(0, span)))
            last = self.before_now(
                self.work_moment(self.today - dt.timedelta(days=rng.randint(0, 20)), owner)
            )
            first = last - dt.timedelta(days=rng.randint(5, 40 * len(path)))
        if len(path) == 1:
            moments = [last]
        else:
            step = (last - first) / (len(path) - 1)
            moments = [first + step * i for i in range(len(path))]
            moments = [
                m + dt.timedelta(minutes=rng.randint(0, 120)) if 0 < i < len(path) - 1 else m
                for i, m in enumerate(moments)
            ]

        chinese = _is_chinese(account.name)
        if renewal:
            theme = rng.choice(RENEWAL_THEMES)
            name = _text(theme, chinese).format(year=close.year)
            base_amount = Decimal(rng.randint(20, 300)) * THOUSAND
            currency = self.base
        else:
            name = _text(rng.choice(DEAL_THEMES), chinese)
            band = rng.random()
            low_k, high_k = (50, 200) if band < 0.5 else (200, 800) if band < 0.85 else (800, 2500)
            base_amount = Decimal(rng.randint(low_k, high_k)) * THOUSAND
            roll = rng.random()
            currency = (
                currencies[0]
                if currencies and roll < 0.18
                else currencies[-1]
                if len(currencies) > 1 and roll < 0.27
                else self.base
            )
        deal = _Deal(
            owner=owner,
            account=account,
            contacts=contacts,
            pipeline=pipeline,
            path=path,
            moments=moments,
            close_date=close,
            currency=currency,
            amount=_round_to(base_amount / self.rates[currency], Decimal(100)),
            name=name,
            next_step=_text(rng.choice(NEXT_STEPS), chinese),
        )
        if final.outcome == Stage.Outcome.OPEN:
            k = open_stages.index(final)
            late = k >= len(open_stages) - 1
            if late and rng.random() < 0.7:
                deal.category = ForecastCategory.COMMIT
            elif k >= len(open_stages) // 2 and rng.random() < 0.5:
                deal.category = ForecastCategory.BEST_CASE
        return deal

    def _plan_items_and_quotes(self, deals: list[_Deal], stages: dict[int, list[Stage]]) -> None:
        """Which deals get products (and when), and which get which quote."""
        rng = self.rng

        def open_index(stage: Stage) -> int:
            opens = [s for s in stages[stage.pipeline_id] if s.outcome == Stage.Outcome.OPEN]
            return opens.index(stage) if stage in opens else -1

        def threshold(deal: _Deal) -> int:
            opens = [s for s in stages[deal.pipeline.pk] if s.outcome == Stage.Outcome.OPEN]
            return min(2, len(opens) - 1)

        def reaches(deal: _Deal) -> int | None:
            """The first move to a quoting stage (a late open stage, or closing)."""
            for i, stage in enumerate(deal.path[1:], start=1):
                if stage.is_closed or open_index(stage) >= threshold(deal):
                    return i
            return 0 if open_index(deal.path[0]) >= threshold(deal) else None

        priced = [d for d in deals if d.currency in self.books]
        for deal in priced:
            at = reaches(deal)
            if at is not None and rng.random() < 0.6:
                deal.items_at = at

        total = max(len(QUOTE_MIX) + 1, round(DEFAULT_QUOTES * self.count / DEFAULT_OPPORTUNITIES))
        wanted = [(status, max(1, round(n * total / DEFAULT_QUOTES))) for status, n in QUOTE_MIX]

        def fits(deal: _Deal, status: str) -> bool:
            outcome = deal.final.outcome
            if deal.quote is not None or reaches(deal) is None:
                return False
            if status == "accepted":
                return outcome == Stage.Outcome.WON
            if status == "rejected":
                return outcome == Stage.Outcome.LOST
            if outcome != Stage.Outcome.OPEN:
                return False
            return status == "draft" or open_index(deal.final) >= threshold(deal)

        # Most recently closed first: their quotes were answered lately. Quotes waiting for
        # or past approval, and one of those sent, have a discount above the limit.
        ordered = sorted(priced, key=lambda d: d.moments[-1], reverse=True)
        for status, n in wanted:
            for number, deal in enumerate([d for d in ordered if fits(d, status)][:n]):
                deal.quote = status
                if deal.items_at is None:
                    deal.items_at = reaches(deal)
                deal.high_discount = status in ("in_review", "approved") or (
                    status == "sent" and number == 0
                )

    # --- writing ------------------------------------------------------------------------

    def write_deals(self, deals: list[_Deal]) -> None:
        """Every deal's story replayed in memory through the opportunity service's own stage
        rules (`_settle_stage`, `_check_rules`), then written with a few bulk inserts: going
        through the services call by call takes minutes for 150 deals with their history."""
        limit = discount_limit()
        low = [Decimal(d) for d in (0, 0, 5, 8, 10) if d <= limit] or [Decimal(0)]
        high = [d for d in (limit + 3, limit + 5, limit + 10) if d <= 100]
        replays: list[tuple[_Deal, Opportunity, list[StageChange], list[AuditEntry]]] = []
        items: list[tuple[Opportunity, OpportunityLineItem]] = []
        for deal in deals:
            opp = Opportunity(
                owner=deal.owner,
                name=deal.name,
                account=deal.account,
                primary_contact=deal.contacts[0] if deal.contacts else None,
                pipeline=deal.pipeline,
                stage=deal.path[0],
                amount=deal.amount,
                currency=deal.currency,
                close_date=deal.close_date,
                source=deal.source,
                next_step="" if deal.final.is_closed else deal.next_step,
                created_at=deal.moments[0],
            )
            history: list[StageChange] = []
            entries: list[AuditEntry] = []
            lines: list[OpportunityLineItem] = []
            for i, (stage, moment) in enumerate(zip(deal.path, deal.moments, strict=True)):
                last = i == len(deal.path) - 1
                if deal.items_at == i:  # products priced: the amount follows them
                    before = _state(opp)
                    lines = self._lines(deal, low, high)
                    opp.amount = sum((line.net for line in lines), Decimal(0))
                    opp.amount_base = to_base(opp.amount, opp.currency, self.rates)
                    if i:
                        entries.append(self._entry(opp, "update", before, moment, minutes=-5))
                before = _state(opp)
                from_stage = opp.stage if i else None
                given: dict[str, Any] = {"stage": stage}
                opp.stage = stage
                if stage.outcome == Stage.Outcome.LOST:
                    opp.lost_reason = deal.lost_reason
                    opp.lost_note = LOST_NOTES.get(getattr(deal.lost_reason, "code", ""), "")
                if last and deal.category is not None:
                    opp.forecast_category = given["forecast_category"] = deal.category
                # At the story's moment: a closed deal's close date is the day it closed.
                _settle_stage(opp, True, given, now=moment)
                opp.amount_base = to_base(opp.amount, opp.currency, self.rates)
                stored = {"stage": getattr(from_stage, "pk", None), "pipeline": opp.pipeline_id}
                _check_rules(opp, stored if i else None)
                history.append(
                    StageChange(
                        from_stage=from_stage,
                        to_stage=stage,
                        amount=opp.amount,
                        currency=opp.currency,
                        amount_base=opp.amount_base,
                        probability=opp.probability,
                        actor=deal.owner,
                        channel=CHANNEL,
                        changed_at=moment,
                    )
                )
                kind = "create" if i == 0 else "update"
                entries.append(self._entry(opp, kind, None if i == 0 else before, moment))
            replays.append((deal, opp, history, entries))
            items += [(opp, line) for line in lines]
        Opportunity.objects.bulk_create([opp for _deal, opp, _h, _e in replays])
        changes: list[StageChange] = []
        audit_rows: list[AuditEntry] = []
        for deal, opp, history, entries in replays:
            deal.opportunity = opp
            for change in history:
                change.opportunity = opp
            for entry in entries:
                entry.object_id = opp.pk
            changes += history
            audit_rows += entries
        StageChange.objects.bulk_create(changes)
        AuditEntry.objects.bulk_create(audit_rows)
        for opp, line in items:
            line.opportunity = opp
        OpportunityLineItem.objects.bulk_create([line for _opp, line in items])
        self._parts([deal for deal, *_rest in replays])

    def _entry(
        self,
        opp: Opportunity,
        kind: str,
        before: dict[str, Any] | None,
        moment: dt.datetime,
        minutes: int = 0,
    ) -> AuditEntry:
        """The audit entry the service writes for a create or a change (`before`)."""
        changes = creation_changes(opp) if before is None else _changes(before, _state(opp))
        entry = audit_entry(obj=opp, kind=kind, actor=opp.owner, channel=CHANNEL, changes=changes)
        entry.created_at = moment + dt.timedelta(minutes=minutes)
        return entry

    def _lines(
        self, deal: _Deal, low: list[Decimal], high: list[Decimal]
    ) -> list[OpportunityLineItem]:
        """Products adding up to about the deal's amount, at the price book's prices."""
        rng = self.rng
        renewal = deal.pipeline.pk != self.first_pipeline
        pool = [p for p, for_renewal in self.products if for_renewal == renewal] or [
            p for p, _r in self.products
        ]
        chosen = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        lines = []
        for n, product in enumerate(chosen, start=1):
            price = self.prices[(product.pk, deal.currency)]
            quantity = Decimal(max(1, int(deal.amount / len(chosen) / price)) if price else 1)
            discount = (
                high[n % len(high)] if deal.high_discount and n == 1 and high else rng.choice(low)
            )
            lines.append(
                OpportunityLineItem(
                    price_book=self.books[deal.currency],
                    product=product,
                    quantity=quantity,
                    list_price=price,
                    discount_percent=discount,
                    net=line_amounts(quantity, price, discount).net,
                    position=n,
                )
            )
        return lines

    def _parts(self, deals: list[_Deal]) -> None:
        """Contact roles, deal teams (who can then read the deal) and competitors."""
        rng = self.rng
        roles = self.contact_roles
        others = [v for k, v in roles.items() if k != "decision-maker"] or list(roles.values())
        contact_roles: list[OpportunityContact] = []
        members: list[OpportunityTeamMember] = []
        competitors: list[Competitor] = []
        for deal in deals:
            opp = deal.opportunity
            assert opp is not None
            for n, contact in enumerate(deal.contacts[: rng.choice([1, 1, 2, 2, 3])]):
                role = roles.get("decision-maker") if n == 0 else None
                if role is None and not others:
                    break
                contact_roles.append(
                    OpportunityContact(
                        opportunity=opp,
                        contact=contact,
                        role=role or rng.choice(others),
                        influence=rng.choice(["high", "medium", "medium", "low"]),
                        attitude=rng.choice(
                            ["champion", "supporter", "supporter", "neutral", "neutral", "skeptic"]
                        ),
                    )
                )
            if rng.random() < 0.2:
                manager = self.manager_of(deal.owner)
                member, job = (
                    (manager, OpportunityTeamMember.Role.SPONSOR)
                    if manager is not None
                    else (self.colleague_of(deal.owner), OpportunityTeamMember.Role.PRESALES)
                )
                if member is not None and member.pk != deal.owner.pk:
                    members.append(OpportunityTeamMember(opportunity=opp, user=member, role=job))
            rival = deal.lost_reason is not None and deal.lost_reason.code == "competitor"
            new_business = deal.pipeline.pk == self.first_pipeline
            if rival or (new_business and rng.random() < 0.25):
                name, strengths, weaknesses = rng.choice(COMPETITORS)
                competitors.append(
                    Competitor(
                        opportunity=opp, name=name, strengths=strengths, weaknesses=weaknesses
                    )
                )
        OpportunityContact.objects.bulk_create(contact_roles)
        OpportunityTeamMember.objects.bulk_create(members)
        Competitor.objects.bulk_create(competitors)
        # Team members read the deal through a share, as `team_member_add` gives them.
        kind = ContentType.objects.get_for_model(Opportunity)
        RecordShare.objects.bulk_create(
            [
                RecordShare(
                    content_type=kind, object_id=m.opportunity.pk, user=m.user, can_edit=False
                )
                for m in members
            ]
        )

    def quotes(self, deals: list[_Deal]) -> None:
        """Each planned quote taken through the quote services to its status: drafts, some in
        review for discounts above the limit, approved, sent (one twice), accepted, rejected."""
        resent = False  # one sent quote went out twice
        for deal in deals:
            if deal.quote is None or deal.opportunity is None:
                continue
            owner = deal.opportunity.owner
            quote = quote_create(
                deal.opportunity, actor=owner, data={"terms": QUOTE_TERMS}, channel=CHANNEL
            )
            status = deal.quote
            if status == "draft":
                quote_line_save(
                    quote,
                    actor=owner,
                    data={
                        "description": "Freight and insurance 运保费",
                        "list_price": max(Decimal(800), (quote.subtotal / 50).quantize(Decimal(1))),
                        "quantity": 1,
                    },
                    channel=CHANNEL,
                )
                continue
            approval = needs_approval(quote)
            if approval:
                quote = quote_submit(
                    quote,
                    actor=owner,
                    channel=CHANNEL,
                    comment="Customer asks for a volume discount. 客户要求批量折扣。",
                )
                if status == "in_review":
                    continue
                people = approvers(quote)
                deciders = [p for p in people if not p.is_workspace_admin] or people
                if not deciders:
                    continue
                quote = quote_approve(
                    quote,
                    actor=deciders[0],
                    channel=CHANNEL,
                    comment="OK for this volume. 该数量可以给此折扣。",
                )
            if status == "approved":
                continue
            quote_send(quote, actor=owner, channel=CHANNEL)
            if status == "sent" and not resent and not approval:
                # The customer asked for one more unit: a second version goes out.
                line = quote.lines.order_by("position").first()
                if line is not None:
                    quote_line_save(
                        quote,
                        actor=owner,
                        line=line,
                        data={"quantity": line.quantity + 1},
                        channel=CHANNEL,
                    )
                    quote_send(quote, actor=owner, channel=CHANNEL)
                    resent = True
            if status == "accepted":
                quote_accept(
                    quote, actor=owner, channel=CHANNEL, note="PO received. 已收到采购订单。"
                )
            elif status == "rejected":
                quote_reject(
                    quote,
                    actor=owner,
                    channel=CHANNEL,
                    note="Went with a cheaper supplier. 选择了更便宜的供应商。",
                )

    def activities(self, deals: list[_Deal], per_day: int) -> None:
        """Each sales person's week around today, fewer at weekends: what is past mostly done
        with its outcome (a few overdue), what is to come with reminders."""
        rng = self.rng
        open_deals: dict[int, list[_Deal]] = defaultdict(list)
        for deal in deals:
            if not deal.final.is_closed and deal.opportunity is not None:
                open_deals[deal.owner.pk].append(deal)
        accounts: dict[int, list[Account]] = defaultdict(list)
        for account in Account.objects.filter(owner__in=self.sales).order_by("pk"):
            accounts[account.owner_id].append(account)
        contacts: dict[int, list[Contact]] = defaultdict(list)
        for contact in Contact.objects.filter(account__owner__in=self.sales).order_by("pk"):
            contacts[contact.account_id].append(contact)  # type: ignore[index]
        # The workspace admin (the first person to sign in to the demo) looks after the
        # accounts at the top of the list, so their calendar is not empty either.
        sales_ids = {u.pk for u in self.sales}
        admins = [
            u
            for u in User.objects.filter(is_workspace_admin=True, is_active=True).order_by("pk")
            if u.pk not in sales_ids
        ]
        top = list(Account.objects.order_by("name", "pk")[:12])
        for admin in admins:
            accounts[admin.pk] = top
        for account in top:
            contacts.setdefault(account.pk, list(account.contacts.order_by("pk")))
        people = [*self.sales, *admins]
        for offset in range(-3, 4):
            day = self.today + dt.timedelta(days=offset)
            weekend = day.weekday() >= 5
            for n, user in enumerate(people):
                if weekend:
                    count = 1 if (n + offset) % 2 == 0 or len(people) == 1 else 0
                else:
                    count = rng.randint(per_day, per_day + 1)
                for _ in range(count):
                    self._activity(user, day, open_deals[user.pk], accounts[user.pk], contacts)
        for activity, moment, outcome in self.to_complete:
            with self.story.at(moment):
                activity_complete(
                    activity,
                    actor=activity.owner,
                    outcome=outcome,
                    done_at=moment,
                    channel=CHANNEL,
                )

    def _activity(
        self,
        user: User,
        day: dt.date,
        deals: list[_Deal],
        accounts: list[Account],
        contacts: dict[int, list[Contact]],
    ) -> None:
        rng = self.rng
        start = self.work_moment(day, user)
        past = start < self.now
        kind = self.draw_kind(past)
        data: dict[str, Any] = {"kind": kind, "owner": user}
        if deals and (not accounts or rng.random() < 0.6):
            deal = rng.choice(deals)
            assert deal.opportunity is not None
            data["opportunity"] = deal.opportunity
            account = deal.account
            people = deal.contacts
        elif accounts:
            account = rng.choice(accounts)
            data["account"] = account
            people = contacts.get(account.pk, [])
        else:
            return
        contact = rng.choice(people) if people else None
        if contact is not None:
            data["contact"] = contact
        chinese = _is_chinese(account.name)
        data["subject"] = _text(rng.choice(ACTIVITY_TEXT[kind]), chinese)
        if kind in ("call", "meeting", "visit"):
            data["start_at"] = start
            data["duration"] = {"call": 15, "meeting": 60, "visit": 90}[kind] + rng.choice(
                [0, 0, 15, 30]
            )
            if kind != "call":
                data["location"] = account.city or ("客户办公室" if chinese else "Customer office")
            if kind == "meeting" and rng.random() < 0.4:
                manager = self.manager_of(user)
                data["participants"] = [manager] if manager is not None else []
                data["contact_participants"] = [contact] if contact is not None else []
        elif kind == "task":
            data["due_at"] = _at(day, rng.choice([12, 17]), 0, user)
            data["priority"] = rng.choice(["high", "normal", "normal", "low"])
        else:
            data["start_at"] = start
        if not past and kind != "note":
            data["remind_minutes_before"] = rng.choice([15, 15, 30, 60, 24 * 60])
        created = self.before_now(start - dt.timedelta(days=rng.randint(0, 4), hours=2))
        if not past:
            created = self.now - dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 5))
        with self.story.at(created):
            activity = activity_create(actor=user, data=data, channel=CHANNEL)
        # Most of what is past was done (and its outcome noted); a few are overdue.
        moment = activity.end_at or activity.due_at
        done_share = 0.85 if kind != "task" else 0.7
        if (
            moment is not None
            and moment < self.now
            and kind in OUTCOMES
            and rng.random() < done_share
        ):
            outcome = _text(rng.choice(OUTCOMES[kind]), chinese) if kind != "email" else ""
            self.to_complete.append((activity, moment, outcome))

    def quotas(self) -> None:
        """This and next quarter's quotas per person (and team: its members' sum), and this and
        next month's, sized on what each person has won and has in the works this quarter."""
        this_q = _quarter_start(self.today)
        next_q = _quarter_start(self.today, 1)
        in_quarter = Q(close_date__gte=this_q, close_date__lt=next_q)
        figures: dict[int, dict[str, Any]] = {
            row["owner_id"]: dict(row)
            for row in Opportunity.objects.filter(in_quarter)
            .values("owner_id")
            .annotate(
                won=Sum("amount_base", filter=Q(stage__outcome=Stage.Outcome.WON)),
                likely=Sum(
                    "amount_base",
                    filter=Q(
                        stage__outcome=Stage.Outcome.OPEN,
                        forecast_category__in=[ForecastCategory.COMMIT, ForecastCategory.BEST_CASE],
                    ),
                ),
            )
        }
        step = Decimal(50) * THOUSAND
        cells: dict[str, QuotaChange] = {}
        by_user: dict[int, Decimal] = {}
        for user in self.sales:
            got = figures.get(user.pk, {})
            expected = (got.get("won") or 0) + (got.get("likely") or 0) * Decimal("0.7")
            factor = Decimal(str(round(self.rng.uniform(1.1, 1.6), 2)))
            quota = max(Decimal(300) * THOUSAND, _round_to(expected * factor, step))
            following = _round_to(quota * Decimal(str(round(self.rng.uniform(1.0, 1.2), 2))), step)
            by_user[user.pk] = quota
            for start, amount in ((this_q, quota), (next_q, following)):
                cells[f"user-{user.pk}-{start:%Y-%m}"] = QuotaChange(
                    PeriodKind.QUARTER, start, amount, user=user
                )
            month = self.today.replace(day=1)
            next_month = (month + dt.timedelta(days=32)).replace(day=1)
            for start in (month, next_month):
                cells[f"user-{user.pk}-m-{start:%Y-%m}"] = QuotaChange(
                    PeriodKind.MONTH, start, _round_to(quota / 3, Decimal(10) * THOUSAND), user=user
                )
        for team in self.teams:
            members = [by_user[m.pk] for m in team.members.all() if m.pk in by_user]
            if members:
                total = sum(members, Decimal(0))
                for start, amount in (
                    (this_q, total),
                    (next_q, _round_to(total * Decimal("1.1"), step)),
                ):
                    cells[f"team-{team.pk}-{start:%Y-%m}"] = QuotaChange(
                        PeriodKind.QUARTER, start, amount, team=team
                    )
        with self.story.at(self.before_now(_at(this_q, 9, 0, self.admin))):
            quotas_save(actor=self.admin, cells=cells, channel=CHANNEL)


def seed_sales_demo(
    *,
    seed: int = 2026,
    today: dt.date | None = None,
    opportunities: int = DEFAULT_OPPORTUNITIES,
) -> bool:
    """Fill the sales side of the current (demo) workspace once, around its accounts and sales
    people; returns False if it has sales data already. `opportunities` sets the size (quotes
    and activities follow it)."""
    if sales_demo_seeded():
        return False
    today = today or timezone.localdate()
    with transaction.atomic():
        # Rows after these primary keys are the demo's.
        last = {
            model: model._default_manager.aggregate(last=Max("pk"))["last"] or 0
            for model in (Activity, AuditEntry, Notification)
        }
        seeder = _Seeder(seed=seed, today=today, opportunities=opportunities)
        seeder.currencies()
        seeder.catalogue()
        deals = seeder.plan_deals()
        seeder.write_deals(deals)
        seeder.quotes(deals)
        seeder.activities(deals, per_day=max(1, round(3 * opportunities / DEFAULT_OPPORTUNITIES)))
        seeder.quotas()
        story = seeder.story
        story.retell(Activity.objects.filter(pk__gt=last[Activity]), "created_at")
        story.retell(Quota.objects.all(), "updated_at")
        story.retell(AuditEntry.objects.filter(pk__gt=last[AuditEntry]), "created_at")
        # Nobody is emailed about made-up events (the approval requests and decisions of the
        # demo's quotes): they stay in the app, and the queued email tasks find nothing to send.
        Notification.objects.filter(pk__gt=last[Notification]).update(email_wanted=False)
    return True
