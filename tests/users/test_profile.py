"""Settings → Profile: a person sets their name, language and time zone; times on pages then
show in that zone."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.users.models import User


def test_profile_saves_language_and_time_zone_and_pages_follow(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    page = rep_client.get("/settings/profile/")
    assert page.status_code == 200 and "Asia/Shanghai" in page.content.decode()
    response = rep_client.post(
        "/settings/profile/",
        {"full_name": "Zhao Rep", "language": "zh-hans", "time_zone": "Asia/Shanghai"},
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    with tenant_context(alpha):
        user = User.objects.get(pk=rep.pk)
        assert (user.full_name, user.language, user.time_zone) == (
            "Zhao Rep",
            "zh-hans",
            "Asia/Shanghai",
        )
        assert AuditEntry.objects.filter(object_id=rep.pk, kind="update").exists()
        # A task due at 02:00 UTC shows at 10:00 in Shanghai on the dashboard.
        from core_crm.activities import services
        from core_crm.customers.models import Account

        account = Account.objects.create(name="Time Co", owner=rep)
        due = timezone.now().replace(hour=2, minute=0, second=0, microsecond=0)
        services.activity_create(
            actor=rep,
            channel="web",
            data={"kind": "task", "subject": "Zone check", "account": account, "due_at": due},
        )
    html = rep_client.get("/").content.decode()
    local = due.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert "Zone check" in html and local.strftime("%H:%M") in html


def test_profile_names_a_bad_time_zone_and_saves_nothing(alpha, rep, rep_client):  # type: ignore[no-untyped-def]
    response = rep_client.post(
        "/settings/profile/",
        {"full_name": "X", "language": "en", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert 'data-testid="error-time_zone"' in response.content.decode()
    with tenant_context(alpha):
        assert User.objects.get(pk=rep.pk).time_zone == "UTC"


def test_the_user_menu_links_to_the_profile(alpha, rep_client):  # type: ignore[no-untyped-def]
    assert 'href="/settings/profile/"' in rep_client.get("/").content.decode()
