"""Quotas: who sets them on /forecast/quotas/ (and through `quotas_save`), all-or-nothing
saving with errors named by cell, and the quotas the forecast's attainment then uses.

The `book` fixture (see conftest.py) starts with: Ann Q1 2030 40,000; Ben months Jan 5,000,
Feb 5,000, Mar 4,000; Cai Q1 30,000; team North Q1 60,000; team South none. Q1 closed won:
Ann 10,000, Ben 3,500 (500 USD x 7), Cai 20,000.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.forecast import services
from core_crm.forecast.models import Quota

from ..customfields.helpers import client_for

D = Decimal
Q1, Q2 = dt.date(2030, 1, 1), dt.date(2030, 4, 1)


def cell(who, start: dt.date) -> str:  # type: ignore[no-untyped-def]
    """The grid's field name of a person's (u) or team's (t) quota for the period at `start`."""
    prefix = "t" if who.__class__.__name__ == "Team" else "u"
    return f"{prefix}{who.pk}-{start:%Y-%m-%d}"


def grid_rows(page: str) -> list[str]:
    return re.findall(r'data-testid="quota-row">\s*<th scope="row"[^>]*>([^<]+)</th>', page)


def grid_row(page: str, name: str) -> str:
    """The cells of the grid's row of `name`."""
    return re.split(rf'<th scope="row"[^>]*>{re.escape(name)}</th>', page)[1].split("</tr>")[0]


def quotas(alpha) -> dict[tuple[str, str, dt.date], Decimal]:  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        return {
            (str(q.user or q.team), q.period_kind, q.period_start): q.amount
            for q in Quota.objects.select_related("user", "team")
        }


BOOK_QUOTAS = {
    ("Ann Rep", "quarter", Q1): D("40000.00"),
    ("Ben Rep", "month", dt.date(2030, 1, 1)): D("5000.00"),
    ("Ben Rep", "month", dt.date(2030, 2, 1)): D("5000.00"),
    ("Ben Rep", "month", dt.date(2030, 3, 1)): D("4000.00"),
    ("Cai Rep", "quarter", Q1): D("30000.00"),
    ("North", "quarter", Q1): D("60000.00"),
}


def row_of(page: str, name: str) -> str:
    return re.sub(r"\s+", " ", page.split(f'data-name="{name}"')[1].split("</tr>")[0])


