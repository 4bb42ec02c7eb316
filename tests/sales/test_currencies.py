"""Settings → Sales and /api/v1/currencies/: currencies with rates to the base currency. A new
rate recomputes the base amounts of open opportunities in one go; closed ones keep theirs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.sales import currency_services
from core_crm.sales.models import Currency, Opportunity
from core_crm.workspace.models import workspace_settings

from ..api.test_api import Api, make_user
from ..conftest import ALPHA, BETA
from .factories import make_opportunity


def _token_client(tenant, email: str, role: str | None, admin: bool = False):  # type: ignore[no-untyped-def]
    user, token = make_user(tenant, email, role, admin=admin)
    return user, Api(f"{tenant.schema_name}.localhost", token)


@pytest.fixture
def admin_api(alpha):  # type: ignore[no-untyped-def]
    return _token_client(alpha, ALPHA.admin_email, None, admin=True)


@pytest.fixture
def rep_api(alpha):  # type: ignore[no-untyped-def]
    return _token_client(alpha, ALPHA.rep_email, "sales_rep")


@pytest.fixture
def beta_api(beta):  # type: ignore[no-untyped-def]
    return _token_client(beta, BETA.admin_email, None, admin=True)


def _usd(tenant, rate: str = "7.00") -> Currency:
    with tenant_context(tenant):
        return Currency.objects.create(code="USD", rate_to_base=Decimal(rate))


def test_rate_change_recomputes_open_deals_only(alpha, admin):
    _usd(alpha)
    with tenant_context(alpha):
        open_deal = make_opportunity(admin, amount="1000", currency="USD", stage_key="proposal")
        other_open = make_opportunity(
            admin, amount="33.33", currency="USD", stage_key="negotiation"
        )
        won = make_opportunity(admin, amount="1000", currency="USD", stage_key="won")
        lost = make_opportunity(admin, amount="1000", currency="USD", stage_key="lost")
        cny = make_opportunity(admin, amount="500", currency="CNY")
        assert open_deal.amount_base == Decimal("7000.00")
        usd = Currency.objects.get(code="USD")
        recomputed = currency_services.currency_set_rate(
            actor=admin, currency=usd, rate_to_base="7.25"
        )
        assert recomputed == 2
        amounts = dict(Opportunity.objects.values_list("pk", "amount_base"))
        assert amounts[open_deal.pk] == Decimal("7250.00")
        assert amounts[other_open.pk] == Decimal("241.64")  # 241.6425 rounded like to_base
        assert amounts[won.pk] == Decimal("7000.00")  # closed at the old rate
        assert amounts[lost.pk] == Decimal("7000.00")
        assert amounts[cny.pk] == Decimal("500.00")
        entry = AuditEntry.objects.get(object_id=usd.pk, kind="update")
        assert entry.changes["rate_to_base"] == ["7.00000000", "7.25"]
        assert entry.changes["open_opportunities_recomputed"] == 2


def test_rates_and_codes_are_checked_and_named(alpha, admin):
    with tenant_context(alpha):
        with pytest.raises(ValidationError) as exc:
            currency_services.currency_create(actor=admin, code="dollars", rate_to_base="-1")
        assert set(exc.value.message_dict) == {"code", "rate_to_base"}
        with pytest.raises(ValidationError) as exc:
            currency_services.currency_create(actor=admin, code="cny", rate_to_base="1")
        assert "base currency" in exc.value.message_dict["code"][0]
        usd = currency_services.currency_create(actor=admin, code="usd", rate_to_base="7.1")
        assert usd.code == "USD"
        with pytest.raises(ValidationError) as exc:
            currency_services.currency_create(actor=admin, code="USD", rate_to_base="7")
        assert "already" in exc.value.message_dict["code"][0]
        with pytest.raises(ValidationError):
            currency_services.currency_set_rate(actor=admin, currency=usd, rate_to_base="abc")
        usd.refresh_from_db()
        assert usd.rate_to_base == Decimal("7.1")


def test_only_admins_change_currencies(alpha, rep):
    usd = _usd(alpha)
    with tenant_context(alpha), pytest.raises(PermissionDenied):
        currency_services.currency_set_rate(actor=rep, currency=usd, rate_to_base="8")


def test_currency_in_open_deals_stays_active(alpha, admin):
    usd = _usd(alpha)
    with tenant_context(alpha):
        deal = make_opportunity(admin, currency="USD")
        with pytest.raises(ValidationError) as exc:
            currency_services.currency_set_active(actor=admin, currency=usd, active=False)
        assert "1 open opportunities are in USD" in exc.value.message_dict["currency"][0]
        Opportunity.objects.filter(pk=deal.pk).delete()
        currency_services.currency_set_active(actor=admin, currency=usd, active=False)
        assert not Currency.objects.get(pk=usd.pk).is_active


def test_base_currency_changes_only_before_the_first_deal(alpha, admin):
    with tenant_context(alpha):
        Currency.objects.create(code="USD", rate_to_base=Decimal("8"))
        Currency.objects.create(code="EUR", rate_to_base=Decimal("10"))
        with pytest.raises(ValidationError) as exc:
            currency_services.sales_settings_update(actor=admin, data={"base_currency": "JPY"})
        assert "Add JPY" in exc.value.message_dict["base_currency"][0]
        # USD becomes the base: the other rates are converted through it.
        currency_services.sales_settings_update(actor=admin, data={"base_currency": "usd"})
        assert workspace_settings().base_currency == "USD"
        rates = dict(Currency.objects.values_list("code", "rate_to_base"))
        assert rates == {"EUR": Decimal("1.25"), "CNY": Decimal("0.125")}
        make_opportunity(admin, currency="USD")
        with pytest.raises(ValidationError) as exc:
            currency_services.sales_settings_update(actor=admin, data={"base_currency": "CNY"})
        assert "stays USD" in exc.value.message_dict["base_currency"][0]


def test_quote_defaults_are_checked(alpha, admin):
    with tenant_context(alpha):
        with pytest.raises(ValidationError) as exc:
            currency_services.sales_settings_update(
                actor=admin,
                data={
                    "quote_discount_limit": "120",
                    "default_tax_rate": "x",
                    "quote_validity_days": 0,
                },
            )
        assert set(exc.value.message_dict) == {
            "quote_discount_limit",
            "default_tax_rate",
            "quote_validity_days",
        }
        currency_services.sales_settings_update(
            actor=admin,
            data={"quote_discount_limit": "20", "default_tax_rate": "6", "quote_validity_days": 45},
        )
        ws = workspace_settings()
        assert (ws.quote_discount_limit, ws.default_tax_rate, ws.quote_validity_days) == (
            Decimal("20.00"),
            Decimal("6.00"),
            45,
        )


# --- Pages ------------------------------------------------------------------------------------


def test_sales_page_shows_settings_and_currencies(alpha, admin, admin_client):
    empty = admin_client.get("/settings/sales/").content.decode()
    assert 'data-testid="empty-currencies"' in empty and "CNY" in empty
    _usd(alpha, "7.1")
    html = admin_client.get("/settings/sales/").content.decode()
    assert 'data-currency="USD"' in html and 'value="7.1"' in html
    assert "can change until the first opportunity" in html


def test_admin_adds_currency_and_changes_rate_on_the_page(alpha, admin, admin_client):
    response = admin_client.post(
        "/settings/sales/currencies/", {"code": "EUR", "rate_to_base": "7.8"}
    )
    assert response.status_code == 302
    bad = admin_client.post("/settings/sales/currencies/", {"code": "E", "rate_to_base": "0"})
    assert bad.status_code == 400
    assert 'data-testid="error-code"' in bad.content.decode()
    with tenant_context(alpha):
        eur = Currency.objects.get(code="EUR")
        deal = make_opportunity(admin, amount="100", currency="EUR")
    page = admin_client.post(
        f"/settings/sales/currencies/{eur.pk}/rate/", {"rate_to_base": "8"}, follow=True
    )
    assert "1 open opportunities recomputed" in page.content.decode()
    with tenant_context(alpha):
        deal.refresh_from_db()
        assert deal.amount_base == Decimal("800.00")
    wrong = admin_client.post(f"/settings/sales/currencies/{eur.pk}/rate/", {"rate_to_base": "-3"})
    assert wrong.status_code == 400 and 'data-testid="rate-error"' in wrong.content.decode()
    refused = admin_client.post(f"/settings/sales/currencies/{eur.pk}/deactivate/", follow=True)
    assert "stays active" in refused.content.decode()


def test_admin_saves_sales_settings_on_the_page(alpha, admin, admin_client):
    response = admin_client.post(
        "/settings/sales/",
        {
            "base_currency": "CNY",
            "quote_discount_limit": "25",
            "default_tax_rate": "9",
            "quote_validity_days": "60",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        assert workspace_settings().quote_validity_days == 60
        make_opportunity(admin)
    refused = admin_client.post(
        "/settings/sales/",
        {
            "base_currency": "USD",
            "quote_discount_limit": "25",
            "default_tax_rate": "9",
            "quote_validity_days": "60",
        },
    )
    assert refused.status_code == 400
    assert "The base currency stays CNY" in refused.content.decode()


def test_rep_cannot_open_or_post_sales_settings(alpha, rep_client):
    usd = _usd(alpha)
    assert rep_client.get("/settings/sales/").status_code == 403
    assert (
        rep_client.post(
            f"/settings/sales/currencies/{usd.pk}/rate/", {"rate_to_base": "1"}
        ).status_code
        == 403
    )
    with tenant_context(alpha):
        assert Currency.objects.get(pk=usd.pk).rate_to_base == Decimal("7")


def test_beta_admin_cannot_touch_alpha_currency(alpha, beta, admin_client):
    from ..conftest import BETA, host_client, sign_in

    usd = _usd(alpha)
    client = host_client("beta.localhost")
    sign_in(client, beta, BETA.admin_email)
    assert (
        client.post(f"/settings/sales/currencies/{usd.pk}/rate/", {"rate_to_base": "1"}).status_code
        == 404
    )


# --- API --------------------------------------------------------------------------------------


def test_api_lists_currencies_for_everyone_and_admin_writes(alpha, admin, rep_api, admin_api):
    _usd(alpha)
    _rep, api = rep_api
    listed = api.get("/api/v1/currencies/").json()
    assert [(c["code"], c["rate_to_base"]) for c in listed] == [("USD", "7.00000000")]
    assert api.get("/api/v1/sales-settings/").json()["base_currency"] == "CNY"
    refused = api.post("/api/v1/currencies/", {"code": "EUR", "rate_to_base": "7.8"})
    assert refused.status_code == 403 and "workspace admin" in refused.json()["detail"]
    assert api.patch("/api/v1/sales-settings/", {"quote_validity_days": 5}).status_code == 403

    _admin, admin_client = admin_api
    created = admin_client.post("/api/v1/currencies/", {"code": "EUR", "rate_to_base": "7.8"})
    assert created.status_code == 201
    bad = admin_client.post("/api/v1/currencies/", {"code": "EURO", "rate_to_base": "x"})
    assert bad.status_code == 400 and set(bad.json()) == {"code", "rate_to_base"}
    with tenant_context(alpha):
        deal = make_opportunity(admin, amount="10", currency="EUR")
    changed = admin_client.patch(
        f"/api/v1/currencies/{created.json()['id']}/", {"rate_to_base": "8"}
    )
    assert changed.status_code == 200 and changed.json()["rate_to_base"] == "8.00000000"
    with tenant_context(alpha):
        deal.refresh_from_db()
        assert deal.amount_base == Decimal("80.00")
    settings = admin_client.patch("/api/v1/sales-settings/", {"default_tax_rate": "6"})
    assert settings.json()["default_tax_rate"] == "6.00"


def test_api_other_workspace_currency_is_not_found(alpha, beta_api):
    usd = _usd(alpha)
    _user, api = beta_api
    assert api.get(f"/api/v1/currencies/{usd.pk}/").status_code == 404
    assert api.patch(f"/api/v1/currencies/{usd.pk}/", {"rate_to_base": "1"}).status_code == 404
