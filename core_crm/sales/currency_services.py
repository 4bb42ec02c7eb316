"""Settings → Sales: the base currency, the other currencies with their rates, and the quote
defaults (discount limit, tax rate, validity). Workspace admins only; each change one
transaction with an audit entry.

Rates and stored base amounts: every opportunity keeps `amount_base`, its amount in the base
currency, so totals and forecasts are sums without conversions. When a rate changes, the base
amounts of the OPEN opportunities in that currency are recomputed at the new rate in one
UPDATE; won and lost opportunities keep the base amount of the rate they closed at, so last
quarter's results do not move with today's exchange rate.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Round
from django.utils.translation import gettext as _

from core_crm.access.policy import require_workspace_admin
from core_crm.audit.models import AuditEntry, Channel
from core_crm.audit.services import audit
from core_crm.users.models import User
from core_crm.workspace.models import WorkspaceSettings, workspace_settings

from .models import Currency, Opportunity, Stage

CODE = re.compile(r"^[A-Z]{3}$")
MAX_RATE = Decimal("10000000000")  # 10 digits before the point (max_digits 18, 8 places)


def _require_admin(actor: User) -> None:
    require_workspace_admin(actor, _("Only a workspace admin can change currencies and rates."))


def _clean_code(value: Any) -> str:
    code = str(value or "").strip().upper()
    if not CODE.match(code):
        raise ValidationError(
            {"code": [_("Enter a three-letter ISO 4217 currency code, such as USD or EUR.")]}
        )
    return code


def _clean_rate(value: Any) -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        rate = Decimal(-1)
    if not rate.is_finite() or rate <= 0 or rate >= MAX_RATE:
        raise ValidationError({"rate_to_base": [_("Enter a positive number, such as 7.1.")]})
    if rate != rate.quantize(Decimal("0.00000001")):
        raise ValidationError(
            {"rate_to_base": [_("A rate has at most 8 digits after the decimal point.")]}
        )
    return rate


def _recompute_open(code: str, rate: Decimal) -> int:
    """Base amounts of the open opportunities in `code` at `rate`, in one UPDATE (PostgreSQL
    rounds numeric halves away from zero, like `to_base`)."""
    return Opportunity.objects.filter(currency=code, stage__outcome=Stage.Outcome.OPEN).update(
        amount_base=Round(
            F("amount") * Value(rate, output_field=DecimalField(max_digits=18, decimal_places=8)),
            2,
        )
    )


def currency_create(
    *, actor: User, code: Any, rate_to_base: Any, channel: str = Channel.WEB
) -> Currency:
    """Add a currency opportunities and quotes can be in, with the value of one unit in the
    base currency."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    code_value = rate = None
    try:
        code_value = _clean_code(code)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        rate = _clean_rate(rate_to_base)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if code_value and code_value == workspace_settings().base_currency:
        errors["code"] = [
            _("%(code)s is the base currency: its rate is always 1.") % {"code": code_value}
        ]
    if errors:
        raise ValidationError(errors)
    assert code_value is not None and rate is not None
    with transaction.atomic():
        existing = Currency.objects.select_for_update().filter(code=code_value).first()
        if existing is not None:
            raise ValidationError(
                {
                    "code": [
                        _("%(code)s is already in the list; change its rate there.")
                        % {"code": code_value}
                        if existing.is_active
                        else _("%(code)s is in the list, deactivated: reactivate it instead.")
                        % {"code": code_value}
                    ]
                }
            )
        currency = Currency.objects.create(code=code_value, rate_to_base=rate)
        audit(
            obj=currency,
            kind=AuditEntry.Kind.CREATE,
            actor=actor,
            channel=channel,
            changes={"code": [None, code_value], "rate_to_base": [None, str(rate)]},
        )
    return currency


def currency_set_rate(
    *, actor: User, currency: Currency, rate_to_base: Any, channel: str = Channel.WEB
) -> int:
    """Change a currency's rate to the base currency and recompute the base amounts of the open
    opportunities in it (closed ones keep the rate they closed at). Returns how many open
    opportunities were recomputed."""
    _require_admin(actor)
    rate = _clean_rate(rate_to_base)
    with transaction.atomic():
        currency = Currency.objects.select_for_update().get(pk=currency.pk)
        if currency.rate_to_base == rate:
            return 0
        before = currency.rate_to_base
        currency.rate_to_base = rate
        currency.save(update_fields=["rate_to_base", "updated_at"])
        recomputed = _recompute_open(currency.code, rate)
        audit(
            obj=currency,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={
                "rate_to_base": [str(before), str(rate)],
                "open_opportunities_recomputed": recomputed,
            },
        )
    return recomputed


def currency_set_active(
    *, actor: User, currency: Currency, active: bool, channel: str = Channel.WEB
) -> Currency:
    """Offer a currency again, or stop offering it. A currency that open opportunities are in
    stays active (their base amounts need its rate); closed ones keep their amounts."""
    _require_admin(actor)
    with transaction.atomic():
        currency = Currency.objects.select_for_update().get(pk=currency.pk)
        if currency.is_active == active:
            return currency
        if not active:
            in_use = Opportunity.objects.filter(
                currency=currency.code, stage__outcome=Stage.Outcome.OPEN
            ).count()
            if in_use:
                raise ValidationError(
                    {
                        "currency": [
                            _(
                                "%(n)d open opportunities are in %(code)s, so it stays active. "
                                "Close them or change their currency first."
                            )
                            % {"n": in_use, "code": currency.code}
                        ]
                    }
                )
        currency.is_active = active
        currency.save(update_fields=["is_active", "updated_at"])
        audit(
            obj=currency,
            kind=AuditEntry.Kind.UPDATE,
            actor=actor,
            channel=channel,
            changes={"is_active": [not active, active]},
        )
    return currency


