"""After saving, an activity form goes back only to a page of this workspace."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from .conftest import later, make_account


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("/\\evil.example", None),
        ("/customers/", "/customers/"),
    ],
)
def test_create_goes_back_only_to_this_workspace(alpha, rep, rep_client, next_url, expected):  # type: ignore[no-untyped-def]
    with tenant_context(alpha):
        account = make_account(rep)
    start = later(4)
    response = rep_client.post(
        "/activities/new/",
        {
            "kind": "call",
            "subject": "Follow up",
            "account": account.pk,
            "start_at": start.isoformat(),
            "priority": "normal",
            "next": next_url,
        },
    )
    assert response.status_code == 302
    location = response["Location"]
    if expected is None:
        assert location.startswith("/activities/") and "evil" not in location
    else:
        assert location == expected
