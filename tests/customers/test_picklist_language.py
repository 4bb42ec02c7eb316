"""Picklist values read in the person's language."""

from __future__ import annotations

from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.customers.models import Account, PicklistValue
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in


def test_picklist_labels_follow_the_language(alpha):
    with tenant_context(alpha):
        admin = User.objects.get(email=ALPHA.admin_email)
        industry = PicklistValue.objects.get(picklist="industry", code="logistics")
        account = Account.objects.create(owner=admin, name="Bilingual Co", industry=industry)
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.admin_email)
    assert "Logistics" in client.get(f"/customers/{account.pk}/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get(f"/customers/{account.pk}/").content.decode()
    assert "物流" in page
    assert "物流" in client.get("/customers/").content.decode()
    assert "物流" in client.get(f"/customers/{account.pk}/edit/").content.decode()
