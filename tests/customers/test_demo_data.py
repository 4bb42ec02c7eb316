"""The demo workspace looks alive: people in every role, bilingual records across owners."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from core_crm.access.models import Team
from core_crm.customers.demo import seed_demo_data
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User


def test_demo_data_spans_roles_teams_owners_and_languages(alpha):
    with tenant_context(alpha):
        Account.objects.all().delete()
        assert seed_demo_data(password="demo-pass-123", accounts=60)
        assert Account.objects.count() == 60
        assert Contact.objects.count() >= 60
        assert Lead.objects.count() == 78
        assert {t.name for t in Team.objects.all()} >= {"East 华东", "North 华北"}
        roles = set(User.objects.exclude(role=None).values_list("role__key", flat=True))
        assert roles == {"sales_manager", "sales_rep", "marketing", "service_agent", "read_only"}
        assert Account.objects.values("owner").distinct().count() >= 4
        names = list(Account.objects.values_list("name", flat=True))
        assert any("有限公司" in n for n in names) and any(" Co. " in n for n in names)
        assert User.objects.get(email="rep.east1@demo.example.com").check_password("demo-pass-123")
        assert seed_demo_data(password="x", accounts=60) is False  # once only
        assert Account.objects.count() == 60
