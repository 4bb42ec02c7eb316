"""Forecast periods: calendar months and quarters, named in URLs as 2026-05 or 2026-Q2 (or
relative to today: this-month, next-month, this-quarter, next-quarter)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import PeriodKind

RELATIVE = {
    "this-month": gettext_lazy("This month"),
    "next-month": gettext_lazy("Next month"),
    "this-quarter": gettext_lazy("This quarter"),
    "next-quarter": gettext_lazy("Next quarter"),
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # PeriodKind
    start: dt.date
    end: dt.date  # exclusive

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return _("Q%(q)d %(year)d") % {
                "q": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        return f"{self.start:%Y-%m}"

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def months(self) -> list[dt.date]:
        """First days of the months in the period."""
        out, day = [], self.start
        while day < self.end:
            out.append(day)
            day = _add_months(day, 1)
        return out

    def shifted(self, steps: int) -> Period:
        size = 3 if self.kind == PeriodKind.QUARTER else 1
        start = _add_months(self.start, steps * size)
        return Period(self.kind, start, _add_months(start, size))


def month(day: dt.date) -> Period:
    start = day.replace(day=1)
    return Period(PeriodKind.MONTH, start, _add_months(start, 1))


def quarter(day: dt.date) -> Period:
    start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return Period(PeriodKind.QUARTER, start, _add_months(start, 3))


def parse_period(value: str | None, *, today: dt.date | None = None) -> Period:
    """The period named by `value` (default: this quarter); ValidationError naming `period`
    when it is not one."""
    today = today or timezone.localdate()
    value = (value or "this-quarter").strip()
    relative = {
        "this-month": lambda: month(today),
        "next-month": lambda: month(today).shifted(1),
        "this-quarter": lambda: quarter(today),
        "next-quarter": lambda: quarter(today).shifted(1),
    }
    if value in relative:
        return relative[value]()
    if m := _MONTH.match(value):
        year, mon = int(m.group(1)), int(m.group(2))
        if 1 <= mon <= 12 and 2000 <= year <= 2100:
            return month(dt.date(year, mon, 1))
    if m := _QUARTER.match(value):
        year, q = int(m.group(1)), int(m.group(2))
        if 2000 <= year <= 2100:
            return quarter(dt.date(year, q * 3 - 2, 1))
    raise ValidationError(
        {
            "period": [
                _(
                    "“%(value)s” is not a period. Use a month like 2026-05, a quarter like "
                    "2026-Q2, or this-month, next-month, this-quarter, next-quarter."
                )
                % {"value": value}
            ]
        }
    )


def period_choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """Periods offered in the forecast's period menu: the relative ones, then the quarters and
    months of last, this and next year."""
    today = today or timezone.localdate()
    choices: list[tuple[str, str]] = [(k, str(v)) for k, v in RELATIVE.items()]
    for year in (today.year - 1, today.year, today.year + 1):
        for q in range(1, 5):
            p = quarter(dt.date(year, q * 3 - 2, 1))
            choices.append((p.key, p.label))
    for year in (today.year - 1, today.year, today.year + 1):
        for mon in range(1, 13):
            p = month(dt.date(year, mon, 1))
            choices.append((p.key, p.label))
    return choices
