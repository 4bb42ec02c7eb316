"""Clients for the settings pages: alpha's admin and sales rep, beta's admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.users.models import User

from ..conftest import ALPHA, BETA, sign_in


@pytest.fixture
def admin(alpha):
    with tenant_context(alpha):
        return User.objects.get(email=ALPHA.admin_email)


@pytest.fixture
def rep(alpha):
    with tenant_context(alpha):
        user = User.objects.get(email=ALPHA.rep_email)
        user.role = Role.objects.get(key="sales_rep")
        user.save(update_fields=["role"])
        return user


@pytest.fixture
def admin_client(alpha):
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.admin_email)
    return client


@pytest.fixture
def rep_client(alpha, rep):
    client = Client(HTTP_HOST="alpha.localhost")
    sign_in(client, alpha, ALPHA.rep_email)
    return client


@pytest.fixture
def beta_admin_client(beta):
    client = Client(HTTP_HOST="beta.localhost")
    sign_in(client, beta, BETA.admin_email)
    return client