def test_admin_sets_quotas_per_quarter_and_month_and_attainment_follows(
    alpha, admin, book, admin_client
):
    assert quotas(alpha) == BOOK_QUOTAS
    ann, ben, cai, south = book["ann"], book["ben"], book["cai"], book["south"]
    page = admin_client.get("/forecast/quotas/?kind=quarter&year=2030").content.decode()
    assert {"Ann Rep", "Ben Rep", "Cai Rep", "Mia Manager", "North", "South"} <= set(
        grid_rows(page)
    )
    assert f'name="{cell(ann, Q1)}" value="40000.00"' in page
    assert f'name="{cell(south, Q1)}" value=""' in page
    assert 'data-testid="save-quotas"' in page

    saved = admin_client.post(
        "/forecast/quotas/",
        {
            "kind": "quarter",
            "year": "2030",
            cell(ann, Q1): "25000",
            cell(cai, Q2): "35,000.50",
            cell(south, Q1): "50000",
            cell(ben, Q1): "",  # no quarter quota before, none after: unchanged
        },
        follow=True,
    )
    assert saved.redirect_chain == [("/forecast/quotas/?kind=quarter&year=2030", 302)]
    assert "Quotas saved (3 changed)." in saved.content.decode()
    with tenant_context(alpha):
        anns = Quota.objects.get(user=ann, period_kind="quarter", period_start=Q1)
        entry = AuditEntry.objects.get(
            content_type__model="quota", object_id=anns.pk, kind=AuditEntry.Kind.UPDATE
        )
        assert entry.actor_id == admin.pk and entry.channel == "web"
        assert entry.changes == {"amount": ["40000.00", "25000"]}

    admin_client.post(
        "/forecast/quotas/",
        {
            "kind": "month",
            "year": "2030",
            cell(ben, dt.date(2030, 1, 1)): "6000",
            cell(ben, dt.date(2030, 3, 1)): "",  # removes March's 4,000
        },
    )
    assert quotas(alpha) == {
        ("Ann Rep", "quarter", Q1): D("25000.00"),
        ("Ben Rep", "month", dt.date(2030, 1, 1)): D("6000.00"),
        ("Ben Rep", "month", dt.date(2030, 2, 1)): D("5000.00"),
        ("Cai Rep", "quarter", Q1): D("30000.00"),
        ("Cai Rep", "quarter", Q2): D("35000.50"),
        ("North", "quarter", Q1): D("60000.00"),
        ("South", "quarter", Q1): D("50000.00"),
    }
    month_page = admin_client.get("/forecast/quotas/?kind=month&year=2030").content.decode()
    assert f'name="{cell(ben, dt.date(2030, 1, 1))}" value="6000.00"' in month_page
    assert f'name="{cell(ben, dt.date(2030, 3, 1))}" value=""' in month_page
    assert "11,000.00" in grid_row(month_page, "Ben Rep")  # the year: 6,000 + 5,000
    quarter_page = admin_client.get("/forecast/quotas/?kind=quarter&year=2030").content.decode()
    assert "65,000.50" in grid_row(quarter_page, "Cai Rep")  # 30,000 + 35,000.50

    forecast = admin_client.get("/forecast/?period=2030-Q1&scope=all").content.decode()
    # Ann: 10,000 won of 25,000 = 40.0 %.
    assert "25,000.00" in row_of(forecast, "Ann Rep") and "40.0 %" in row_of(forecast, "Ann Rep")
    # Ben: no quarter quota, months 6,000 + 5,000 = 11,000; 3,500 won = 31.8 %.
    assert "11,000.00" in row_of(forecast, "Ben Rep") and "31.8 %" in row_of(forecast, "Ben Rep")
    # Cai: Q1 unchanged 30,000 (the new quota is Q2's); 20,000 won = 66.7 %.
    assert "30,000.00" in row_of(forecast, "Cai Rep") and "66.7 %" in row_of(forecast, "Cai Rep")
    # South: its own quota 50,000 now; Cai's 20,000 won = 40.0 %.
    assert "50,000.00" in row_of(forecast, "South") and "40.0 %" in row_of(forecast, "South")
    # North keeps 60,000; 13,500 won = 22.5 %.
    assert "60,000.00" in row_of(forecast, "North") and "22.5 %" in row_of(forecast, "North")
    # Total of the people's quotas 25,000 + 11,000 + 30,000 = 66,000; 33,500 won = 50.8 %.
    total = re.sub(r"\s+", " ", forecast.split('data-testid="total-row"')[1].split("</tr>")[0])
    assert "66,000.00" in total and "33,500.00" in total and "50.8 %" in total
    # Q2: Cai's 35,000.50 and nothing won yet = 0.0 %.
    q2 = admin_client.get("/forecast/?period=2030-Q2&scope=all").content.decode()
    assert "35,000.50" in row_of(q2, "Cai Rep") and "0.0 %" in row_of(q2, "Cai Rep")


