"""Clients for the settings pages: alpha's admin and sales rep, beta's admin."""

from __future__ import annotations

import pytest
from django.test import Client

from ..conftest import BETA, sign_in


@pytest.fixture
def beta_admin_client(beta):
    client = Client(HTTP_HOST="beta.localhost")
    sign_in(client, beta, BETA.admin_email)
    return client
