"""Token clients of alpha's admin and rep and of beta's admin, for the API tests."""

from __future__ import annotations

import pytest

from ..conftest import ALPHA, BETA
from .test_api import Api, make_user


@pytest.fixture
def admin_api(alpha):
    user, token = make_user(alpha, ALPHA.admin_email, None, admin=True)
    return user, Api("alpha.localhost", token)


@pytest.fixture
def rep_api(alpha):
    user, token = make_user(alpha, ALPHA.rep_email, "sales_rep")
    return user, Api("alpha.localhost", token)


@pytest.fixture
def beta_api(beta):
    user, token = make_user(beta, BETA.admin_email, None, admin=True)
    return user, Api("beta.localhost", token)
