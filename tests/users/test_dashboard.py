"""The dashboard shows a person their own open pipeline, what closes this month, their day and
what waits for approval, within record security, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.activities import services as activities
from core_crm.customers.models import Account

from ..quotes.conftest import catalogue, manager, other_rep, quote_with  # noqa: F401
from ..sales.factories import make_opportunity


def card(html: str, testid: str) -> str:
    block = html.split(f'data-testid="{testid}"', 1)[1].split("</a>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))


def test_my_figures_and_my_day(alpha, rep, admin, rep_client):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    with tenant_context(alpha):
        account = Account.objects.create(name="Tea House", owner=rep)
        make_opportunity(rep, account=account, name="A", amount=1000, close_date=today)
        make_opportunity(rep, account=account, name="B", amount=3000, stage_key="proposal")
        make_opportunity(rep, account=account, name="Won", amount=9000, stage_key="won")
        make_opportunity(admin, name="Not mine", amount=50000)
        activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "call",
                "subject": "Call the tea buyer",
                "account": account,
                "start_at": timezone.now() - dt.timedelta(days=1),
            },
        )
        activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "visit",
                "subject": "Visit next week",
                "account": account,
                "start_at": timezone.now() + dt.timedelta(days=7),
            },
        )
        activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "note",
                "subject": "Buyer prefers oolong",
                "account": account,
                "start_at": timezone.now() - dt.timedelta(hours=2),
            },
        )
    html = rep_client.get("/").content.decode()
    assert "Buyer prefers oolong" not in html  # a note is a record, not a to-do
    pipeline = card(html, "my-pipeline")
    assert "4,000 CNY" in pipeline and "2 deals" in pipeline and "weighted 1,600" in pipeline
    assert "1,000 CNY" in card(html, "closing-this-month")
    agenda = html.split('data-testid="my-agenda"', 1)[1]
    assert "Call the tea buyer" in agenda and "Visit next week" not in agenda
    assert "1 overdue" in card(html, "my-agenda-count")
    assert "Not mine" not in html and "50,000" not in html


def test_a_manager_sees_quotes_to_approve(alpha, rep, manager, catalogue):  # type: ignore[no-untyped-def]  # noqa: F811
    from core_crm.quotes import services

    from ..customfields.helpers import client_for

    with tenant_context(alpha):
        quote = quote_with(rep, catalogue, discount="40")
        services.quote_submit(quote, actor=rep, channel="web")
    html = client_for(alpha, manager.email).get("/").content.decode()
    assert "Quotes to approve" in card(html, "quotes-waiting")
    assert " 1 " in card(html, "quotes-waiting")


def test_dashboard_queries_do_not_grow(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get("/").status_code == 200
        return len(ctx.captured_queries)

    with tenant_context(alpha):
        account = Account.objects.create(name="Busy", owner=rep)
    count()
    few = count()
    with tenant_context(alpha):
        for i in range(12):
            make_opportunity(rep, account=account, name=f"D{i}")
            activities.activity_create(
                actor=rep,
                channel="web",
                data={
                    "kind": "task",
                    "subject": f"T{i}",
                    "account": account,
                    "due_at": timezone.now(),
                },
            )
    assert count() == few


def test_dashboard_and_profile_speak_chinese(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    from django.utils import translation

    rep_client.cookies["django_language"] = "zh-hans"
    home = rep_client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    profile = rep_client.get("/settings/profile/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    translation.activate("en")
    assert "我的在途商机" in home and "今日待办" in home and "我的今天" in home
    assert "个人资料与时区" in home and "时区" in profile


def test_overdue_counts_every_overdue_activity_not_only_those_listed(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        account = Account.objects.create(name="Many Co", owner=rep)
        for i in range(11):  # more than the ten the agenda lists
            activities.activity_create(
                actor=rep,
                channel="web",
                data={
                    "kind": "meeting",
                    "subject": f"Meeting {i}",
                    "account": account,
                    "start_at": timezone.now() + dt.timedelta(minutes=1),
                },
            )
        activities.activity_create(
            actor=rep,
            channel="web",
            data={
                "kind": "task",
                "subject": "Old task",
                "account": account,
                "due_at": timezone.now() - dt.timedelta(days=2),
            },
        )
    html = rep_client.get("/").content.decode()
    assert "1 overdue" in card(html, "my-agenda-count")