def test_a_manager_sets_the_quotas_of_their_team_only(alpha, book):
    ann, ben, cai = book["ann"], book["ben"], book["cai"]
    north, south, mia = book["north"], book["south"], book["mia"]
    client = client_for(alpha, "mia@book.test")
    page = client.get("/forecast/quotas/?kind=quarter&year=2030").content.decode()
    assert grid_rows(page) == ["Ann Rep", "Ben Rep", "North"]
    assert cell(cai, Q1) not in page and cell(south, Q1) not in page

    response = client.post(
        "/forecast/quotas/",
        {
            "kind": "quarter",
            "year": "2030",
            cell(ann, Q2): "42000",
            cell(north, Q2): "70000",
            cell(cai, Q2): "99999",  # not in the manager's grid: never read
            cell(south, Q2): "99999",
        },
    )
    assert response.status_code == 302
    got = quotas(alpha)
    assert got[("Ann Rep", "quarter", Q2)] == D("42000.00")
    assert got[("North", "quarter", Q2)] == D("70000.00")
    assert ("Cai Rep", "quarter", Q2) not in got and ("South", "quarter", Q2) not in got

    # Through the service: a cell outside the team refuses the whole batch, named.
    with tenant_context(alpha):
        cells = {
            cell(ben, Q2): services.QuotaChange("quarter", Q2, D("1000"), user=ben),
            cell(cai, Q2): services.QuotaChange("quarter", Q2, D("1"), user=cai),
            cell(mia, Q2): services.QuotaChange("quarter", Q2, D("2"), user=mia),
        }
        with pytest.raises(ValidationError) as exc:
            services.quotas_save(actor=mia, cells=cells, channel="web")
        assert set(exc.value.message_dict) == {cell(cai, Q2), cell(mia, Q2)}
        assert "You cannot set the quota of Cai Rep." in exc.value.message_dict[cell(cai, Q2)][0]
        with pytest.raises(PermissionDenied):
            services.quota_set(
                actor=mia,
                period_kind="quarter",
                period_start=Q2,
                amount="5",
                team=south,
                channel="web",
            )
    got = quotas(alpha)
    assert ("Ben Rep", "quarter", Q2) not in got and ("South", "quarter", Q2) not in got
    assert ("Mia Manager", "quarter", Q2) not in got


def test_a_rep_reads_their_own_quotas_and_may_not_post(alpha, book):
    ann = book["ann"]
    client = client_for(alpha, "ann@book.test")
    response = client.get("/forecast/quotas/?kind=quarter&year=2030")
    assert response.status_code == 200
    page = response.content.decode()
    assert grid_rows(page) == ["Ann Rep", "North"]
    assert '<input type="text"' not in page and 'data-testid="save-quotas"' not in page
    assert "40000.00" in page and "60000.00" in page
    assert "Set quotas" not in client.get("/forecast/?period=2030-Q1").content.decode()

    refused = client.post(
        "/forecast/quotas/", {"kind": "quarter", "year": "2030", cell(ann, Q1): "1"}
    )
    assert refused.status_code == 403
    assert quotas(alpha) == BOOK_QUOTAS
    with tenant_context(alpha), pytest.raises(PermissionDenied):
        services.quota_set(
            actor=ann,
            period_kind="quarter",
            period_start=Q1,
            amount="1",
            user=ann,
            channel="web",
        )
    assert quotas(alpha) == BOOK_QUOTAS


def test_invalid_amounts_name_their_cell_and_nothing_is_saved(alpha, admin, book, admin_client):
    ann, ben, cai, north = book["ann"], book["ben"], book["cai"], book["north"]
    bad = {
        cell(ben, Q2): ("lots", "Enter a number, e.g. 250000."),
        cell(cai, Q1): ("-5", "A quota cannot be negative."),
        cell(north, Q1): ("1.234", "Use at most two decimals."),
    }
    response = admin_client.post(
        "/forecast/quotas/",
        {
            "kind": "quarter",
            "year": "2030",
            cell(ann, Q1): "45000",  # valid, but the grid saves all or nothing
            **{name: raw for name, (raw, _msg) in bad.items()},
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    for name, (raw, message) in bad.items():
        assert f'<li id="{name}-error">{message}</li>' in page
        assert re.search(
            rf'name="{name}" value="{re.escape(raw)}"[^>]*aria-invalid="true"', page
        ), name
    # Each message also stands under its input, in the row of the person or team.
    assert bad[cell(ben, Q2)][1] in grid_row(page, "Ben Rep")
    assert bad[cell(cai, Q1)][1] in grid_row(page, "Cai Rep")
    assert bad[cell(north, Q1)][1] in grid_row(page, "North")
    assert "aria-invalid" not in grid_row(page, "Ann Rep")
    assert f'name="{cell(ann, Q1)}" value="45000"' in page  # what was typed stays
    assert quotas(alpha) == BOOK_QUOTAS