# --- Sales settings ---------------------------------------------------------------------------

SETTING_FIELDS = [
    "base_currency",
    "quote_discount_limit",
    "default_tax_rate",
    "quote_validity_days",
]


def _percent(value: Any, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal(-1)
    if not number.is_finite() or not 0 <= number <= 100:
        errors[name] = [_("Enter a percentage from 0 to 100.")]
        return None
    if number != number.quantize(Decimal("0.01")):
        errors[name] = [_("At most 2 digits after the decimal point.")]
        return None
    return number.quantize(Decimal("0.01"))


def sales_settings_update(
    *, actor: User, data: dict[str, Any], channel: str = Channel.WEB
) -> WorkspaceSettings:
    """Change the base currency and the quote defaults; fields left out keep their value.

    The base currency changes only while the workspace has no opportunities (their stored base
    amounts, closed ones included, would otherwise mean another currency). When the new base
    currency is in the currency list, every rate is converted through it and the old base
    currency joins the list; when other currencies exist and the new one is not among them,
    the change is refused until it is added with its rate."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        settings = WorkspaceSettings.objects.select_for_update().get(pk=workspace_settings().pk)
        values: dict[str, Any] = {}
        if "quote_discount_limit" in data:
            values["quote_discount_limit"] = _percent(
                data["quote_discount_limit"], "quote_discount_limit", errors
            )
        if "default_tax_rate" in data:
            values["default_tax_rate"] = _percent(
                data["default_tax_rate"], "default_tax_rate", errors
            )
        if "quote_validity_days" in data:
            try:
                days = int(str(data["quote_validity_days"]).strip())
            except (TypeError, ValueError):
                days = -1
            if not 1 <= days <= 365:
                errors["quote_validity_days"] = [_("Enter a number of days from 1 to 365.")]
            values["quote_validity_days"] = days
        new_base = settings.base_currency
        if "base_currency" in data:
            try:
                new_base = _clean_code(data["base_currency"])
            except ValidationError as exc:
                errors["base_currency"] = exc.message_dict["code"]
        if new_base != settings.base_currency and "base_currency" not in errors:
            problem = _base_change_problem(settings.base_currency, new_base)
            if problem:
                errors["base_currency"] = [problem]
        if errors:
            raise ValidationError(errors)
        if new_base != settings.base_currency:
            _rebase(settings.base_currency, new_base)
            values["base_currency"] = new_base
        changes = {
            k: [str(getattr(settings, k)), str(v)]
            for k, v in values.items()
            if getattr(settings, k) != v
        }
        if changes:
            for k in changes:
                setattr(settings, k, values[k])
            settings.save(update_fields=list(changes))
            audit(
                obj=settings,
                kind=AuditEntry.Kind.UPDATE,
                actor=actor,
                channel=channel,
                changes=changes,
            )
    return settings


def base_currency_locked() -> int:
    """How many opportunities keep the base currency from changing (0: it may change)."""
    return Opportunity.objects.count()


def _base_change_problem(old: str, new: str) -> str:
    n = base_currency_locked()
    if n:
        return _(
            "The base currency stays %(code)s: %(n)d opportunities have amounts stored in it, "
            "and won deals keep the amount they closed at. It can change only before the first "
            "opportunity is entered."
        ) % {"code": old, "n": n}
    others = Currency.objects.exclude(code=new)
    if others.exists() and not Currency.objects.filter(code=new).exists():
        return _(
            "Add %(new)s to the currencies below with its rate first, so the other rates can "
            "be converted to it."
        ) % {"new": new}
    return ""


def _rebase(old: str, new: str) -> None:
    """Every rate re-expressed in `new`; the old base joins the list at its rate in `new`."""
    pivot = Currency.objects.select_for_update().filter(code=new).first()
    if pivot is None:
        return
    through = pivot.rate_to_base  # value of one `new` in `old`
    quantum = Decimal("0.00000001")
    for currency in Currency.objects.select_for_update().exclude(pk=pivot.pk):
        currency.rate_to_base = max((currency.rate_to_base / through).quantize(quantum), quantum)
        currency.save(update_fields=["rate_to_base", "updated_at"])
    pivot.delete()
    Currency.objects.update_or_create(
        code=old,
        defaults={"rate_to_base": max((Decimal(1) / through).quantize(quantum), quantum)},
    )


# --- Demo data --------------------------------------------------------------------------------

DEMO_RATES = {"USD": "7.12", "EUR": "7.75", "HKD": "0.91", "JPY": "0.048"}


def seed_demo(*, actor: User) -> list[Currency]:
    """Currencies a China-based exporter sells in, with realistic rates to CNY (call inside the
    demo workspace's tenant context, before its opportunities are made). Idempotent."""
    made = []
    base = workspace_settings().base_currency
    for code, rate in DEMO_RATES.items():
        if code == base:
            continue
        currency = Currency.objects.filter(code=code).first()
        if currency is None:
            currency = currency_create(
                actor=actor, code=code, rate_to_base=rate, channel=Channel.SYSTEM
            )
        made.append(currency)
    return made
